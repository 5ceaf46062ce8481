"""TransformDataset: a dataset whose examples pass through a function when read."""
from dchain.dataset.dataset_mixin import DatasetMixin


class TransformDataset(DatasetMixin):
    """Example i is ``transform(dataset[i])``, computed each time it is read (so random data
    augmentation differs between epochs).

    Args:
        dataset: the base dataset.
        transform (callable): takes one example of ``dataset``, returns the new example.
    """

    def __init__(self, dataset, transform):
        if not callable(transform):
            raise TypeError('TransformDataset: transform must be callable, got {}'.format(
                type(transform).__name__))
        self._dataset = dataset
        self._transform = transform

    def __len__(self):
        return len(self._dataset)

    def get_example(self, i):
        """``transform(dataset[i])``."""
        return self._transform(self._dataset[i])
