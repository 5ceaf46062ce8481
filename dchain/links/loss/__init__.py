"""Loss links: CRF1d, NegativeSampling, BinaryHierarchicalSoftmax."""
