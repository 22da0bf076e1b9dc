"""Helpers for the real-Locust tests: a payload file and finding the Locust processes a test started."""

from __future__ import annotations

import time

import psutil

MARK_ENV = "IRKIT_TEST_LOAD_MARK"


def marked_processes(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries this test's mark (Locust inherits it)."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get(MARK_ENV) == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def wait_until_gone(mark: str, timeout_s: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = marked_processes(mark)
        if not left:
            return []
        time.sleep(0.2)
    return marked_processes(mark)
