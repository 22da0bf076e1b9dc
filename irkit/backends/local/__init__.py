"""The local backend: serve the model on this machine and drive load at it with Locust.

``LocalBackend`` (backend.py) is the job lifecycle; runner.py tests one configuration,
plateau.py finds MaxInvocations, recommendation.py builds the Describe-shaped result.
Nothing here imports locust: load.py runs it in a subprocess.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalBackend"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from irkit.backends.local.backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module 'irkit.backends.local' has no attribute {name!r}")
