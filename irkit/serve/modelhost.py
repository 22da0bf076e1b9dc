"""Find and load the SavedModel a server serves, and call its signature (a graph function, never eager).

- :func:`resolve_savedmodel` turns ``model.tar.gz`` or a folder into one SavedModel folder: a
  tarball is extracted safely; TF Serving's layout (numeric version folders) picks the highest.
- :class:`ModelHost` loads it once, reads the signature's single input (name, shape, dtype) and
  checks each request's array against it before running it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from irkit.errors import BackendError, PackagingError, PayloadError

SIGNATURE = "serving_default"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def _is_savedmodel(folder: Path) -> bool:
    return any((folder / name).is_file() for name in SAVED_MODEL_FILES)


def find_savedmodel(folder: Path) -> Path:
    """``folder`` itself, or its highest numeric version folder holding a SavedModel."""
    if _is_savedmodel(folder):
        return folder
    versions = [p for p in folder.iterdir() if p.is_dir() and p.name.isdigit() and _is_savedmodel(p)]
    if versions:
        return max(versions, key=lambda p: int(p.name))
    nested = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "code"]
    if len(nested) == 1:  # model.tar.gz holding one folder (e.g. export/)
        return find_savedmodel(nested[0])
    raise PackagingError(f"{str(folder)!r} holds no saved_model.pb, nor <version>/saved_model.pb folders")


def extract_tarball(tarball: Path, dest: Path | None = None) -> Path:
    """Extract ``model.tar.gz`` safely into ``dest`` (a new temporary folder by default)."""
    target = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="irkit-model-"))
    try:
        from irkit.package.archive import safe_extract
    except ImportError:  # pragma: no cover - before the foundation's archive module existed
        import tarfile

        with tarfile.open(tarball) as archive:
            archive.extractall(target, filter="data")
        return target
    safe_extract(tarball, target)
    return target


def resolve_savedmodel(model_path: str | Path, extract_to: Path | None = None) -> Path:
    """The SavedModel folder to load for ``model_path`` (a model.tar.gz or a folder)."""
    path = Path(model_path).expanduser()
    if not path.exists():
        raise PackagingError(f"model {str(path)!r} does not exist")
    if path.is_file():
        if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
            raise PackagingError(f"model {str(path)!r} is neither a model.tar.gz nor a SavedModel folder")
        path = extract_tarball(path, extract_to)
    return find_savedmodel(path)


def configure_threads(intra_op: int | None, inter_op: int | None) -> None:
    """Set TensorFlow's thread pools; must run before the first op."""
    import tensorflow as tf

    if intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    if inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)


class ModelHost:
    """A loaded SavedModel signature with one input. ``predict`` takes and returns numpy arrays."""

    def __init__(self, savedmodel_dir: str | Path, signature: str = SIGNATURE) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        self._tf = tf
        self.path = Path(savedmodel_dir)
        try:
            self._loaded = tf.saved_model.load(str(self.path))
        except (OSError, ValueError, tf.errors.OpError) as exc:
            raise PackagingError(f"SavedModel {str(self.path)!r} cannot be loaded: {exc}") from exc
        signatures = getattr(self._loaded, "signatures", {})
        if signature not in signatures:
            raise PackagingError(
                f"SavedModel {str(self.path)!r} has no {signature!r} signature (it has {sorted(signatures)})"
            )
        self._function = signatures[signature]
        _, kwargs = self._function.structured_input_signature
        if len(kwargs) != 1:
            raise PackagingError(
                f"signature {signature!r} of {str(self.path)!r} takes {len(kwargs)} inputs; the server takes one"
            )
        (self.input_name, spec), = kwargs.items()
        self.input_shape: tuple[int | None, ...] = tuple(spec.shape.as_list()) if spec.shape.rank is not None else ()
        self.input_dtype = np.dtype(spec.dtype.as_numpy_dtype)
        self.output_names: list[str] = sorted(self._function.structured_outputs)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(height, width) when the input looks like a batch of images."""
        if len(self.input_shape) == 4 and self.input_shape[1] and self.input_shape[2]:
            return int(self.input_shape[1]), int(self.input_shape[2])
        return None

    def check(self, array: np.ndarray) -> np.ndarray:
        """The array as a batch the signature accepts, or PayloadError saying what is wrong with it."""
        rank = len(self.input_shape)
        if rank and array.ndim == rank - 1:  # one instance without the batch dimension
            array = array[np.newaxis, ...]
        if rank and array.ndim != rank:
            raise PayloadError(
                f"input {self.input_name!r} wants rank {rank} {self._shape_text()}, got shape {list(array.shape)}"
            )
        for axis, (want, got) in enumerate(zip(self.input_shape, array.shape, strict=False)):  # () = any shape
            if want is not None and want != got:
                raise PayloadError(
                    f"input {self.input_name!r} wants shape {self._shape_text()}, got {list(array.shape)} "
                    f"(axis {axis})"
                )
        if array.shape[0] == 0:
            raise PayloadError("the batch is empty")
        if array.dtype != self.input_dtype:
            array = array.astype(self.input_dtype)
        return array

    def _shape_text(self) -> str:
        return "[" + ", ".join("N" if d is None else str(d) for d in self.input_shape) + "]"

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a checked batch through the signature's graph; outputs by name."""
        try:
            outputs = self._function(**{self.input_name: self._tf.constant(batch)})
        except (self._tf.errors.InvalidArgumentError, ValueError, TypeError) as exc:
            raise PayloadError(f"the model refused the input: {str(exc).splitlines()[0][:300]}") from None
        except self._tf.errors.OpError as exc:
            raise BackendError(f"inference failed: {str(exc).splitlines()[0][:300]}") from exc
        return {name: outputs[name].numpy() for name in self.output_names}
