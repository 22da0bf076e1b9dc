"""A small image classifier trained in the test, on photos scikit-image ships, so that top-k agreement
between runtimes means something (a random model's near-ties make it noise).

Classes are photos; a sample is a 32x32 patch of one, preprocessed as the server preprocesses images
(``resnet50``: BGR, mean-subtracted). Held-out patches make the payload (``sample.npy``, one batch).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

CLASSES = ("brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "rocket", "immunohistochemistry")
PATCH = 32


def _photo(name: str) -> np.ndarray:
    import skimage.data

    pixels = np.asarray(getattr(skimage.data, name)(), dtype=np.float32)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return pixels[..., :3]


def patches(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): ``per_class`` random patches of each photo, preprocessed; labels are class indices."""
    from irkit.serve.decode import resnet50_preprocess

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, name in enumerate(CLASSES):
        photo = _photo(name)
        for _ in range(per_class):
            top = rng.integers(0, photo.shape[0] - PATCH)
            left = rng.integers(0, photo.shape[1] - PATCH)
            xs.append(resnet50_preprocess(photo[top:top + PATCH, left:left + PATCH].copy()))
            ys.append(label)
    return np.stack(xs).astype(np.float32), np.asarray(ys)


def train_patch_model(epochs: int = 8, seed: int = 0):
    """A Keras CNN (input (N, 32, 32, 3) float32, softmax over CLASSES); returns (model, held-out accuracy)."""
    import keras

    keras.utils.set_random_seed(seed)
    x, y = patches(160, seed)
    inputs = keras.Input((PATCH, PATCH, 3), dtype="float32", name="image")
    h = keras.layers.Rescaling(1 / 64.0)(inputs)
    h = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(h)
    h = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax", name="probabilities")(h)
    model = keras.Model(inputs, outputs, name="patch_classifier")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    x_test, y_test = patches(12, seed + 1)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    return model, accuracy


def build_patch_model(folder: Path) -> tuple[Path, Path, float]:
    """(model.tar.gz, payload.tar.gz holding sample.npy of 96 held-out patches, held-out accuracy)."""
    from irkit.package.build import build_model_tarball, export_savedmodel

    folder.mkdir(parents=True, exist_ok=True)
    model, accuracy = train_patch_model()
    export_savedmodel(model, folder / "savedmodel", version=1)
    tarball = build_model_tarball(folder / "savedmodel", folder / "model.tar.gz")
    x_payload, _ = patches(12, seed=7)
    buffer = io.BytesIO()
    np.save(buffer, x_payload)
    payload = folder / "payload.tar.gz"
    with tarfile.open(payload, "w:gz") as archive:
        info = tarfile.TarInfo("sample.npy")
        info.size = len(buffer.getvalue())
        archive.addfile(info, io.BytesIO(buffer.getvalue()))
    return tarball, payload, accuracy
