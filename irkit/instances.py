"""Instance types: the SageMaker catalog and the local CPU profiles (``local.cpu1..local.cpuN``).

A local profile is a set of CPUs the model server is pinned to. Its default price is an estimate:
the per-vCPU price of a reference SageMaker instance times the number of CPUs, labelled as such.
A spec's ``instance_prices`` overrides it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from irkit.errors import SpecError
from irkit.pricing import DEFAULT_REGION, PriceUnknownError, price
from irkit.spec.fields import LOCAL_INSTANCE_PATTERN, local_cpu_count, sagemaker_instance_types

# The local estimate is N x (this instance's $/hour / its vCPUs): a compute-optimised x86 type.
REFERENCE_INSTANCE_TYPE = "ml.c5.large"


@dataclass(frozen=True)
class InstanceType:
    """One SageMaker instance type. ``price_per_hour`` is on-demand, us-east-1 unless asked."""

    instance_type: str
    vcpus: int
    memory_gib: float
    gpus: int
    neuron_chips: int
    price_per_hour: float | None


@dataclass(frozen=True)
class LocalProfile:
    """A local instance type: the CPU ids the server is pinned to and its $/hour."""

    name: str
    cpus: tuple[int, ...]
    price_per_hour: float
    price_is_estimate: bool


@lru_cache(maxsize=1)
def _catalog_document() -> dict[str, Any]:
    return json.loads(resources.files("irkit").joinpath("data", "instances.json").read_text())


def catalog(region: str = DEFAULT_REGION) -> list[InstanceType]:
    """The SageMaker instance types irkit knows the size of, with their $/hour where known."""
    out = []
    for row in _catalog_document()["instances"]:
        try:
            cost: float | None = price(row["instance_type"], region)
        except PriceUnknownError:
            cost = None
        out.append(
            InstanceType(
                row["instance_type"],
                row["vcpus"],
                row["memory_gib"],
                row["gpus"],
                row["neuron_chips"],
                cost,
            )
        )
    return out


def catalog_source() -> dict[str, str]:
    doc = _catalog_document()
    return {"source": doc["source"], "date": doc["date"]}


def instance_info(instance_type: str, region: str = DEFAULT_REGION) -> InstanceType:
    """Catalog entry for one SageMaker instance type."""
    for item in catalog(region):
        if item.instance_type == instance_type:
            return item
    if instance_type in sagemaker_instance_types():
        raise SpecError(
            "instance_type",
            f"{instance_type!r} is a valid SageMaker type but not in irkit's catalog",
        )
    raise SpecError("instance_type", f"unknown instance type {instance_type!r}")


def local_instance_types() -> list[str]:
    """``local.cpu1`` .. ``local.cpuN`` where N is the CPUs this process may use."""
    return [f"local.cpu{n}" for n in range(1, local_cpu_count() + 1)]


def estimated_local_price(cpus: int, region: str = DEFAULT_REGION) -> float:
    """N x the per-vCPU $/hour of REFERENCE_INSTANCE_TYPE."""
    reference = instance_info(REFERENCE_INSTANCE_TYPE, region)
    if reference.price_per_hour is None:
        price(REFERENCE_INSTANCE_TYPE, region)  # raises PriceUnknownError naming the file and type
    assert reference.price_per_hour is not None
    return round(cpus * reference.price_per_hour / reference.vcpus, 6)


def local_profile(
    name: str, prices: Mapping[str, float] | None = None, region: str = DEFAULT_REGION
) -> LocalProfile:
    """The CPU set and price of ``local.cpuN``; ``prices`` (a spec's instance_prices) overrides the estimate."""
    match = LOCAL_INSTANCE_PATTERN.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise SpecError(
            "instance_type",
            f"{name!r} is not a local instance type; use local.cpu1..local.cpu{local_cpu_count()}",
        )
    count = int(match.group(1))
    available = _available_cpus()
    if count > len(available):
        raise SpecError(
            "instance_type", f"{name!r} asks for {count} CPUs but this machine has {len(available)}"
        )
    if prices and name in prices:
        return LocalProfile(name, available[:count], float(prices[name]), False)
    return LocalProfile(name, available[:count], estimated_local_price(count, region), True)


def _available_cpus() -> tuple[int, ...]:
    try:
        import os

        return tuple(sorted(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return tuple(range(local_cpu_count()))
