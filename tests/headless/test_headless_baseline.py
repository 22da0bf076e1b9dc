"""--baseline / --fail-on-regression: exit code 3 on a regression, against jobs recorded in the store."""

from __future__ import annotations

import json

import pytest
from headless_fixtures import recorded_result, recording_notebook

from irkit.cli import main
from irkit.errors import EXIT_REGRESSION
from irkit.store import Store


def _baseline(name="baseline"):
    store = Store()
    job_id = store.create_job(name, "local", {"job_name": name})
    store.save_result(job_id, recorded_result(job_name=name))
    return job_id


def _run(tmp_path, *args, throughput=1.0, latency=1.0):
    result_file = tmp_path / f"current-{throughput}-{latency}.json"
    result_file.write_text(json.dumps(recorded_result(throughput, latency, job_name="nightly")))
    nb = recording_notebook(tmp_path / "04_nightly.ipynb")
    return main(["run", str(nb), "--out", str(tmp_path / "runs"), "-p", "result_file", str(result_file), *args])


def _manifest(tmp_path):
    newest = sorted((tmp_path / "runs").iterdir())[-1]
    return json.loads((newest / "run.json").read_text())


@pytest.mark.parametrize(("throughput", "latency", "pct", "expected"), [
    (0.70, 1.0, 10, EXIT_REGRESSION),  # throughput -30 %
    (1.0, 1.25, 10, EXIT_REGRESSION),  # latency +25 %
    (0.95, 1.05, 10, 0),  # within 10 %
    (0.70, 1.25, 40, 0),  # within a looser gate
    (1.30, 0.80, 10, 0),  # better is never a regression
])
def test_regression_exit_codes(tmp_path, monkeypatch, capsys, throughput, latency, pct, expected):
    monkeypatch.chdir(tmp_path)
    baseline = _baseline()
    code = _run(tmp_path, "--baseline", baseline, "--fail-on-regression", str(pct),
                throughput=throughput, latency=latency)
    err = capsys.readouterr().err
    assert code == expected, err
    manifest = _manifest(tmp_path)
    check = manifest["baseline"]
    assert check["job_id"] == baseline and check["current_job_id"] == manifest["job_id"]
    assert check["status"] == ("regressed" if expected else "passed")
    assert manifest["exit_code"] == code
    assert (tmp_path / "runs" / manifest["run_id"] / "compare.csv").is_file()
    if expected:
        assert manifest["status"] == "regressed"
        assert "regression" in err and "local.cpu1" in err
        assert {r["config"] for r in check["regressions"]} == {"local.cpu1", "local.cpu2+OMP_NUM_THREADS=2"}


def test_latest_is_the_newest_completed_job_before_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _baseline("older")
    newer = _baseline("newer")
    Store().create_job("still-running", "local", {})  # not COMPLETED: never a baseline
    assert _run(tmp_path, "--fail-on-regression", "10", throughput=0.5) == EXIT_REGRESSION
    assert _manifest(tmp_path)["baseline"]["job_id"] == newer
    # the run's own job is now the latest completed one; the next run compares against it
    assert _run(tmp_path, "--baseline", "latest", "--fail-on-regression", "10", throughput=0.5) == 0


def test_no_history_yet_passes_with_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run(tmp_path, "--fail-on-regression", "5") == 0
    assert "no completed job" in capsys.readouterr().err
    assert _manifest(tmp_path)["baseline"]["status"] == "no-baseline"


def test_unknown_baseline_fails_before_running(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run(tmp_path, "--baseline", "no-such-job", "--fail-on-regression", "5") == 1
    assert "no-such-job" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
