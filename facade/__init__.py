"""FastAPI facade: API keys, JSON and CSV forecasts, multi-step loops over TF Serving's gRPC API."""
