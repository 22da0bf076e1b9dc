"""The runner's per-config loop on the real load path: a capacity server benchmarked as an existing
endpoint, with IR's flat_invocations: Stop ending the stairs once throughput levels out."""

from __future__ import annotations

import pytest
from helpers_process import marked

from irkit.backends.local.runner import run_endpoint
from irkit.load.drive import LoadSettings
from irkit.serve.capacity import CapacityServer
from irkit.spec import Stairs, TrafficPattern

pytestmark = pytest.mark.slow


def test_endpoint_max_invocations_and_flat_stop(payload, mark):
    traffic = TrafficPattern("STAIRS", (), Stairs(2, 8, 1))  # 16 s unless stopped
    settings = LoadSettings(payload_path=payload, content_type="application/json", traffic=traffic,
                            flat_invocations="Stop")
    streamed = []
    with CapacityServer(slots=2, service_ms=25) as server:  # 80 req/s = 4800 req/min
        outcome = run_endpoint(server.url, settings, on_step=streamed.append)
    assert outcome.stop_reason == "levelled"
    assert 4 <= len(outcome.steps) < 8  # users 1, 2 grow; 3, 4 ... flat -> stop
    assert [s["step"] for s in streamed] == list(range(len(outcome.steps)))
    assert outcome.max_invocations == pytest.approx(4800, rel=0.08)
    # at the knee (2 users on 2 slots) latency is the 25 ms service time; a busy runner adds tens of ms,
    # so this only checks the knee was read (precision is measured in benchmarks/bench_accuracy.py)
    assert 20 <= outcome.model_latency_ms <= 60
    assert not marked(mark)
