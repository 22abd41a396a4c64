"""Export: training runs to versioned TF Serving SavedModels (``models/<model>/<N>/``)."""
