"""Runs published versions: the embedded runtime and a local server speaking TF Serving's gRPC API.

``export/`` builds and publishes version folders; this package loads and
serves them. It needs TensorFlow; the facade's TF Serving path never imports it.
"""
