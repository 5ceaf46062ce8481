"""Recurrent networks: the LSTM cell and the n-step RNN, GRU and LSTM."""
