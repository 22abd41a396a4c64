"""Training pipeline: daily Close prices to an evaluated Keras LSTM and its artifacts."""
