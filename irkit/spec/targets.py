"""``target_models``: the multi-model / multi-container part of a JobSpec (local load and endpoints).

File form (every key optional except one of ``models`` / ``containers``)::

    target_models:
      models: [resnet-a.tar.gz, resnet-b.tar.gz, resnet-c.tar.gz]
      distribution: zipf          # uniform | zipf | weights
      exponent: 1.2               # zipf only, > 0
      weights: [5, 3, 1]          # distribution weights only; one per model
      containers: [host1, host2]  # X-Amzn-SageMaker-Target-Container-Hostname values

A model name is the tarball's file name in the served directory; ``a`` is read as ``a.tar.gz``.
The popularity applies to ``models`` when given (containers are then picked uniformly), else to
``containers``. ``irkit.spec.popularity.Popularity`` turns this value into probabilities and a sampler.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from irkit.errors import SpecError
from irkit.spec.fields import as_choice, as_list, as_mapping, as_number, as_str, check_keys

FIELD = "target_models"
DISTRIBUTIONS = ("uniform", "zipf", "weights")
DEFAULT_EXPONENT = 1.2
MODEL_SUFFIX = ".tar.gz"
MAX_TARGETS = 1000
# A tarball file name (no folders) or a container hostname (SageMaker: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}).
MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]*")
HOSTNAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@dataclass(frozen=True)
class TargetModels:
    """Which models/containers a load test spreads its requests over, and how popular each is."""

    models: tuple[str, ...] = ()
    distribution: str = "uniform"
    exponent: float = DEFAULT_EXPONENT
    weights: tuple[float, ...] = ()
    containers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        checked = _check(self, FIELD)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_value(cls, path: str, value: Any) -> TargetModels:
        """From the file form (a mapping) or a TargetModels; errors name ``target_models.<key>``."""
        if isinstance(value, cls):
            return value
        data = dict(as_mapping(path, value))
        check_keys(path, data, tuple(f.name for f in fields(cls)))
        if "distribution" not in data and data.get("weights"):
            data["distribution"] = "weights"
        return cls(**{k: v for k, v in data.items() if v is not None})

    @property
    def ranked(self) -> tuple[str, ...]:
        """The names the popularity ranks: the models, or the containers when there are no models."""
        return self.models or self.containers

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.models:
            out["models"] = list(self.models)
        out["distribution"] = self.distribution
        if self.distribution == "zipf":
            out["exponent"] = self.exponent
        if self.weights:
            out["weights"] = list(self.weights)
        if self.containers:
            out["containers"] = list(self.containers)
        return out


def model_file_name(name: str) -> str:
    """``a`` -> ``a.tar.gz``; a name already ending in .tar.gz is kept."""
    return name if name.endswith(MODEL_SUFFIX) else name + MODEL_SUFFIX


def _names(path: str, value: Any, pattern: re.Pattern[str], what: str) -> list[str]:
    items = as_list(path, value, max_len=MAX_TARGETS)
    out: list[str] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        name = as_str(where, item)
        if not pattern.fullmatch(name):
            raise SpecError(where, f"{name!r} is not a valid {what}")
        out.append(name)
    return out


def _check(t: Any, path: str) -> dict[str, Any]:
    models = [model_file_name(m) for m in _names(f"{path}.models", t.models, MODEL_NAME_PATTERN,
                                                   "model file name (no folders)")]
    containers = _names(f"{path}.containers", t.containers, HOSTNAME_PATTERN, "container hostname")
    for key, names in (("models", models), ("containers", containers)):
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise SpecError(f"{path}.{key}[{i}]", f"{name!r} is listed twice")
            seen.add(name)
    if not models and not containers:
        raise SpecError(f"{path}.models", "give at least one model (or containers)")
    distribution = as_choice(f"{path}.distribution", t.distribution, DISTRIBUTIONS)
    exponent = as_number(f"{path}.exponent", t.exponent)
    if exponent <= 0:
        raise SpecError(f"{path}.exponent", f"must be > 0, got {exponent}")
    ranked = models or containers
    raw_weights = as_list(f"{path}.weights", t.weights)
    weights = tuple(float(as_number(f"{path}.weights[{i}]", w)) for i, w in enumerate(raw_weights))
    if distribution == "weights":
        if len(weights) != len(ranked):
            what = "models" if models else "containers"
            raise SpecError(f"{path}.weights", f"has {len(weights)} value(s) but there are "
                            f"{len(ranked)} {what}; give one weight per {what[:-1]}")
        if sum(weights) <= 0:
            raise SpecError(f"{path}.weights", "must not all be zero")
    elif weights:
        raise SpecError(f"{path}.weights", f"only apply with distribution: weights (got {distribution!r})")
    return {"models": tuple(models), "containers": tuple(containers), "distribution": distribution,
            "exponent": float(exponent), "weights": weights}


def coerce_target_models(value: Any) -> TargetModels | None:
    """JobSpec's coercion of the ``target_models`` key (None or an empty mapping stays None)."""
    if value is None or (isinstance(value, Mapping) and not value):
        return None
    return TargetModels.from_value(FIELD, value)
