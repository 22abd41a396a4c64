"""Loads published version folders in-process and follows them as TF Serving does.

Every ``<base>/<model>/<N>/`` holding a ``saved_model.pb`` is a version; the
newest ``keep`` versions of each model stay loaded (TF Serving's ``latest``
policy with ``num_versions: keep``), new folders are picked up on ``refresh``
and vanished ones unloaded. A version whose metadata does not match the
serving contract is refused (logged with the reason) and never half-loaded.
Used by the local gRPC server and the facade's embedded backend.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from common.contract import DEFAULT_SIGNATURE, is_complete, list_models, list_versions, warmup_path
from common.labels import LabelError, read_labels
from common.metadata import MetadataError, VersionMetadata, read_metadata

logger = logging.getLogger(__name__)


class ServableNotFound(LookupError):
    """No such model, or no such version of it loaded."""


class UnknownLabel(LookupError):
    """The model has no such version label (TF Serving: "Unrecognized servable version label")."""


class SignatureCaller:
    """One signature of a loaded SavedModel, called with its inputs checked and bound once, not per call.

    ``ConcreteFunction.__call__`` binds keyword arguments to the function's
    type, checks them against the traced specs and looks for gradient tapes on
    every call: 50-250 us of the calling thread's CPU per call on the
    development machine (``python -m loadtest.modelcall --call public``, then
    ``--call flat``), mostly under the GIL, in the thread that the facade's
    event loop shares it with. The caller checks names, ranks and
    fixed dimensions against the signature's specs itself (the same refusals,
    in its own words), converts each input to its spec's dtype, and runs the
    function's ``AtomicFunction.call_flat``: what ``__call__`` ends in when no
    tape is watching, which serving never has. On a TensorFlow without that
    method, or with ``flat=False``, it takes the public call.
    """

    def __init__(self, name: str, function: Any, *, flat: bool = True) -> None:
        import tensorflow as tf

        self.name = name
        self.function = function
        specs = dict(function.structured_input_signature[1])
        # The function's flat inputs are its parameters in order, then the captured variables.
        self.order = [p for p in function.function_type.parameters if p in specs]
        if set(self.order) != set(specs):
            raise ValueError(f"signature {name!r}: parameters {self.order} do not match its inputs {sorted(specs)}")
        self.specs = {k: specs[k] for k in self.order}
        self.shapes = {k: spec.shape.as_list() if spec.shape.rank is not None else None for k, spec in specs.items()}
        self._flat = getattr(function, "_inference_function", None) if flat else None
        if self._flat is not None and not hasattr(self._flat, "call_flat"):
            self._flat = None
        self._tf = tf

    def _checked(self, key: str, value: npt.ArrayLike) -> npt.NDArray[Any]:
        array = np.asarray(value)
        shape = self.shapes[key]
        if shape is not None and (
            array.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, array.shape, strict=True))
        ):
            wanted = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
            raise ValueError(f"input {key!r} of signature {self.name!r} has shape {array.shape}, needs {wanted}")
        return array

    def __call__(self, inputs: dict[str, npt.ArrayLike]) -> dict[str, npt.NDArray[Any]]:
        if inputs.keys() != self.specs.keys():
            raise ValueError(f"signature {self.name!r} takes inputs {sorted(self.specs)}, got {sorted(inputs)}")
        tf = self._tf
        tensors = [tf.constant(self._checked(k, inputs[k]), dtype=self.specs[k].dtype) for k in self.order]
        function = self.function
        if self._flat is None:
            out = function(**dict(zip(self.order, tensors, strict=True)))
        else:
            out = function.function_type.pack_output(self._flat.call_flat(*tensors, *function.captured_inputs))
        return {k: v.numpy() for k, v in out.items()}


@dataclass
class LoadedVersion:
    """One loaded SavedModel version with its metadata."""

    model: str
    version: int
    path: Path
    metadata: VersionMetadata = field(repr=False)
    loaded: Any = field(repr=False)
    _callers: dict[str, SignatureCaller] = field(default_factory=dict, init=False, repr=False)

    @property
    def signature_names(self) -> list[str]:
        return sorted(self.loaded.signatures.keys())

    def input_specs(self, signature: str) -> dict[str, Any]:
        """Input name -> ``tf.TensorSpec`` of a signature."""
        return dict(self.loaded.signatures[signature].structured_input_signature[1])

    def run(self, signature: str, inputs: dict[str, npt.ArrayLike]) -> dict[str, npt.NDArray[Any]]:
        """Runs a signature on NumPy inputs (cast to the signature's dtypes).

        Raises:
            KeyError: unknown signature.
            ValueError: missing or unexpected inputs, or a shape the signature does not take.
            tensorflow.errors.InvalidArgumentError: values the graph rejects.
        """
        caller = self._callers.get(signature)
        if caller is None:  # built once per signature; two threads building it at once build the same caller
            caller = self._callers.setdefault(signature, SignatureCaller(signature, self.loaded.signatures[signature]))
        return caller(inputs)


class ModelRepository:
    """Thread-safe map of model name -> loaded versions, refreshed from disk."""

    def __init__(self, base: Path, *, models: list[str] | None = None, keep: int = 2) -> None:
        self.base = base
        self.only = models
        self.keep = keep
        self._lock = threading.Lock()
        self._loaded: dict[str, dict[int, LoadedVersion]] = {}
        self._labels: dict[str, dict[str, int]] = {}
        # Versions that failed to load, with why: a version folder never changes, so each is tried (and logged) once.
        self._refused: dict[tuple[str, int], str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def model_names(self) -> list[str]:
        if self.only is not None:
            return list(self.only)
        return list_models(self.base)

    def refresh(self) -> bool:
        """Loads new versions and unloads vanished or surplus ones; True if anything changed."""
        changed = False
        names = self.model_names()
        for name in names:
            present = list_versions(self.base / name)
            wanted = [v for v in present if self._complete(name, v)][-self.keep :]
            with self._lock:
                have = dict(self._loaded.get(name, {}))
            for v in wanted:
                if v not in have and (name, v) not in self._refused:
                    try:
                        have[v] = self._load(name, v)
                        changed = True
                        logger.info("loaded %s version %d", name, v)
                    except MetadataError as exc:
                        self._refused[(name, v)] = str(exc)
                        logger.error("refused %s version %d: %s", name, v, exc)
                    except Exception as exc:
                        self._refused[(name, v)] = f"cannot load: {exc}"
                        logger.exception("cannot load %s version %d; skipped", name, v)
            for key in [k for k in self._refused if k[0] == name and k[1] not in present]:
                del self._refused[key]
            for v in [v for v in have if v not in wanted]:
                del have[v]
                changed = True
                logger.info("unloaded %s version %d", name, v)
            labels = self._read_labels(name)
            with self._lock:
                self._loaded[name] = have
                if labels is not None:
                    self._labels[name] = labels
        with self._lock:
            for name in [n for n in self._loaded if n not in names]:
                del self._loaded[name]
                self._labels.pop(name, None)
                changed = True
        return changed

    def _read_labels(self, name: str) -> dict[str, int] | None:
        """The model's labels file, or None to keep the labels in force when the file is broken."""
        try:
            return read_labels(self.base / name)
        except LabelError as exc:
            logger.error("kept the previous labels of %s: %s", name, exc)
            return None

    def labels(self, model: str) -> dict[str, int]:
        """Label -> version of ``model`` (what ``labels.json`` said at the last refresh)."""
        with self._lock:
            return dict(self._labels.get(model, {}))

    def resolve(self, model: str, label: str) -> int:
        """The version a label names.

        Raises:
            UnknownLabel: with TF Serving's wording.
        """
        with self._lock:
            version = self._labels.get(model, {}).get(label)
        if version is None:
            raise UnknownLabel(f"Unrecognized servable version label: {label}")
        return version

    def get(self, model: str, version: int | None = None) -> LoadedVersion:
        """The requested version, or the newest loaded one.

        Raises:
            ServableNotFound: with TF Serving's wording for the case.
        """
        with self._lock:
            versions = self._loaded.get(model)
            if not versions:
                raise ServableNotFound(f"Servable not found for request: Latest({model})")
            if version is None:
                return versions[max(versions)]
            if version not in versions:
                raise ServableNotFound(f"Servable not found for request: Specific({model}, {version})")
            return versions[version]

    def versions(self, model: str) -> list[int]:
        with self._lock:
            return sorted(self._loaded.get(model, {}))

    def snapshot(self) -> dict[str, list[int]]:
        """Model -> loaded versions, from memory (no disk access: it is on every request's path)."""
        with self._lock:
            return {name: sorted(versions) for name, versions in self._loaded.items()}

    def start_polling(self, interval_s: float = 1.0) -> None:
        """Refreshes every ``interval_s`` seconds in a daemon thread (like --file_system_poll_wait_seconds)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.refresh()
                except Exception:
                    logger.exception("model refresh failed")

        self._thread = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _complete(self, name: str, version: int) -> bool:
        return is_complete(self.base / name / str(version))

    def _load(self, name: str, version: int) -> LoadedVersion:
        import tensorflow as tf

        path = self.base / name / str(version)
        metadata = read_metadata(path, model=name, version=version)  # MetadataError: refused before loading
        loaded = LoadedVersion(name, version, path, metadata, tf.saved_model.load(str(path)))
        replayed = warm_up(loaded)
        logger.debug("replayed %d warmup requests for %s version %d", replayed, name, version)
        return loaded


def warm_up(loaded: LoadedVersion) -> int:
    """Replays ``assets.extra/tf_serving_warmup_requests`` as TF Serving does before serving a version.

    The first call of each signature builds and optimises its graph (tens of
    milliseconds); replaying the records moves that cost to load time.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(loaded.path)
    if not path.is_file():
        return 0
    count = 0
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        loaded.run(request.model_spec.signature_name or DEFAULT_SIGNATURE, inputs)
        count += 1
    return count
