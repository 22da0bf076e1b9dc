"""The small frozen values a JobSpec is made of: phases, stairs, thresholds, ranges, configurations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from irkit.errors import SpecError
from irkit.spec.fields import (
    ENV_NAME_PATTERN,
    FRAMEWORKS,  # noqa: F401 - re-exported for callers building menus
    MAX_ENV_RANGES,
    MAX_ENV_VALUES,
    MAX_KNEE_USERS,
    MAX_USERS_PER_STEP,
    PERCENTILES,
    SERVERLESS_MEMORY_MB,
    as_choice,
    as_env_value,
    as_int,
    as_list,
    as_mapping,
    as_number,
    check_instance_type,
    check_keys,
)


def _keys(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Phase:
    """One IR traffic phase: start with ``initial_number_of_users``, add ``spawn_rate`` users per MINUTE.

    Locust's own spawn rate is per second; the local load shape converts.
    """

    duration_in_seconds: int
    initial_number_of_users: int
    spawn_rate: int

    def __post_init__(self) -> None:
        _check_phase(self, "phases[]")

    @classmethod
    def from_value(cls, path: str, value: Any) -> Phase:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, value)
        check_keys(path, data, _keys(cls), _keys(cls))
        return cls(**_check_phase(_Raw(data), path))

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Stairs:
    """IR STAIRS traffic: ``number_of_steps`` steps of ``duration_in_seconds`` total, +users_per_step each."""

    duration_in_seconds: int
    number_of_steps: int
    users_per_step: int

    def __post_init__(self) -> None:
        _check_stairs(self, "stairs")

    @classmethod
    def from_value(cls, path: str, value: Any) -> Stairs:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, value)
        check_keys(path, data, _keys(cls), _keys(cls))
        return cls(**_check_stairs(_Raw(data), path))

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class LatencyThreshold:
    """The SLO that ends a load test: ``percentile`` (P95 or P99) latency in milliseconds."""

    percentile: str
    value_in_milliseconds: int

    def __post_init__(self) -> None:
        _check_threshold(self, "model_latency_thresholds[0]")

    @classmethod
    def from_value(cls, path: str, value: Any) -> LatencyThreshold:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, value)
        check_keys(path, data, _keys(cls), _keys(cls))
        return cls(**_check_threshold(_Raw(data), path))

    def to_dict(self) -> dict[str, Any]:
        return {"percentile": self.percentile, "value_in_milliseconds": self.value_in_milliseconds}


@dataclass(frozen=True)
class HyperparameterRange:
    """Instance types to try, each with every combination of the env values in ``environment``.

    File form: ``{instance_types: [ml.c5.xlarge], OMP_NUM_THREADS: [1, 2]}``.
    """

    instance_types: tuple[str, ...]
    environment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked = _check_range(self.instance_types, self.environment, "hyperparameter_ranges[]")
        object.__setattr__(self, "instance_types", checked[0])
        object.__setattr__(self, "environment", MappingProxyType(checked[1]))

    @classmethod
    def from_value(cls, path: str, value: Any) -> HyperparameterRange:
        if isinstance(value, cls):
            return value
        data = dict(as_mapping(path, value))
        if "instance_types" not in data:
            raise SpecError(f"{path}.instance_types", "is required")
        instance_types = data.pop("instance_types")
        checked = _check_range(instance_types, data, path)
        return cls(instance_types=checked[0], environment=checked[1])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instance_types": list(self.instance_types)}
        out.update({name: list(values) for name, values in self.environment.items()})
        return out

    def __hash__(self) -> int:
        return hash((self.instance_types, tuple(self.environment.items())))


@dataclass(frozen=True)
class ServerlessConfig:
    """A serverless endpoint configuration to benchmark (SageMaker only)."""

    memory_size_in_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None

    @classmethod
    def from_value(cls, path: str, value: Any) -> ServerlessConfig:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, value)
        check_keys(path, data, _keys(cls), ("memory_size_in_mb", "max_concurrency"))
        memory = as_int(f"{path}.memory_size_in_mb", data["memory_size_in_mb"])
        if memory not in SERVERLESS_MEMORY_MB:
            raise SpecError(
                f"{path}.memory_size_in_mb", f"must be one of {SERVERLESS_MEMORY_MB}, got {memory}"
            )
        concurrency = as_int(f"{path}.max_concurrency", data["max_concurrency"], 1, 200)
        provisioned = data.get("provisioned_concurrency")
        if provisioned is not None:
            provisioned = as_int(f"{path}.provisioned_concurrency", provisioned, 1, concurrency)
        return cls(memory, concurrency, provisioned)

    def to_dict(self) -> dict[str, int]:
        out = {"memory_size_in_mb": self.memory_size_in_mb, "max_concurrency": self.max_concurrency}
        if self.provisioned_concurrency is not None:
            out["provisioned_concurrency"] = self.provisioned_concurrency
        return out


@dataclass(frozen=True)
class OpenLoop:
    """Local-only: Poisson arrivals at each rate in turn, ``duration_in_seconds`` per rate."""

    rates_per_second: tuple[float, ...]
    duration_in_seconds: float

    @classmethod
    def from_value(cls, path: str, value: Any) -> OpenLoop:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, value)
        check_keys(path, data, _keys(cls), _keys(cls))
        rates = as_list(f"{path}.rates_per_second", data["rates_per_second"], min_len=1)
        checked = tuple(
            as_number(f"{path}.rates_per_second[{i}]", r, minimum=0.001)
            for i, r in enumerate(rates)
        )
        duration = as_number(
            f"{path}.duration_in_seconds", data["duration_in_seconds"], minimum=0.1
        )
        return cls(checked, duration)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rates_per_second": list(self.rates_per_second),
            "duration_in_seconds": self.duration_in_seconds,
        }


@dataclass(frozen=True)
class KneeSearch:
    """Local-only: search the concurrency where throughput levels off instead of running fixed traffic.

    Every key is optional; an unset one takes the load engine's default (irkit.load.knee_search):
    ``max_users`` 64, ``window_seconds`` 2, ``stability`` 0.10, ``min_requests`` 10,
    ``max_level_seconds`` 20.
    """

    max_users: int | None = None
    window_seconds: float | None = None
    stability: float | None = None
    min_requests: int | None = None
    max_level_seconds: float | None = None

    @classmethod
    def from_value(cls, path: str, value: Any) -> KneeSearch:
        if isinstance(value, cls):
            return value
        data = as_mapping(path, {} if value is True else value)
        check_keys(path, data, _keys(cls), ())
        checked: dict[str, Any] = {}
        if data.get("max_users") is not None:
            checked["max_users"] = as_int(f"{path}.max_users", data["max_users"], 1, MAX_KNEE_USERS)
        if data.get("min_requests") is not None:
            checked["min_requests"] = as_int(f"{path}.min_requests", data["min_requests"], 1)
        if data.get("window_seconds") is not None:
            checked["window_seconds"] = as_number(f"{path}.window_seconds", data["window_seconds"], minimum=0.5)
        if data.get("stability") is not None:
            stability = as_number(f"{path}.stability", data["stability"], minimum=0.001)
            if stability >= 1:
                raise SpecError(f"{path}.stability", f"is a fraction (0.10 = 10%), got {stability}")
            checked["stability"] = stability
        if data.get("max_level_seconds") is not None:
            cap = as_number(f"{path}.max_level_seconds", data["max_level_seconds"], minimum=1.0)
            window = checked.get("window_seconds", 2.0)
            if cap < 3 * window:
                raise SpecError(f"{path}.max_level_seconds", f"{cap:g} s leaves no room for the 3 windows "
                                                             f"of {window:g} s a level needs to settle")
            checked["max_level_seconds"] = cap
        return cls(**checked)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class TrafficPattern:
    """The load shape: PHASES (``phases``) or STAIRS (``stairs``), as in IR's TrafficPattern."""

    traffic_type: str
    phases: tuple[Phase, ...] = ()
    stairs: Stairs | None = None


