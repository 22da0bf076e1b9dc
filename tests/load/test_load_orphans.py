"""A killed run_load leaves no Locust process behind: Ctrl-C reaps at once, SIGKILL via the orphan check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers_process import marked, wait_gone

from irkit.serve.capacity import CapacityServer

pytestmark = pytest.mark.slow

DRIVER = textwrap.dedent("""
    import sys
    from irkit.load.generator import run_load
    from irkit.spec import Stairs, TrafficPattern
    traffic = TrafficPattern("STAIRS", (), Stairs(5, 12, 1))  # 60 s unless killed
    run_load(sys.argv[1], sys.argv[2], "application/json", traffic, workers=int(sys.argv[3]),
             on_step=lambda step: print("step", flush=True))
""")


def start_driver(url, payload, workers):
    return subprocess.Popen([sys.executable, "-c", DRIVER, url, str(payload), str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))


def wait_for_locust(mark, count, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(marked(mark)) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"expected {count} marked processes, found {len(marked(mark))}")


@pytest.mark.parametrize("sig, grace_s", [(signal.SIGINT, 8.0), (signal.SIGKILL, 8.0)])
def test_killed_run_leaves_no_orphans(payload, mark, sig, grace_s):
    with CapacityServer(slots=2, service_ms=10) as server:
        driver = start_driver(server.url, payload, workers=1)
        try:
            wait_for_locust(mark, 3)  # the driver, a master and a worker
            time.sleep(1.0)
            driver.send_signal(sig)
            driver.wait(timeout=40)  # SIGTERM, 5 s grace, SIGKILL: slow only on a loaded machine
            left = wait_gone(mark, grace_s)
            assert not left, [p.cmdline() for p in left]
        finally:
            if driver.poll() is None:
                driver.kill()
            for process in marked(mark):
                process.kill()
