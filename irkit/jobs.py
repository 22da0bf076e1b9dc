"""Submit, status, wait, stop and results: the same five calls for every backend."""

from __future__ import annotations

from typing import Any

from irkit.backends import Backend, JobHandle, JobStatus, get_backend
from irkit.spec import JobSpec, load_spec


def _spec(spec: JobSpec | dict[str, Any] | str) -> JobSpec:
    return spec if isinstance(spec, JobSpec) else load_spec(spec)


def submit(spec: JobSpec | dict[str, Any] | str, backend: str | Backend = "local", **kwargs: Any) -> JobHandle:
    """Start a right-size job and return at once with its handle."""
    return get_backend(backend).submit(_spec(spec), **kwargs)


def status(handle: JobHandle) -> JobStatus:
    return get_backend(handle.backend).status(handle)


def wait(handle: JobHandle, *, poll_s: float | None = None, progress: bool = True) -> dict[str, Any]:
    return get_backend(handle.backend).wait(handle, poll_s=poll_s, progress=progress)


def stop(handle: JobHandle) -> None:
    get_backend(handle.backend).stop(handle)


def results(handle: JobHandle) -> dict[str, Any]:
    return get_backend(handle.backend).results(handle)


def right_size(
    spec: JobSpec | dict[str, Any] | str, backend: str | Backend = "local", **kwargs: Any
) -> dict[str, Any]:
    """Submit, wait and return the result: the blocking convenience over the three steps."""
    handle = submit(spec, backend, **kwargs)
    return wait(handle)


fetch_results = results  # ``irkit.fetch_results(handle)``: ``irkit.results`` is the results package
