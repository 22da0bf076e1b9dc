"""Backend registry. A backend runs a JobSpec and answers in DescribeInferenceRecommendationsJob's shape.

Backends are looked up by name and imported only when asked for, so the core never imports one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from irkit.errors import IrkitError

if TYPE_CHECKING:
    from irkit.spec import JobSpec


@dataclass(frozen=True)
class JobHandle:
    """What ``submit`` returns: enough to find the job again, also from another process."""

    backend: str
    job_name: str
    job_id: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a running job. ``steps`` follow ListInferenceRecommendationsJobSteps."""

    status: str
    failure_reason: str | None = None
    done: int = 0
    total: int = 0
    steps: tuple[dict[str, Any], ...] = ()
    message: str = ""


@runtime_checkable
class Backend(Protocol):
    name: str

    def submit(self, spec: JobSpec, **kwargs: Any) -> JobHandle: ...
    def status(self, handle: JobHandle) -> JobStatus: ...
    def wait(self, handle: JobHandle, *, poll_s: float | None = None, progress: bool = True) -> dict[str, Any]: ...
    def stop(self, handle: JobHandle) -> None: ...
    def results(self, handle: JobHandle) -> dict[str, Any]: ...


class UnknownBackendError(IrkitError):
    pass


# name -> "module:factory" (imported lazily) or a factory callable
_REGISTRY: dict[str, str | Callable[..., Backend]] = {
    "local": "irkit.backends.local:LocalBackend",
    "sagemaker": "irkit.backends.sagemaker:SageMakerBackend",
}


def register_backend(name: str, factory: str | Callable[..., Backend]) -> None:
    _REGISTRY[name] = factory


def available_backends() -> list[str]:
    return sorted(_REGISTRY)


def get_backend(name: str | Backend, **kwargs: Any) -> Backend:
    """Return a backend instance by name; a Backend instance is returned as is."""
    if not isinstance(name, str):
        return name
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownBackendError(
            f"unknown backend {name!r}; choose one of: {', '.join(available_backends())}"
        ) from None
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(**kwargs)
