"""Fidelity in the results, from a recorded real job over the runtime axis (data/runtimes_result.json,
written by data/record_runtimes.py): frame columns, the ranking floor, tables, report, chart and CLI."""

from __future__ import annotations

import json
import math

import pytest
from results_data import DATA, LOCAL_FILE

import irkit.results as R
from irkit.errors import IrkitError
from irkit.results.charts import cost_vs_fidelity, result_charts
from irkit.results.fidelity import FIDELITY_COLUMNS, has_fidelity
from irkit.results.ranking import recommend, recommendation_line
from irkit.results.report import build_report, render_html
from irkit.results.summary import summary_text

RUNTIMES_FILE = DATA / "runtimes_result.json"
TF = "local.cpu1+IRKIT_RUNTIME=tensorflow"
OV_FP32 = "local.cpu1+IRKIT_PRECISION=fp32+IRKIT_RUNTIME=openvino"
OV_BF16 = "local.cpu1+IRKIT_PRECISION=bf16+IRKIT_RUNTIME=openvino"


@pytest.fixture
def runtimes_result() -> dict:
    return json.loads(RUNTIMES_FILE.read_text())


def _config(result: dict, config_id: str) -> dict:
    return next(c for c in result["irkit"]["configs"] if c["config_id"] == config_id)


def test_frame_carries_fidelity_and_tensorflow_is_the_reference(runtimes_result):
    frame = R.to_frame(runtimes_result).set_index(R.CONFIG)
    assert set(FIDELITY_COLUMNS) <= set(frame.columns) and has_fidelity(frame)
    assert not set(FIDELITY_COLUMNS) & set(R.env_columns(frame.reset_index()))
    assert frame.loc[TF, [R.FIDELITY_TOP1, R.FIDELITY_TOP5, R.FIDELITY_COSINE]].tolist() == [1.0, 1.0, 1.0]
    assert frame.loc[TF, R.FIDELITY_MAX_ABS_DIFF] == 0.0
    for config_id in (OV_FP32, OV_BF16):
        recorded = _config(runtimes_result, config_id)["fidelity"]
        assert frame.loc[config_id, R.FIDELITY_TOP1] == recorded["top1_agreement"]
        assert frame.loc[config_id, R.FIDELITY_COSINE] == recorded["cosine"]
        assert frame.loc[config_id, R.FIDELITY_MAX_ABS_DIFF] == recorded["max_abs_diff"]
    assert frame.loc[OV_BF16, R.FIDELITY_MAX_ABS_DIFF] > frame.loc[OV_FP32, R.FIDELITY_MAX_ABS_DIFF]
    assert frame.loc[TF, "IRKIT_RUNTIME"] == "tensorflow"  # the env parameters stay their own columns


def test_a_result_without_the_axis_has_empty_fidelity():
    frame = R.to_frame(LOCAL_FILE)
    assert not has_fidelity(frame) and frame[list(FIDELITY_COLUMNS)].isna().all().all()
    assert len(recommend(frame, min_top5_agreement=0.99)) == len(recommend(frame))  # all TensorFlow


def test_floor_leaves_out_configs_below_it_and_says_so(runtimes_result):
    _config(runtimes_result, OV_BF16)["fidelity"]["top5_agreement"] = 0.95
    del _config(runtimes_result, OV_FP32)["fidelity"]  # a measurement that failed never passes a floor
    frame = R.to_frame(runtimes_result)
    assert math.isnan(frame.set_index(R.CONFIG).loc[OV_FP32, R.FIDELITY_TOP5])
    ranked = recommend(frame, min_top5_agreement=0.99)
    assert list(ranked[R.CONFIG]) == [TF]
    assert "fidelity floor top-5 agreement with TensorFlow >= 99.0%" in recommendation_line(ranked)
    assert set(recommend(frame, min_top5_agreement=0.9)[R.CONFIG]) == {TF, OV_BF16}
    assert len(recommend(frame)) == 3  # no floor: everything ranks
    with pytest.raises(IrkitError, match="min_cosine"):
        recommend(frame, min_cosine=1.5)


def test_summary_shows_fidelity_beside_cost(runtimes_result):
    text = summary_text(runtimes_result)
    header = next(line for line in text.splitlines() if "configuration" in line)
    assert header.index("$/1M inf") < header.index("top-1") < header.index("top-5") < header.index("cosine")
    bf16 = next(line for line in text.splitlines() if "PRECISION=bf16" in line)
    assert "100.0%" in bf16 and "0.99996" in bf16
    assert "top-1" not in summary_text(json.loads(LOCAL_FILE.read_text()))


def test_chart_cost_vs_fidelity(runtimes_result):
    frame = R.to_frame(runtimes_result)
    ranked = recommend(frame, min_cosine=0.9999)
    charts = result_charts(runtimes_result, ranked=ranked)
    spec = charts["cost_vs_fidelity"].to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == R.FIDELITY_COSINE
    assert spec["layer"][0]["encoding"]["y"]["field"] == R.COST_PER_MILLION
    data = next(iter(spec["datasets"].values()))
    assert sorted(row["runtime_label"] for row in data) == ["openvino bf16", "openvino fp32", "tensorflow fp32"]
    assert any(layer["mark"]["type"] == "rule" for layer in spec["layer"])  # the floor ranking used
    top5 = cost_vs_fidelity(frame, fidelity=R.FIDELITY_TOP5).to_dict()
    assert top5["layer"][0]["encoding"]["x"]["field"] == R.FIDELITY_TOP5
    with pytest.raises(ValueError, match="fidelity"):
        cost_vs_fidelity(frame, fidelity=R.FIDELITY_MAX_ABS_DIFF)
    assert "cost_vs_fidelity" not in result_charts(json.loads(LOCAL_FILE.read_text()))


def test_report_and_cli_rank_with_a_floor(runtimes_result, tmp_path, capsys):
    _config(runtimes_result, OV_BF16)["fidelity"]["top1_agreement"] = 0.5
    report = build_report(runtimes_result, min_top1_agreement=0.9)
    assert OV_BF16 not in set(report.ranked[R.CONFIG])
    assert any("left out by the fidelity floor" in n for n in report.notes)
    page = render_html(runtimes_result, report=report)
    assert "top-1 agreement with TensorFlow" in page and "chart-cost_vs_fidelity" in page
    from irkit.cli import main
    from irkit.results.history import import_result

    path = tmp_path / "runtimes.json"
    path.write_text(json.dumps(runtimes_result))
    import_result(path)
    assert main(["jobs", "show", "runtimes-recorded", "--min-top1-agreement", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "top-1" in out and "PRECISION=bf16" not in out and "fidelity floor" in out
    assert main(["report", "runtimes-recorded", "--out", str(tmp_path / "r"), "--no-png",
                 "--min-top5-agreement", "0.99"]) == 0
