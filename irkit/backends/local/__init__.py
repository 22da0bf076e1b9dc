"""The local backend: serve the model on this machine and drive load at it with Locust.

``LocalBackend`` (backend.py) submits, polls, stops and resumes jobs; job.py is a job's run in its
background process (an ``irkit.backends.lifecycle.JobLifecycle``); runner.py tests one configuration
(``irkit.serve.process.ServerProcess`` + ``irkit.load.drive.drive_load``). Nothing here imports locust:
``irkit.load.generator`` runs it in a subprocess.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalBackend"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from irkit.backends.local.backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module 'irkit.backends.local' has no attribute {name!r}")
