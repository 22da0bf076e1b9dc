"""A fake backend for panel tests: records calls, runs a job through states as it is polled."""

from __future__ import annotations

import threading

from irkit.backends import JobHandle, JobStatus


def fake_result(job_name: str, rows: list[tuple[str, float, float, float]]) -> dict:
    """rows: (instance_type, cost_per_hour, max_invocations, latency_ms)."""
    recs = []
    for i, (itype, cost, invocations, latency) in enumerate(rows):
        recs.append(
            {
                "RecommendationId": f"{job_name}/{i}",
                "Metrics": {
                    "CostPerHour": cost,
                    "CostPerInference": cost / (invocations * 60),
                    "MaxInvocations": invocations,
                    "ModelLatency": latency,
                },
                "EndpointConfiguration": {
                    "InstanceType": itype,
                    "VariantName": "v",
                    "InitialInstanceCount": 1,
                },
                "ModelConfiguration": {"EnvironmentParameters": []},
            }
        )
    steps = [
        {"config_id": r[0], "step": k, "users": k + 1, "rps": min(r[2] / 60, (k + 1) * 5.0)}
        for r in rows
        for k in range(3)
    ]
    return {
        "JobName": job_name,
        "Status": "COMPLETED",
        "InferenceRecommendations": recs,
        "irkit": {"steps": steps, "configs": []},
    }


class FakeBackend:
    name = "local"

    def __init__(
        self, polls_before_done: int = 2, fail: str | None = None, rows=None, submit_error=None
    ):
        self.calls: list[tuple] = []
        self.polls_before_done = polls_before_done
        self.fail = fail
        self.submit_error = submit_error
        self.rows = rows or [("local.cpu1", 0.05, 600.0, 40.0), ("local.cpu2", 0.10, 1500.0, 25.0)]
        self.release = threading.Event()  # while unset, status() stays IN_PROGRESS
        self.release.set()
        self.stopped = False
        self._polls = 0

    def submit(self, spec, **kwargs):
        self.calls.append(("submit", spec, kwargs))
        if self.submit_error:
            raise self.submit_error
        self.spec = spec
        return JobHandle("local", spec.job_name, "job-1")

    def status(self, handle):
        self.calls.append(("status", handle))
        self._polls += 1
        total = len(self.spec.configurations())
        if self.stopped:
            return JobStatus("STOPPED", None, 0, total, (), "stopped")
        if self._polls <= self.polls_before_done or not self.release.is_set():
            return JobStatus(
                "IN_PROGRESS", None, min(self._polls - 1, total), total, (), "testing local.cpu1"
            )
        if self.fail:
            return JobStatus("FAILED", self.fail, total, total, (), "failed")
        return JobStatus("COMPLETED", None, total, total, (), "completed")

    def stop(self, handle):
        self.calls.append(("stop", handle))
        self.stopped = True

    def results(self, handle):
        self.calls.append(("results", handle))
        if self.fail:
            return {
                "JobName": handle.job_name,
                "Status": "FAILED",
                "FailureReason": self.fail,
                "InferenceRecommendations": [],
            }
        if self.stopped:
            return {"JobName": handle.job_name, "Status": "STOPPED", "InferenceRecommendations": []}
        return fake_result(handle.job_name, self.rows)

    def call_names(self):
        return [c[0] for c in self.calls]
