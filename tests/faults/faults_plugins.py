"""Plug-ins for a job's runner process in the store test (IRKIT_LOCAL_SERVER_FACTORY / _LOAD_FN):
a fake server and a load generator that writes many steps fast, so the store sees heavy writes."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

from runner_fakes import FakeServer  # noqa: F401 - the server plug-in (tests/backends/local)

STEPS_ENV = "IRKIT_TEST_FAST_LOAD_STEPS"


def fast_load(url, payload_path, content_type, traffic, *, on_step=None, stop_event=None, **_kw):
    steps = []
    for k in range(int(os.environ[STEPS_ENV])):
        if stop_event is not None and stop_event.is_set():
            break
        rps = 10.0 + k
        step = {"step": k, "users": k + 1, "start_s": k, "duration_s": 1, "requests": int(rps), "errors": 0,
                "rps": rps, "p50_ms": 10.0, "p90_ms": 12.0, "p95_ms": 13.0, "p99_ms": 15.0, "max_ms": 20.0,
                "goodput_rps": rps}
        steps.append(step)
        if on_step is not None:
            on_step(step)
        time.sleep(0.01)
    return SimpleNamespace(steps=steps, warnings=[], mode="closed")
