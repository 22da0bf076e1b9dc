"""Weights policy, preprocessing, top-k predictions and the sample image (random weights only)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from irkit import model as model_lib
from irkit.errors import PackagingError, WeightsUnavailableError


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty Keras cache: Keras' fetch fails the way it does offline."""
    from keras.src.utils import file_utils

    def fail(fname, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", fail)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    (tmp_path / "keras-home").mkdir()
    return tmp_path / "keras-home" / "models" / model_lib.WEIGHTS_FILE


def test_imagenet_offline_names_the_cache_path_and_the_local_file_option(offline):
    with pytest.raises(WeightsUnavailableError) as caught:
        model_lib.load_model("imagenet")
    message = str(caught.value)
    assert str(offline) in message
    assert "weights=PATH" in message and "--weights PATH" in message
    assert "not cached" in message


def test_auto_falls_back_to_random_weights_loudly(offline):
    with pytest.warns(model_lib.RandomWeightsWarning, match="RANDOM WEIGHTS"):
        model = model_lib.load_model("auto")
    assert model_lib.weights_of(model) == "random"
    assert "MEANINGLESS" in model_lib.weights_warning(model)


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(WeightsUnavailableError, match="nope.h5"):
        model_lib.load_model(missing)


def test_weights_path_to_a_keras_file(tiny_keras_model, tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_keras_model.save(path)
    model = model_lib.load_model(str(path))
    assert model_lib.weights_of(model) == str(path)
    assert model_lib.weights_warning(model) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, None), ("none", None), ("None", None), ("random", None), ("imagenet", "imagenet"), ("AUTO", "auto")],
)
def test_normalize_weights(given, expected):
    assert model_lib.normalize_weights(given) == expected


def test_preprocess_applies_resnet50_caffe_preprocessing():
    pixels = np.zeros((50, 80, 3), dtype=np.uint8)
    pixels[...] = (10, 20, 30)  # R, G, B
    batch = model_lib.preprocess(pixels)
    assert batch.shape == (1, 224, 224, 3) and batch.dtype == np.float32
    # RGB -> BGR, minus the ImageNet channel means
    np.testing.assert_allclose(batch[0, 100, 100], [30 - 103.939, 20 - 116.779, 10 - 123.68], atol=1e-3)


def test_preprocess_takes_a_path_a_pil_image_and_grayscale(tmp_path):
    image = Image.new("RGB", (300, 200), (200, 100, 50))
    path = tmp_path / "x.png"
    image.save(path)
    from_path, from_pil = model_lib.preprocess(path), model_lib.preprocess(image)
    np.testing.assert_allclose(from_path, from_pil)
    gray = model_lib.preprocess(np.full((40, 40), 128, dtype=np.uint8))
    np.testing.assert_allclose(gray[0, 0, 0], [128 - 103.939, 128 - 116.779, 128 - 123.68], atol=1e-3)


def test_preprocess_rejects_bad_input(tmp_path):
    with pytest.raises(PackagingError, match="shape"):
        model_lib.preprocess(np.zeros((4, 4, 7)))
    bogus = tmp_path / "bogus.jpg"
    bogus.write_text("not an image")
    with pytest.raises(PackagingError, match="bogus.jpg"):
        model_lib.preprocess(bogus)


@pytest.mark.parametrize("top", [1, 5, 10])
def test_predict_returns_top_k_sorted_with_imagenet_labels(tiny_keras_model, top):
    predictions = model_lib.predict(tiny_keras_model, model_lib.preprocess(model_lib.sample_image()), top=top)
    assert len(predictions) == top
    probabilities = [p.probability for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    names = model_lib.class_names()
    assert all(p.label == names[p.class_index] for p in predictions)


def test_predict_accepts_an_image_and_matches_the_preprocessed_batch(tiny_keras_model):
    from_image = model_lib.predict(tiny_keras_model, model_lib.sample_image(), top=3)
    from_batch = model_lib.predict(tiny_keras_model, model_lib.preprocess(model_lib.sample_image()), top=3)
    assert [p.class_index for p in from_image] == [p.class_index for p in from_batch]


def test_predict_rejects_a_bad_top(tiny_keras_model):
    with pytest.raises(PackagingError, match="top=0"):
        model_lib.predict(tiny_keras_model, model_lib.sample_image(), top=0)


def test_labels_from_random_weights_carry_the_warning(tiny_keras_model):
    text = model_lib.format_predictions(model_lib.predict(tiny_keras_model, model_lib.sample_image()), tiny_keras_model)
    assert text.count("MEANINGLESS") == 2  # above and below the labels
    assert len(text.splitlines()) == 5 + 2


def test_sample_image_and_class_names_are_offline():
    path = model_lib.sample_image()
    with Image.open(path) as image:
        assert image.size == (451, 300)
    names = model_lib.class_names()
    assert len(names) == 1000 and "tabby" in names[281]


def test_predict_reuses_one_tf_function_per_model(tiny_keras_model):
    model_lib.predict(tiny_keras_model, model_lib.sample_image(), top=1)
    first = model_lib._PREDICT_FNS[tiny_keras_model]
    model_lib.predict(tiny_keras_model, model_lib.sample_image(), top=1)
    assert model_lib._PREDICT_FNS[tiny_keras_model] is first
    assert first.experimental_get_tracing_count() == 1
