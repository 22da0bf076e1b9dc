"""Write the recorded results the tests read (run once; the JSON files are committed).

sagemaker_describe.json: an Advanced DescribeInferenceRecommendationsJob response as boto3 returns
it (datetimes as ISO strings, ResponseMetadata dropped): two env parameters, one recommendation
without CpuUtilization/MemoryUtilization (IR leaves them out), a serverless configuration, and an
EndpointPerformances entry. local_result.json: a local backend result with the `irkit` key and
its per-step curves (one config failed). measured_result.json: the demo job (2 local CPU sets x 2
OMP_NUM_THREADS values) measured by the knee search, with the measurement-quality fields (95%
interval of MaxInvocations, stability, the load generator's CPU and cores, the knee; per step the
windows, stability and generator CPU). Its two local.cpu1 configs are tied within noise on cost
(overlapping intervals) and only latency separates them; local.cpu2 OMP_NUM_THREADS=1 never settled;
on local.cpu2 the generator shares the server's cores.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def _rec(rid, itype, env, cph, rpm, lat, cpu=None, mem=None, setup=None, serverless=None):
    metrics = {"CostPerHour": cph, "CostPerInference": cph / (rpm * 60), "MaxInvocations": rpm,
               "ModelLatency": lat}
    if cpu is not None:
        metrics["CpuUtilization"] = cpu
    if mem is not None:
        metrics["MemoryUtilization"] = mem
    if setup is not None:
        metrics["ModelSetupTime"] = setup
    endpoint = {"EndpointName": f"sm-epc-{rid}", "VariantName": "sm-epc-AllTraffic"}
    if serverless:
        endpoint["ServerlessConfig"] = serverless
    else:
        endpoint.update({"InstanceType": itype, "InitialInstanceCount": 1})
    return {
        "RecommendationId": f"resnet50-advanced/{rid}",
        "Metrics": metrics,
        "EndpointConfiguration": endpoint,
        # IR omits EnvironmentParameters when there are none (the API's minimum length is 1)
        "ModelConfiguration": {"EnvironmentParameters": [
            {"Key": k, "ValueType": "String", "Value": v} for k, v in env.items()]} if env else {},
        "InvocationStartTime": "2024-05-02T10:14:03.120000+00:00",
        "InvocationEndTime": "2024-05-02T10:31:47.530000+00:00",
    }


def sagemaker() -> dict:
    return {
        "JobName": "resnet50-advanced",
        "JobType": "Advanced",
        "JobArn": f"{ARN}:inference-recommendations-job/resnet50-advanced",
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "Status": "COMPLETED",
        "CreationTime": "2024-05-02T10:02:11.481000+00:00",
        "CompletionTime": "2024-05-02T11:05:40.002000+00:00",
        "LastModifiedTime": "2024-05-02T11:05:40.002000+00:00",
        "InputConfig": {
            "ModelPackageVersionArn": f"{ARN}:model-package/resnet50/1",
            "JobDurationInSeconds": 7200,
            "TrafficPattern": {"TrafficType": "PHASES", "Phases": [
                {"InitialNumberOfUsers": 2, "SpawnRate": 2, "DurationInSeconds": 120},
                {"InitialNumberOfUsers": 6, "SpawnRate": 2, "DurationInSeconds": 120}]},
            "ResourceLimit": {"MaxNumberOfTests": 10, "MaxParallelOfTests": 2},
            "EndpointConfigurations": [
                {"InstanceType": "ml.c5.xlarge", "EnvironmentParameterRanges": {"CategoricalParameterRanges": [
                    {"Name": "OMP_NUM_THREADS", "Value": ["1", "2"]},
                    {"Name": "SAGEMAKER_TFS_ENABLE_BATCHING", "Value": ["false", "true"]}]}},
                {"InstanceType": "ml.m5.xlarge", "EnvironmentParameterRanges": {"CategoricalParameterRanges": [
                    {"Name": "OMP_NUM_THREADS", "Value": ["2"]},
                    {"Name": "SAGEMAKER_TFS_ENABLE_BATCHING", "Value": ["false"]}]}},
                {"ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 5}}],
            "Endpoints": [{"EndpointName": "resnet50-prod"}],
        },
        "StoppingConditions": {"MaxInvocations": 3000, "ModelLatencyThresholds": [
            {"Percentile": "P95", "ValueInMilliseconds": 200}]},
        "InferenceRecommendations": [
            _rec("a1b2c3d4", "ml.c5.xlarge", {"OMP_NUM_THREADS": "1", "SAGEMAKER_TFS_ENABLE_BATCHING": "false"},
                 0.204, 610, 88, cpu=97.3, mem=21.4),
            _rec("b2c3d4e5", "ml.c5.xlarge", {"OMP_NUM_THREADS": "2", "SAGEMAKER_TFS_ENABLE_BATCHING": "false"},
                 0.204, 840, 71, cpu=98.9, mem=22.0),
            _rec("c3d4e5f6", "ml.c5.xlarge", {"OMP_NUM_THREADS": "2", "SAGEMAKER_TFS_ENABLE_BATCHING": "true"},
                 0.204, 905, 142, cpu=99.1, mem=23.8),
            # IR leaves CpuUtilization and MemoryUtilization out when it could not read them
            _rec("d4e5f6a7", "ml.c5.xlarge", {"OMP_NUM_THREADS": "1", "SAGEMAKER_TFS_ENABLE_BATCHING": "true"},
                 0.204, 655, 120),
            _rec("e5f6a7b8", "ml.m5.xlarge", {"OMP_NUM_THREADS": "2", "SAGEMAKER_TFS_ENABLE_BATCHING": "false"},
                 0.23, 700, 64, cpu=96.0, mem=12.7),
            _rec("f6a7b8c9", None, {}, 0.4608, 1020, 180, setup=4200000,
                 serverless={"MemorySizeInMB": 4096, "MaxConcurrency": 5}),
        ],
        "EndpointPerformances": [
            {"Metrics": {"MaxInvocations": 780, "ModelLatency": 75},
             "EndpointInfo": {"EndpointName": "resnet50-prod"}},
        ],
    }


def _steps(config_id, rps_curve, p95_curve, cpu_curve):
    out, start = [], 0.0
    for i, (rps, p95, cpu) in enumerate(zip(rps_curve, p95_curve, cpu_curve, strict=True)):
        requests = int(rps * 15)
        out.append({"config_id": config_id, "step": i, "users": i + 1, "start_s": start, "duration_s": 15.0,
                    "requests": requests, "errors": 0 if i < 3 else 1, "rps": rps,
                    "p50_ms": round(p95 * 0.7, 1), "p90_ms": round(p95 * 0.9, 1), "p95_ms": p95,
                    "p99_ms": round(p95 * 1.25, 1), "max_ms": round(p95 * 1.6, 1),
                    "goodput_rps": rps if p95 <= 400 else round(rps * 0.4, 2),
                    "server_cpu": cpu, "server_memory": 3.1 + i * 0.05})
        start += 15.0
    return out


def local() -> dict:
    cfg1, cfg2, cfg3 = "local.cpu1", "local.cpu2+OMP_NUM_THREADS=2", "local.cpu2+OMP_NUM_THREADS=1"
    steps = (_steps(cfg1, [9.8, 11.9, 12.1, 12.0], [108.0, 172.0, 255.0, 341.0], [71.0, 98.5, 99.2, 99.4])
             + _steps(cfg2, [17.5, 22.9, 23.4, 23.6], [61.0, 94.0, 133.0, 176.0], [82.0, 176.0, 191.0, 193.0]))
    recs = [
        {"RecommendationId": "demo-local/1b9b3a0e",
         "Metrics": {"CostPerHour": 0.0425, "CostPerInference": 0.0425 / (722 * 60), "MaxInvocations": 722,
                     "ModelLatency": 172, "CpuUtilization": 98.5, "MemoryUtilization": 3.15,
                     "ModelSetupTime": 3.42},
         "EndpointConfiguration": {"EndpointName": "demo-local-1b9b3a0e", "VariantName": "AllTraffic",
                                   "InstanceType": cfg1, "InitialInstanceCount": 1},
         "ModelConfiguration": {"EnvironmentParameters": []},
         "InvocationStartTime": "2024-05-03T08:00:05+00:00", "InvocationEndTime": "2024-05-03T08:01:05+00:00"},
        {"RecommendationId": "demo-local/7c2d9f10",
         "Metrics": {"CostPerHour": 0.085, "CostPerInference": 0.085 / (1396 * 60), "MaxInvocations": 1396,
                     "ModelLatency": 133, "CpuUtilization": 191.0, "MemoryUtilization": 3.2,
                     "ModelSetupTime": 3.61},
         "EndpointConfiguration": {"EndpointName": "demo-local-7c2d9f10", "VariantName": "AllTraffic",
                                   "InstanceType": "local.cpu2", "InitialInstanceCount": 1},
         "ModelConfiguration": {"EnvironmentParameters": [
             {"Key": "OMP_NUM_THREADS", "ValueType": "String", "Value": "2"}]},
         "InvocationStartTime": "2024-05-03T08:01:12+00:00", "InvocationEndTime": "2024-05-03T08:02:12+00:00"},
    ]

    def cfg(cid, itype, env, status, rid=None, plateau=None, reason=None, failure=None):
        return {"config_id": cid, "instance_type": itype, "environment": env, "status": status,
                "failure_reason": failure, "recommendation_id": rid, "plateau_step": plateau,
                "plateau_reason": reason, "price_is_estimate": True, "warnings": []}

    return {
        "JobName": "demo-local", "JobType": "Advanced",
        "JobArn": "arn:irkit:local:inference-recommendations-job/demo-local",
        "Status": "COMPLETED",
        "CreationTime": "2024-05-03T08:00:00+00:00", "LastModifiedTime": "2024-05-03T08:02:30+00:00",
        "CompletionTime": "2024-05-03T08:02:30+00:00",
        "InputConfig": {"JobDurationInSeconds": 600},
        "InferenceRecommendations": recs,
        "EndpointPerformances": [],
        "irkit": {
            "backend": "local", "job_id": "demo-local", "load_mode": "closed", "workers": 0,
            "model": "irkit-work/model.tar.gz", "endpoint_url": None,
            "configs": [
                cfg(cfg1, "local.cpu1", {}, "COMPLETED", recs[0]["RecommendationId"], 1, "levelled_out"),
                cfg(cfg2, "local.cpu2", {"OMP_NUM_THREADS": "2"}, "COMPLETED", recs[1]["RecommendationId"], 2,
                    "levelled_out"),
                cfg(cfg3, "local.cpu2", {"OMP_NUM_THREADS": "1"}, "FAILED",
                    failure="pre-flight request answered 500: out of memory"),
            ],
            "steps": steps,
        },
    }


def _measured_steps(config_id, levels, start=0.0):
    """levels: (users, rps, p95_ms, stable, generator_cpu), in the order the knee search ran them."""
    out = []
    for i, (users, rps, p95, stable, gen_cpu) in enumerate(levels):
        count = 3 if stable else 6  # an unstable level runs to the cap
        windows = [{"start_s": start + 4.0 * k, "duration_s": 4.0, "requests": int(rps * 4),
                    "rps": round(rps * (1 + (0.02 if stable else 0.15) * (-1) ** k), 2),
                    "p95_ms": round(p95 * (1 + (0.03 if stable else 0.2) * (-1) ** (k + 1)), 1)}
                   for k in range(count)]
        requests = sum(w["requests"] for w in windows)
        out.append({"config_id": config_id, "step": i, "users": users, "start_s": start,
                    "duration_s": 4.0 * count, "requests": requests, "errors": 0, "rps": rps,
                    "p50_ms": round(p95 * 0.8, 1), "p90_ms": round(p95 * 0.95, 1), "p95_ms": p95,
                    "p99_ms": round(p95 * 1.1, 1), "max_ms": round(p95 * 1.3, 1), "goodput_rps": rps,
                    "server_cpu": 97.0, "server_memory": 3.2, "windows": windows, "stable": stable,
                    "generator_cpu": gen_cpu})
        start += 4.0 * count
    return out


def measured() -> dict:
    """The demo job as the knee search measures it (see the module docstring)."""
    c11, c12 = "local.cpu1+OMP_NUM_THREADS=1", "local.cpu1+OMP_NUM_THREADS=2"
    c21, c22 = "local.cpu2+OMP_NUM_THREADS=1", "local.cpu2+OMP_NUM_THREADS=2"
    # config id -> (instance, omp, $/h, MaxInvocations, [lo, hi], latency, stable, generator, knee, levels)
    table = {
        c11: ("local.cpu1", "1", 0.0425, 558, [541, 575], 108, True, (11.5, False, [1]), (1, 0),
              [(1, 9.3, 108.0, True, 11.5), (2, 9.5, 214.0, True, 11.9)]),
        c12: ("local.cpu1", "2", 0.0425, 566, [540, 592], 121, True, (11.8, False, [1]), (1, 0),
              [(1, 9.43, 121.0, True, 11.8), (2, 9.6, 230.0, True, 12.0)]),
        c21: ("local.cpu2", "1", 0.085, 1008, [930, 1090], 264, False, (38.0, True, [0, 1]), (3, 3),
              [(1, 9.1, 112.0, True, 12.0), (2, 14.9, 140.0, False, 24.0), (4, 17.0, 290.0, False, 41.0),
               (3, 16.8, 264.0, False, 38.0)]),
        c22: ("local.cpu2", "2", 0.085, 990, [955, 1025], 145, True, (35.0, True, [0, 1]), (2, 1),
              [(1, 10.2, 101.0, True, 13.0), (2, 16.5, 145.0, True, 35.0), (4, 16.9, 281.0, True, 40.0),
               (3, 16.7, 214.0, True, 39.0)]),
    }
    recs, configs, steps, start = [], [], [], 0.0
    for n, (cid, (itype, omp, cph, rpm, ci, lat, stable, gen, knee, levels)) in enumerate(table.items()):
        rid = f"demo-measured/{n:08x}"
        recs.append({
            "RecommendationId": rid,
            "Metrics": {"CostPerHour": cph, "CostPerInference": cph / (rpm * 60), "MaxInvocations": rpm,
                        "ModelLatency": lat, "CpuUtilization": 97.0 * int(itype[-1]), "MemoryUtilization": 3.2,
                        "ModelSetupTime": 3.5},
            "EndpointConfiguration": {"EndpointName": f"demo-measured-{n:08x}", "VariantName": "AllTraffic",
                                      "InstanceType": itype, "InitialInstanceCount": 1},
            "ModelConfiguration": {"EnvironmentParameters": [
                {"Key": "OMP_NUM_THREADS", "ValueType": "String", "Value": omp}]},
        })
        configs.append({
            "config_id": cid, "instance_type": itype, "environment": {"OMP_NUM_THREADS": omp},
            "status": "COMPLETED", "failure_reason": None, "recommendation_id": rid, "plateau_step": knee[1],
            "plateau_reason": "levelled", "price_is_estimate": True, "warnings": [],
            "max_invocations_ci": ci, "stable": stable,
            "generator": {"cpu_percent": gen[0], "shares_server_cores": gen[1], "cores": gen[2]},
            "knee": {"users": knee[0], "reason": "levelled"},
        })
        config_steps = _measured_steps(cid, levels, start)
        start = config_steps[-1]["start_s"] + config_steps[-1]["duration_s"] + 5.0
        steps += config_steps
    return {
        "JobName": "demo-measured", "JobType": "Advanced",
        "JobArn": "arn:irkit:local:inference-recommendations-job/demo-measured",
        "Status": "COMPLETED",
        "CreationTime": "2024-06-01T09:00:00+00:00", "LastModifiedTime": "2024-06-01T09:03:00+00:00",
        "CompletionTime": "2024-06-01T09:03:00+00:00",
        "InputConfig": {"JobDurationInSeconds": 600},
        "InferenceRecommendations": recs,
        "EndpointPerformances": [],
        "irkit": {"backend": "local", "job_id": "demo-measured", "load_mode": "closed", "workers": 0,
                  "model": "demo-out/model.tar.gz", "endpoint_url": None, "configs": configs, "steps": steps},
    }


if __name__ == "__main__":
    for name, data in (("sagemaker_describe.json", sagemaker()), ("local_result.json", local()),
                       ("measured_result.json", measured())):
        (HERE / name).write_text(json.dumps(data, indent=1) + "\n")