@dataclass(frozen=True)
class Configuration:
    """One thing to load test: an instance type with one env combination (or a serverless config)."""

    config_id: str
    instance_type: str
    environment: Mapping[str, str] = field(default_factory=dict)
    serverless: ServerlessConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))

    def __hash__(self) -> int:
        return hash((self.config_id, self.instance_type, tuple(self.environment.items())))


def config_id_for(instance_type: str, environment: Mapping[str, str]) -> str:
    """A readable, file-name-safe id: ``ml.c5.xlarge`` or ``local.cpu2+OMP_NUM_THREADS=2``. Variables are
    in name order, so the id does not depend on the order a dict kept (the store sorts JSON keys)."""
    return "+".join([instance_type, *(f"{k}={environment[k]}" for k in sorted(environment))])


def serverless_config_id(memory_size_in_mb: int, max_concurrency: int) -> str:
    """The id of a serverless configuration: ``serverless-2048MB-c5`` (the results frame uses it too)."""
    return f"serverless-{memory_size_in_mb}MB-c{max_concurrency}"


class _Raw:
    """Attribute access over a mapping, so one check serves both dicts and dataclasses."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.__dict__.update(data)


def _check_phase(p: Any, path: str) -> dict[str, Any]:
    return {
        "duration_in_seconds": as_int(
            f"{path}.duration_in_seconds", p.duration_in_seconds, minimum=1
        ),
        "initial_number_of_users": as_int(
            f"{path}.initial_number_of_users", p.initial_number_of_users, minimum=1
        ),
        "spawn_rate": as_int(f"{path}.spawn_rate", p.spawn_rate, minimum=0),
    }


def _check_stairs(s: Any, path: str) -> dict[str, Any]:
    return {
        "duration_in_seconds": as_int(
            f"{path}.duration_in_seconds", s.duration_in_seconds, minimum=1
        ),
        "number_of_steps": as_int(f"{path}.number_of_steps", s.number_of_steps, minimum=1),
        "users_per_step": as_int(
            f"{path}.users_per_step", s.users_per_step, minimum=1, maximum=MAX_USERS_PER_STEP
        ),
    }


def _check_threshold(t: Any, path: str) -> dict[str, Any]:
    return {
        "percentile": as_choice(f"{path}.percentile", t.percentile, PERCENTILES),
        "value_in_milliseconds": as_int(
            f"{path}.value_in_milliseconds", t.value_in_milliseconds, minimum=1
        ),
    }


def _check_range(
    instance_types: Any, environment: Any, path: str
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    types = as_list(f"{path}.instance_types", instance_types, min_len=1)
    checked_types = tuple(
        check_instance_type(f"{path}.instance_types[{i}]", t) for i, t in enumerate(types)
    )
    env = as_mapping(path, environment)
    if len(env) > MAX_ENV_RANGES:
        raise SpecError(path, f"allows at most {MAX_ENV_RANGES} environment ranges, got {len(env)}")
    checked_env: dict[str, tuple[str, ...]] = {}
    for name, values in env.items():
        where = f"{path}.{name}"
        if not isinstance(name, str) or not ENV_NAME_PATTERN.fullmatch(name):
            raise SpecError(where, "is not a valid environment variable name")
        items = as_list(where, values, min_len=1, max_len=MAX_ENV_VALUES)
        checked_env[name] = tuple(as_env_value(f"{where}[{i}]", v) for i, v in enumerate(items))
    return checked_types, checked_env
