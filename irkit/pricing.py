"""On-demand $/hour for SageMaker instance types, from ``irkit/data/pricing.json``.

The file says where its numbers come from and when (``source``, ``date``). ``irkit pricing refresh``
rebuilds it from the AWS Pricing API through the SageMaker backend into ``$IRKIT_HOME/pricing.json``,
which then wins over the shipped snapshot; ``IRKIT_PRICING_FILE`` points irkit at another copy.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError

ENV_PRICING_FILE = "IRKIT_PRICING_FILE"
DEFAULT_REGION = "us-east-1"


class PriceUnknownError(IrkitError, KeyError):
    """No price is known for an instance type in a region."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def pricing_path() -> Path:
    """The pricing file in use: ``$IRKIT_PRICING_FILE``, else a refreshed ``$IRKIT_HOME/pricing.json``,
    else the snapshot shipped in irkit/data."""
    env = os.environ.get(ENV_PRICING_FILE)
    if env:
        return Path(env)
    refreshed = refreshed_pricing_path()
    if refreshed.is_file():
        return refreshed
    return Path(str(resources.files("irkit").joinpath("data", "pricing.json")))


def refreshed_pricing_path() -> Path:
    """Where ``irkit pricing refresh`` writes by default (the shipped snapshot may be read-only)."""
    from irkit.paths import irkit_home

    return irkit_home() / "pricing.json"


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise IrkitError(f"cannot read pricing file {path}: {exc}") from exc


def pricing_table() -> dict[str, Any]:
    """The whole pricing document: ``source``, ``date``, ``currency``, ``regions``."""
    return _load(str(pricing_path()))


def price(instance_type: str, region: str = DEFAULT_REGION) -> float:
    """On-demand $/hour of ``instance_type`` in ``region``."""
    table = pricing_table()
    regions = table.get("regions", {})
    if region not in regions:
        raise PriceUnknownError(
            f"no prices for region {region!r} in {pricing_path()}; "
            f"known regions: {', '.join(sorted(regions))}; try `irkit pricing refresh`"
        )
    try:
        return float(regions[region][instance_type])
    except KeyError:
        raise PriceUnknownError(
            f"no price for instance type {instance_type!r} in {region} in {pricing_path()}; "
            f"try `irkit pricing refresh --instance-type {instance_type}`"
        ) from None


def write_pricing(document: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write a pricing document (as built by ``irkit pricing refresh``) and forget cached copies."""
    target = Path(path) if path else refreshed_pricing_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    _load.cache_clear()
    return target
