"""Finding again the processes a test started, by a mark in their environment (tests/faults, tests/load).

A test's ``mark`` fixture sets ``MARK_ENV`` to a fresh value; every process the test starts (servers,
uvicorn workers, Locust, kernels) inherits it, so ``marked`` finds what is still running afterwards.
(Not a conftest: several test folders have one, and ``from conftest import`` gets whichever came first.)
"""

from __future__ import annotations

import time

import psutil

MARK_ENV = "IRKIT_TEST_MARK"


def marked(mark: str) -> list[psutil.Process]:
    """Live processes (zombies excluded) whose environment carries ``mark``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get(MARK_ENV) == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def describe(processes: list[psutil.Process]) -> list[str]:
    """``pid: command line`` of each process still there, for an assertion's message."""
    out = []
    for process in processes:
        try:
            out.append(f"{process.pid}: {' '.join(process.cmdline())[:160]}")
        except psutil.Error:
            continue
    return out


def wait_gone(mark: str, timeout_s: float = 10.0) -> list[psutil.Process]:
    """Wait until no marked process is left; returns what is still there after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = marked(mark)
        if not left:
            return []
        time.sleep(0.2)
    return marked(mark)


def kill_marked(mark: str) -> None:
    """SIGKILL whatever still carries ``mark``."""
    for process in marked(mark):
        try:
            process.kill()
        except psutil.Error:
            pass
