from __future__ import annotations

import math

import pytest
from results_data import LOCAL_FILE, SAGEMAKER_FILE

import irkit.results as R
from irkit.results import ResultError, to_frame


def test_one_row_per_recommendation_and_endpoint(sagemaker_result):
    frame = to_frame(sagemaker_result)
    recs = sagemaker_result["InferenceRecommendations"]
    perfs = sagemaker_result["EndpointPerformances"]
    assert len(frame) == len(recs) + len(perfs)
    assert list(frame[R.KIND]).count(R.KIND_RECOMMENDATION) == len(recs)
    assert set(frame[R.BACKEND]) == {"sagemaker"}
    assert set(frame[R.JOB]) == {sagemaker_result["JobName"]}
    assert list(frame.columns[: len(R.COLUMNS)]) == list(R.COLUMNS)


def test_every_env_parameter_is_its_own_column(sagemaker_result):
    frame = to_frame(sagemaker_result)
    keys = {p["Key"] for r in sagemaker_result["InferenceRecommendations"]
            for p in r["ModelConfiguration"].get("EnvironmentParameters", [])}
    assert len(keys) >= 2
    assert set(R.env_columns(frame)) == keys
    for rec, row in zip(sagemaker_result["InferenceRecommendations"], frame.to_dict("records"), strict=False):
        for p in rec["ModelConfiguration"].get("EnvironmentParameters", []):
            assert row[p["Key"]] == p["Value"]
        assert row[R.RECOMMENDATION_ID] == rec["RecommendationId"]
        assert row[R.MAX_INVOCATIONS] == rec["Metrics"]["MaxInvocations"]
        assert row[R.COST_PER_INFERENCE] == pytest.approx(rec["Metrics"]["CostPerInference"])


def test_missing_cpu_utilization_is_nan_not_zero(sagemaker_result):
    missing = [r["RecommendationId"] for r in sagemaker_result["InferenceRecommendations"]
               if "CpuUtilization" not in r["Metrics"]]
    assert missing
    frame = to_frame(sagemaker_result).set_index(R.RECOMMENDATION_ID)
    for rid in missing:
        assert math.isnan(frame.loc[rid, R.CPU_UTILIZATION])
    present = [r for r in sagemaker_result["InferenceRecommendations"] if "CpuUtilization" in r["Metrics"]]
    assert frame.loc[present[0]["RecommendationId"], R.CPU_UTILIZATION] == present[0]["Metrics"]["CpuUtilization"]


def test_serverless_configuration(sagemaker_result):
    rec = next(r for r in sagemaker_result["InferenceRecommendations"]
               if "ServerlessConfig" in r["EndpointConfiguration"])
    frame = to_frame(sagemaker_result).set_index(R.RECOMMENDATION_ID)
    row = frame.loc[rec["RecommendationId"]]
    config = rec["EndpointConfiguration"]["ServerlessConfig"]
    assert row[R.INSTANCE_TYPE] == R.SERVERLESS
    assert row[R.SERVERLESS_MEMORY_MB] == config["MemorySizeInMB"]
    assert row[R.SERVERLESS_MAX_CONCURRENCY] == config["MaxConcurrency"]
    assert str(config["MemorySizeInMB"]) in row[R.CONFIG]
    assert row[R.MODEL_SETUP_TIME] == rec["Metrics"]["ModelSetupTime"]


def test_serverless_config_id_agrees_with_the_spec(sagemaker_result):
    """The frame names a serverless configuration exactly as the spec does (it was -x{n} vs -c{n})."""
    from irkit.spec import JobSpec

    rec = next(r for r in sagemaker_result["InferenceRecommendations"]
               if "ServerlessConfig" in r["EndpointConfiguration"])
    config = rec["EndpointConfiguration"]["ServerlessConfig"]
    spec = JobSpec.from_dict({"serverless_configs": [{"memory_size_in_mb": config["MemorySizeInMB"],
                                                      "max_concurrency": config["MaxConcurrency"]}]})
    (spec_config,) = [c for c in spec.configurations() if c.instance_type == "serverless"]
    row = to_frame(sagemaker_result).set_index(R.RECOMMENDATION_ID).loc[rec["RecommendationId"]]
    assert row[R.CONFIG] == spec_config.config_id == f"serverless-{config['MemorySizeInMB']}MB-c{config['MaxConcurrency']}"


def test_endpoint_performances(sagemaker_result):
    frame = to_frame(sagemaker_result)
    endpoints = frame[frame[R.KIND] == R.KIND_ENDPOINT]
    perf = sagemaker_result["EndpointPerformances"][0]
    assert list(endpoints[R.ENDPOINT_NAME]) == [perf["EndpointInfo"]["EndpointName"]]
    assert endpoints[R.MAX_INVOCATIONS].iloc[0] == perf["Metrics"]["MaxInvocations"]
    assert math.isnan(endpoints[R.COST_PER_INFERENCE].iloc[0])
    assert len(R.recommendations(frame)) == len(sagemaker_result["InferenceRecommendations"])


def test_local_result_uses_its_config_ids_and_estimate_flag(local_result):
    frame = to_frame(local_result)
    configs = {c["recommendation_id"]: c for c in local_result["irkit"]["configs"] if c["recommendation_id"]}
    assert set(frame[R.BACKEND]) == {"local"}
    for row in frame.to_dict("records"):
        assert row[R.CONFIG] == configs[row[R.RECOMMENDATION_ID]]["config_id"]
        assert bool(row[R.PRICE_IS_ESTIMATE]) is configs[row[R.RECOMMENDATION_ID]]["price_is_estimate"]


def test_steps_frame_from_local_curves(local_result):
    steps = R.steps_frame(local_result)
    raw = local_result["irkit"]["steps"]
    assert len(steps) == len(raw)
    assert set(steps[R.CONFIG]) == {s["config_id"] for s in raw}
    assert list(steps[R.P95_MS]) == [s["p95_ms"] for s in raw]
    errored = steps[steps[R.ERRORS] > 0].iloc[0]
    assert errored[R.ERROR_RATE] == pytest.approx(errored[R.ERRORS] / errored[R.REQUESTS])
    assert R.steps_frame(LOCAL_FILE)[R.USERS].max() == max(s["users"] for s in raw)


def test_sagemaker_result_has_no_steps():
    assert R.steps_frame(SAGEMAKER_FILE).empty


def test_failed_configs_listed(local_result):
    statuses = R.config_statuses(local_result)
    failed = statuses[statuses["status"] == "FAILED"]
    assert len(failed) == 1 and "pre-flight" in failed["failure_reason"].iloc[0]


def test_bad_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ResultError, match="bad.json"):
        to_frame(bad)
    with pytest.raises(ResultError, match="missing.json"):
        to_frame(tmp_path / "missing.json")


def test_results_is_the_package_and_fetch_results_the_job_call():
    import irkit
    import irkit.jobs

    assert hasattr(irkit.results, "to_frame") and not callable(irkit.results)
    assert irkit.fetch_results is irkit.jobs.results
