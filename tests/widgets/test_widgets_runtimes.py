"""The app's container settings offer the runtime axis (RuntimePicker), and the results view shows
fidelity beside cost. No browser: set .value, read the spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from widget_fakes import FakeBackend

from irkit.errors import SpecError
from irkit.widgets import ResultsExplorer, RightSizeApp, RuntimePicker
from irkit.widgets.runtime_picker import runtime_ranges

RECORDED = Path(__file__).parents[1] / "results" / "data" / "runtimes_result.json"


def test_default_is_tensorflow_and_leaves_the_spec_alone():
    picker = RuntimePicker(bf16=True)
    assert picker.chosen == ["tensorflow fp32"] and picker.errors == []
    assert picker.ranges(["local.cpu1"], {"OMP_NUM_THREADS": ["1"]}) == []
    picker.close()


def test_openvino_choices_become_two_ranges():
    picker = RuntimePicker(bf16=True)
    picker.boxes[("openvino", "fp32")].value = True
    picker.boxes[("openvino", "bf16")].value = True
    assert picker.chosen == ["tensorflow fp32", "openvino fp32", "openvino bf16"]
    assert picker.ranges(["local.cpu1"], {"OMP_NUM_THREADS": ["1"]}) == [
        {"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1"], "IRKIT_RUNTIME": ["tensorflow"]},
        {"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1"], "IRKIT_RUNTIME": ["openvino"],
         "IRKIT_PRECISION": ["fp32", "bf16"]},
    ]
    picker.boxes[("tensorflow", "fp32")].value = False
    assert runtime_ranges(picker.pairs(), ["local.cpu1"], {}) == [
        {"instance_types": ["local.cpu1"], "IRKIT_RUNTIME": ["openvino"], "IRKIT_PRECISION": ["fp32", "bf16"]}]
    picker.boxes[("openvino", "fp32")].value = False
    picker.boxes[("openvino", "bf16")].value = False
    assert picker.errors and "at least one" in picker.message_html.value
    picker.close()


def test_bf16_is_offered_only_where_the_cpu_has_it():
    picker = RuntimePicker(["tensorflow fp32", "openvino bf16"], bf16=False)
    assert picker.boxes[("openvino", "bf16")].disabled and "AVX512_BF16" in picker.note.value
    assert picker.chosen == ["tensorflow fp32"]
    picker.close()


def test_sagemaker_backend_points_to_neo():
    picker = RuntimePicker(["openvino fp32"], bf16=True)
    picker.backend = "sagemaker"
    assert all(box.disabled for box in picker.boxes.values())
    assert "CompilationJobName" in picker.note.value and picker.chosen == ["tensorflow fp32"]
    picker.backend = "local"
    assert picker.chosen == ["openvino fp32"]
    picker.close()


def test_app_spec_has_the_runtime_axis(tmp_path):
    app = RightSizeApp(FakeBackend(), workdir=tmp_path, model_path=str(tmp_path / "m.tar.gz"),
                       payload_path=str(tmp_path / "p.json"), runtimes=["tensorflow fp32", "openvino fp32"])
    app.instances.select.value = ("local.cpu1",)
    assert [c.config_id for c in app.spec.configurations()] == [
        "local.cpu1+IRKIT_RUNTIME=tensorflow", "local.cpu1+IRKIT_PRECISION=fp32+IRKIT_RUNTIME=openvino"]
    app.hyperparameters.add_row("IRKIT_RUNTIME", "openvino")
    with pytest.raises(SpecError, match="Runtimes boxes"):
        app.to_spec()
    app.close()


def test_results_view_shows_fidelity_beside_cost():
    explorer = ResultsExplorer(json.loads(RECORDED.read_text()), show_charts=False)
    table = explorer.table_html.value
    assert table.index("cost per 1M inferences") < table.index("top-1 agreement with TensorFlow")
    assert "cosine similarity to TensorFlow" in table and "0.99996" in table
    explorer.close()
