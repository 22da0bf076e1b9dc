"""Per-model frames and charts from a result carrying irkit.per_model."""

from __future__ import annotations

import math

import pytest

from irkit.load.model_tally import StepModels, flatten_per_model
from irkit.results import per_model as M
from irkit.results.charts import models as charts_models


def _step(config_id, index, records):
    models = StepModels()
    for model, latency, cache, load_ms in records:
        models.record(model, None, latency, False, cache, load_ms)
    return {"config_id": config_id, "step": index, "requests": len(records), "per_model": models.entries()}


def _result(steps, name="mme-job"):
    return {"JobName": name, "InferenceRecommendations": [], "EndpointPerformances": [],
            "irkit": {"backend": "local", "steps": steps, "per_model": flatten_per_model(steps)}}


@pytest.fixture
def result():
    step0 = [("a.tar.gz", 100.0, "miss", 90.0)] + [("a.tar.gz", 5.0, "hit", None)] * 9 + \
            [("b.tar.gz", 120.0, "miss", 110.0), ("b.tar.gz", 6.0, "hit", None)]
    step1 = [("a.tar.gz", 7.0, "hit", None)] * 10 + [("b.tar.gz", 130.0, "miss", 125.0)] * 2
    return _result([_step("local.cpu1", 0, step0), _step("local.cpu1", 1, step1)])


def test_per_model_frame_has_one_row_per_step_and_target(result):
    frame = M.per_model_frame(result)
    assert list(frame.columns) == list(M.PER_MODEL_COLUMNS)
    assert len(frame) == 4
    assert set(frame[M.TARGET]) == {"a.tar.gz", "b.tar.gz"}
    assert frame[M.JOB].unique().tolist() == ["mme-job"]
    assert frame[M.REQUESTS].sum() == 24


def test_summary_adds_counts_and_weights_rates(result):
    summary = M.model_summary(result).set_index(M.TARGET)
    a, b = summary.loc["a.tar.gz"], summary.loc["b.tar.gz"]
    assert a[M.REQUESTS] == 20 and b[M.REQUESTS] == 4
    assert a[M.SHARE] == pytest.approx(20 / 24)
    assert a[M.HIT_RATE] == pytest.approx(19 / 20, abs=1e-3)
    assert b[M.HIT_RATE] == pytest.approx(1 / 4, abs=1e-3)
    assert a[M.COLD_REQUESTS] == 1 and b[M.COLD_REQUESTS] == 3 and b[M.LOADS] == 3
    assert a[M.COLD_P50_MS] == pytest.approx(100.0, rel=1e-2)
    assert a[M.WARM_P50_MS] == pytest.approx((5.0 * 9 + 7.0 * 10) / 19, rel=1e-2)
    assert b[M.P99_MS] == pytest.approx(130.0, rel=1e-2)  # the worst step's
    assert list(M.model_summary(result)[M.TARGET]) == ["a.tar.gz", "b.tar.gz"]  # most requested first


def test_results_without_per_model_give_empty_frames_and_no_charts():
    plain = {"JobName": "j", "InferenceRecommendations": [], "irkit": {"steps": []}}
    assert M.per_model_frame(plain).empty and list(M.per_model_frame(plain).columns) == list(M.PER_MODEL_COLUMNS)
    assert M.model_summary(plain).empty
    assert not M.has_per_model(plain)
    assert charts_models.model_charts(plain) == {}


def test_sagemaker_shape_has_no_cold_columns_and_no_cold_chart():
    steps = [_step("endpoint", 0, [("a.tar.gz", 9.0, None, None), ("b.tar.gz", 11.0, None, None)])]
    summary = M.model_summary(_result(steps))
    assert summary[M.HIT_RATE].isna().all() and summary[M.COLD_P50_MS].isna().all()
    assert summary[M.P50_MS].notna().all()
    assert set(charts_models.model_charts(_result(steps))) == {"model_latency"}


def test_charts_render_with_the_data_they_show(result):
    import vl_convert

    charts = charts_models.model_charts(result)
    assert set(charts) == {"model_latency", "cold_warm", "hit_rate"}
    for chart in charts.values():
        svg = vl_convert.vegalite_to_svg(chart.to_dict())
        assert "a.tar.gz" in svg and "b.tar.gz" in svg
    cold_warm = charts["cold_warm"].to_dict()
    values = next(iter(cold_warm["datasets"].values()))
    kinds = {(v["row"], v["kind"]) for v in values}
    assert kinds == {("a.tar.gz", "cold"), ("a.tar.gz", "warm"), ("b.tar.gz", "cold"), ("b.tar.gz", "warm")}
    cold_a = next(v for v in values if v["row"] == "a.tar.gz" and v["kind"] == "cold")
    assert math.isclose(cold_a["p50_ms"], 100.0, rel_tol=1e-2)


def test_several_configs_are_labelled_and_popularity_preview():
    steps = [_step("local.cpu1", 0, [("a.tar.gz", 5.0, "hit", None)]),
             _step("local.cpu2", 0, [("a.tar.gz", 4.0, "hit", None)])]
    chart = charts_models.model_latency_bars(M.model_summary(_result(steps))).to_dict()
    rows = {v["row"] for v in next(iter(chart["datasets"].values()))}
    assert len(rows) == 2 and all("a.tar.gz" in r for r in rows)
    pop = charts_models.popularity_bars({"a": 0.7, "b": 0.3}, observed={"a": 0.68}).to_dict()
    data = [v for values in pop["datasets"].values() for v in values]
    assert {"name": "b", "observed": 0.0} in data
    assert {"name": "a", "expected": 0.7} in data


def test_result_charts_and_the_report_include_the_per_model_charts(result, tmp_path):
    from irkit.results import charts
    from irkit.results.report import write_report

    drawn = charts.result_charts(result)
    assert {"model_latency", "cold_warm", "hit_rate"} <= set(drawn)
    assert "model_latency" not in charts.result_charts({"JobName": "j", "InferenceRecommendations": []})
    out = write_report(result, tmp_path)
    folder = out if out.is_dir() else out.parent
    assert (folder / "cold_warm.png").is_file()


def test_summary_text_lists_each_model_with_cold_warm_and_hit_rate(result):
    from irkit.results.summary import per_model_lines, summary_text

    lines = per_model_lines(result)
    assert lines[0].startswith("per model")
    a = next(line for line in lines if line.startswith("a.tar.gz")).split()
    assert a[1] == "20" and a[4] == "1" and a[-1] == "95%"
    assert "b.tar.gz" in summary_text(result)
    assert per_model_lines({"irkit": {}}) == []
