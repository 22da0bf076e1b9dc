from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest
from results_data import LOCAL_FILE, SAGEMAKER_FILE

from irkit.cli import main
from irkit.results import history, to_frame
from irkit.results.ranking import recommend
from irkit.store import Store


def test_import_round_trip(sagemaker_result):
    job_id = history.import_result(SAGEMAKER_FILE)
    assert history.load(job_id) == sagemaker_result
    job = history.show("latest")
    assert job["job_id"] == job_id and job["backend"] == "sagemaker" and job["status"] == "COMPLETED"
    assert history.import_result(SAGEMAKER_FILE) == job_id  # the same job again: no duplicate
    assert len(history.list_jobs()) == 1


def test_list_shows_the_recommendation_not_the_cheapest(sagemaker_result, local_result):
    history.import_result(SAGEMAKER_FILE)
    history.import_result(LOCAL_FILE)
    frame = history.list_jobs().set_index("job_id")
    recs = sagemaker_result["InferenceRecommendations"]
    pick = recommend(to_frame(sagemaker_result)).iloc[0]  # DEFAULT_IMPORTANCES
    cheapest = min(recs, key=lambda r: r["Metrics"]["CostPerInference"])
    assert pick["recommendation_id"] != cheapest["RecommendationId"]  # the two rules differ on this job
    row = frame.loc[sagemaker_result["JobName"]]
    assert row["best_config"] == pick["config"]
    assert row["best_max_invocations"] == pick["max_invocations"]
    assert row["best_cost_per_million"] == pytest.approx(pick["cost_per_inference"] * 1e6)
    assert row["configs"] == len(recs)
    assert list(frame.index) == ["demo-local", "resnet50-advanced"]  # newest CreationTime first
    assert list(history.list_jobs(backend="local")["job_id"]) == ["demo-local"]


def test_compare_two_jobs_of_the_history(local_result):
    first = history.import_result(local_result)
    later = json.loads(json.dumps(local_result))
    later["JobArn"] += "-rerun"
    later["InferenceRecommendations"][0]["Metrics"]["MaxInvocations"] = 361
    second = history.import_result(later)
    assert first != second
    table = history.compare(first, second).set_index("config")
    assert table.loc["local.cpu1", "max_invocations_delta_pct"] == pytest.approx(-50.0)


def test_cli_jobs(capsys, tmp_path):
    assert main(["jobs", "list"]) == 0
    assert "no jobs" in capsys.readouterr().out
    assert main(["jobs", "import", str(SAGEMAKER_FILE)]) == 0
    assert main(["jobs", "import", str(LOCAL_FILE)]) == 0
    capsys.readouterr()
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    assert "resnet50-advanced" in out and "demo-local" in out
    assert main(["jobs", "show", "resnet50-advanced"]) == 0
    assert "recommended:" in capsys.readouterr().out
    assert main(["jobs", "compare", "demo-local", "demo-local", "--fail-on-regression", "5"]) == 0
    worse = json.loads(LOCAL_FILE.read_text())
    worse["InferenceRecommendations"][1]["Metrics"]["ModelLatency"] *= 2
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    assert main(["jobs", "compare", "demo-local", str(tmp_path / "worse.json"), "--fail-on-regression", "5"]) == 3
    assert "model latency rose 100.0%" in capsys.readouterr().err
    assert main(["jobs", "show", "nope"]) == 1


def _as_boto(result):
    """The recorded JSON back to what boto3 returns (datetimes), for the Stubber."""
    out = json.loads(json.dumps(result))
    for key in ("CreationTime", "LastModifiedTime", "CompletionTime"):
        out[key] = dt.datetime.fromisoformat(out[key])
    for rec in out["InferenceRecommendations"]:
        for key in ("InvocationStartTime", "InvocationEndTime"):
            rec[key] = dt.datetime.fromisoformat(rec[key])
    return out


def test_import_by_job_name_through_the_sagemaker_backend(sagemaker_result, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    from botocore.stub import Stubber

    import irkit.backends as backends
    from irkit.backends.sagemaker import SageMakerBackend
    from irkit.backends.sagemaker.clients import AwsClients

    client = boto3.client("sagemaker", region_name="us-east-1")
    made = []

    def factory(**kwargs):
        made.append(kwargs)
        return SageMakerBackend(AwsClients(sagemaker=client), **kwargs)

    monkeypatch.setitem(backends._REGISTRY, "sagemaker", factory)
    with Stubber(client) as stub:
        stub.add_response("describe_inference_recommendations_job", _as_boto(sagemaker_result),
                          {"JobName": "resnet50-advanced"})
        job_id = history.import_result("resnet50-advanced")
        stub.assert_no_pending_responses()
    assert made, "the SageMaker backend came from the registry"
    stored = history.load(job_id)
    assert stored["InferenceRecommendations"] == sagemaker_result["InferenceRecommendations"]
    assert stored["CreationTime"].startswith("2024-05-02T10:02:11")


WRITER = textwrap.dedent("""
    import json, sys
    from irkit.results import history
    from irkit.store import Store
    store = Store(sys.argv[1])
    base = json.loads(open(sys.argv[2]).read())
    for i in range(int(sys.argv[4])):
        base["JobArn"] = f"arn:irkit:local:inference-recommendations-job/{sys.argv[3]}-{i}"
        history.import_result(base, store)
        store.add_step(store.create_job("same-name", "local"), "c", 0, {"rps": i})
""")


def test_two_processes_write_the_store_at_once(tmp_path):
    db = tmp_path / "shared.db"
    Store(db)
    n = 15
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(LOCAL_FILE), tag, str(n)],
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = Store(db)
    jobs = store.list_jobs()
    assert len(jobs) == 4 * n
    assert len({j["job_id"] for j in jobs}) == 4 * n  # ids stay unique under contention
    assert len(store.list_jobs(name="same-name")) == 2 * n
    assert all(store.steps(j["job_id"]) for j in store.list_jobs(name="same-name"))
