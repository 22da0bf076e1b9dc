from __future__ import annotations

import re

from results_data import LOCAL_FILE, SAGEMAKER_FILE

from irkit.cli import main
from irkit.results import to_frame
from irkit.results.history import import_result
from irkit.results.ranking import recommend
from irkit.results.report import build_report, render_html, write_report

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_is_self_contained_with_every_chart(tmp_path, local_result):
    path = write_report(LOCAL_FILE, tmp_path / "out")
    page = path.read_text()
    assert path.name == "report.html"
    assert not re.search(r"<script[^>]+src\s*=", page, re.I), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]+href\s*=\s*['\"]https?:", page, re.I)
    assert "vegaEmbed" in page
    best = recommend(to_frame(local_result))["config"].iloc[0]
    assert f"<div class='pick'>{best}</div>" in page
    for name in ("cost_vs_latency", "max_invocations", "step_curves"):
        assert f"id='chart-{name}'" in page
        assert (path.parent / f"{name}.png").read_bytes().startswith(PNG)
    assert "pre-flight request answered 500" in page  # the failed configuration is listed
    assert "estimates" in page  # local prices are flagged as estimates


def test_report_ranks_by_importance_and_slo(sagemaker_result):
    frame = to_frame(sagemaker_result)
    cheap = build_report(sagemaker_result, cost=5, latency=1, throughput=1)
    assert cheap.recommendation["config"] == recommend(frame, 5, 1, 1)["config"].iloc[0]
    busy = build_report(sagemaker_result, cost=1, latency=1, throughput=5)
    assert busy.recommendation["max_invocations"] == frame["max_invocations"].max()
    fastest = min(r["Metrics"]["ModelLatency"] for r in sagemaker_result["InferenceRecommendations"])
    fast = build_report(sagemaker_result, latency_ms=fastest)
    assert fast.recommendation["model_latency_ms"] == fastest and len(fast.ranked) == 1
    none = build_report(sagemaker_result, latency_ms=1)
    assert none.recommendation is None and any("SLO" in n for n in none.notes)
    assert build_report(sagemaker_result).threshold_ms == 200.0


def test_render_html_for_the_widgets(sagemaker_result):
    page = render_html(sagemaker_result)
    assert page.startswith("<!DOCTYPE html>") and "resnet50-prod" in page  # the endpoint benchmark


def test_cli_report_from_the_history(tmp_path, capsys):
    job_id = import_result(SAGEMAKER_FILE)
    assert main(["report", job_id, "--out", str(tmp_path / "r"), "--no-png", "--latency", "5"]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")
    assert (tmp_path / "r" / "report.html").exists()
    assert not list((tmp_path / "r").glob("*.png"))
    assert main(["report", "no-such-job", "--out", str(tmp_path / "x")]) == 1
