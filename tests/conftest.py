"""Shared test set-up. No test can reach AWS: fake credentials and region are set before any import."""

from __future__ import annotations

import os

# Set before boto3 is imported anywhere, so no test can reach a real account.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _irkit_home(tmp_path, monkeypatch):
    """Every test gets its own IRKIT_HOME, so the job store starts empty."""
    home = tmp_path / "irkit-home"
    monkeypatch.setenv("IRKIT_HOME", str(home))
    return home


# ---- shared model fixtures (foundation): a tiny ResNet50-shaped Keras model and its tarballs ----


def make_tiny_keras_model():
    """Input (224, 224, 3) float32 -> strided conv -> pooling -> Dense(1000, softmax). Loads in ms."""
    import keras

    inputs = keras.Input((224, 224, 3), dtype="float32", name="input_1")
    x = keras.layers.Conv2D(4, 3, strides=8, name="tiny_conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="tiny_pool")(x)
    outputs = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny_resnet_shaped")


@pytest.fixture(scope="session")
def tiny_keras_model():
    model = make_tiny_keras_model()
    model.irkit_weights = "random"  # what irkit.model.load_model(None) marks
    return model


@pytest.fixture(scope="session")
def tiny_savedmodel(tiny_keras_model, tmp_path_factory):
    """TF Serving layout: returns the folder holding ``1/saved_model.pb``."""
    from irkit.package.build import export_savedmodel

    root = tmp_path_factory.mktemp("tiny-savedmodel")
    export_savedmodel(tiny_keras_model, root, version=1)
    return root


@pytest.fixture(scope="session")
def tiny_model_tarball(tiny_savedmodel, tmp_path_factory):
    from irkit.package.build import build_model_tarball

    return build_model_tarball(tiny_savedmodel, tmp_path_factory.mktemp("tiny-model") / "model.tar.gz")


@pytest.fixture(scope="session")
def resnet_payload_tarball(tmp_path_factory):
    """payload.tar.gz with ``sample.json``: a bare nested list of shape (1, 224, 224, 3)."""
    from irkit.package.build import build_payload_tarball

    return build_payload_tarball(tmp_path_factory.mktemp("payload") / "payload.tar.gz")
