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

import signal  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# A shell starts a background job (`make test &`, some CI runners) with SIGINT ignored, and every
# process the tests start would inherit that: a Ctrl-C test would then send a signal nobody hears.
# A Python handler is reset to the default on exec, so children start with a normal SIGINT.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# ---- the fast lane: `make test-fast` runs `-m "not slow and not browser"` ------------------------
# Slow by directory: these start model servers, Locust, kernels or job processes. A pure module
# there opts back in with `pytestmark = pytest.mark.fast` (the guard still checks it).
TESTS = Path(__file__).resolve().parent
SLOW_DIRS = ("serve", "load", "backends/local", "backends/sagemaker_endpoint", "headless", "faults")
# A fast-lane test that starts one of these is mis-filed: the guard below fails it by name.
SLOW_PROCESSES = ("locust", "irkit.serve", "ipykernel", "voila", "irkit.backends.local.backend",
                  "chromium")


def _is_slow_path(path: Path) -> bool:
    try:
        rel = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return True  # notebooks under nbval (build/nbval) run kernels
    return any(rel == d or rel.startswith(d + "/") for d in SLOW_DIRS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_slow_path(Path(str(item.fspath))) and not item.get_closest_marker("fast"):
            item.add_marker(pytest.mark.slow)


def _fast_lane(config) -> bool:
    expr = config.getoption("markexpr", "") or ""
    return "not slow" in expr


@pytest.fixture(autouse=True)
def _fast_lane_guard(request, monkeypatch):
    """In the fast lane, starting a server, Locust, a kernel or a job process fails the test."""
    if not _fast_lane(request.config) or request.node.get_closest_marker("slow"):
        yield
        return
    real_init = subprocess.Popen.__init__

    def guarded(self, args, *a, **kw):
        argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]
        # the program and its module, not the text of a `python -c` script
        text = " ".join(a for i, a in enumerate(argv) if i == 0 or argv[i - 1] != "-c")
        hit = next((s for s in SLOW_PROCESSES if s in text), None)
        if hit:
            raise RuntimeError(f"fast-lane test {request.node.nodeid} started {hit!r}: mark it slow "
                               f"or move it under one of {SLOW_DIRS}")
        real_init(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield


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


@pytest.fixture(scope="session")
def patch_model(tmp_path_factory):
    """(model.tar.gz, payload.tar.gz with sample.npy, held-out accuracy): a small CNN trained on photos
    scikit-image ships (tests/patch_model.py), for runtime fidelity tests where agreement means something."""
    from patch_model import build_patch_model

    return build_patch_model(tmp_path_factory.mktemp("patch-model"))
