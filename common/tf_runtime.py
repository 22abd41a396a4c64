"""Imports TensorFlow without its start-up noise on a CPU-only machine.

TensorFlow's C++ runtime logs through absl before absl's logging is set up,
so ``TF_CPP_MIN_LOG_LEVEL`` does not silence lines such as ``failed call to
cuInit`` or ``Could not find cuda drivers``: every command would start with
them. :func:`import_tensorflow` runs the import and the device discovery with
the process's stderr captured, then writes back every line that is not one of
those known start-up notices, so real errors still show.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType

# Start-up notices of a CPU-only TensorFlow; anything else captured is written back.
NOISE = (
    "All log messages before absl::InitializeLog",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "cuda_executor.cc",
    "failed call to cuInit",
    "Could not find cuda drivers",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
)

_done = False


def import_tensorflow() -> ModuleType:
    """Imports TensorFlow (once) and discovers its devices, keeping stderr free of CPU-only start-up notices."""
    global _done
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _done:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery is where cuInit is tried
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            kept = [ln for ln in lines if not any(n in ln for n in NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr)
    _done = True
    return tf
