"""Recurrent links: LSTM and the n-step RNNs."""
