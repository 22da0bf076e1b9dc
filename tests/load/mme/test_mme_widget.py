"""TargetModelsEditor: typing models, switching distributions, errors shown, spec fields, preview."""

from __future__ import annotations

import pytest

from irkit.spec import JobSpec
from irkit.widgets import TargetModelsEditor


@pytest.fixture
def editor():
    panel = TargetModelsEditor(preview=False)
    yield panel
    panel.close()


def test_typed_models_give_zipf_probabilities_and_a_valid_spec(editor):
    editor.models_text.value = "a.tar.gz\nb.tar.gz, c"
    assert editor.models == ["a.tar.gz", "b.tar.gz", "c"]
    probs = editor.probabilities
    assert list(probs) == ["a.tar.gz", "b.tar.gz", "c.tar.gz"]
    assert probs["a.tar.gz"] > probs["b.tar.gz"] > probs["c.tar.gz"]
    spec = JobSpec.from_dict({"supported_instance_types": ["local.cpu1"], **editor.spec_fields()})
    assert spec.target_models.distribution == "zipf" and spec.target_models.exponent == pytest.approx(1.2)
    editor.exponent_text.value = 2.0
    assert editor.probabilities["a.tar.gz"] / editor.probabilities["b.tar.gz"] == pytest.approx(4.0)


def test_weights_need_one_per_model_and_errors_name_the_field(editor):
    editor.models_text.value = "a b"
    editor.distribution_dropdown.value = "weights"
    assert editor.weights_text.layout.display is None and editor.exponent_text.layout.display == "none"
    assert editor.errors and "target_models.weights" in editor.errors[0]
    assert editor.probabilities == {}
    editor.weights_text.value = "3, 1"
    assert editor.errors == []
    assert editor.probabilities == {"a.tar.gz": 0.75, "b.tar.gz": 0.25}
    editor.weights_text.value = "3, x"
    assert "is not a number" in editor.errors[0] and "is not a number" in editor.message_html.value


def test_empty_editor_adds_nothing_to_the_spec_and_uniform_is_flat(editor):
    assert editor.spec_fields() == {}
    editor.containers_text.value = "h1, h2"
    editor.distribution_dropdown.value = "uniform"
    assert editor.spec_fields() == {"target_models": {"distribution": "uniform", "containers": ["h1", "h2"]}}
    assert editor.probabilities == {"h1": 0.5, "h2": 0.5}


def test_preview_draws_the_models():
    panel = TargetModelsEditor(["m1.tar.gz", "m2.tar.gz"])
    try:
        assert "<svg" in panel.preview_html.value and "m2.tar.gz" in panel.preview_html.value
    finally:
        panel.close()
