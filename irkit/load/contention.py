"""Whether something else took the server's cores while it was measured (pure, over STEP dicts).

The generator checks itself (its own CPU, whether it shares the server's cores); this checks the
machine. Each STEP of a local job carries, from the server's usage sample over the level
(irkit.serve.process.ServerUsage): ``server_cpu`` (the server's own process tree, % of its cores),
``server_cores_busy`` (everything that ran on those cores, % of them), ``server_cores_steal`` (what
the hypervisor took from them) and ``server_cores`` (how many). What **others** used of the server's
cores is ``busy - server_cpu``, less the load generator's share when it runs on the same cores (that
one is reported on its own, in ``irkit.configs[i].generator``); steal counts as taken too.

A busy loop on the core of a local.cpu1 server halves its throughput while every window agrees:
nothing in the load curve says so. ``record`` reads the levels MaxInvocations rests on and
``warning`` says so when others took more than ``LIMIT_PERCENT`` of the server's cores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LIMIT_PERCENT = 15.0  # others taking more than this (% of the server's cores) make the figures suspect


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def step_others(step: Mapping[str, Any], generator_shares: bool | None) -> float | None:
    """% of the server's cores that other processes (not the server, not a sharing generator) used."""
    busy, own, cores = _number(step.get("server_cores_busy")), _number(step.get("server_cpu")), \
        _number(step.get("server_cores"))
    if busy is None or own is None:
        return None
    others = busy - own
    generator = _number(step.get("generator_cpu"))
    if generator_shares and generator is not None and cores:
        others -= generator / cores
    return max(0.0, others)


def record(steps: Sequence[Mapping[str, Any]], indices: Iterable[int],
           generator: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """``{"others_percent", "steal_percent"}`` at the steps ``indices`` (the worst of them), or None
    when no step there has the figures (an existing endpoint, an older server)."""
    shares = bool((generator or {}).get("shares_server_cores"))
    chosen = [steps[i] for i in sorted(set(indices)) if 0 <= i < len(steps)]
    others = [v for v in (step_others(s, shares) for s in chosen) if v is not None]
    steal = [v for v in (_number(s.get("server_cores_steal")) for s in chosen) if v is not None]
    if not others and not steal:
        return None
    return {"others_percent": round(max(others), 1) if others else None,
            "steal_percent": round(max(steal), 1) if steal else None}


def taken_percent(contention: Mapping[str, Any] | None) -> float:
    """Others' use plus steal, % of the server's cores (0 when not known)."""
    if not contention:
        return 0.0
    return sum(_number(contention.get(k)) or 0.0 for k in ("others_percent", "steal_percent"))


def warning(contention: Mapping[str, Any] | None) -> str | None:
    """A sentence when others took more than ``LIMIT_PERCENT`` of the server's cores, else None."""
    taken = taken_percent(contention)
    if taken <= LIMIT_PERCENT:
        return None
    steal = (_number((contention or {}).get("steal_percent")) or 0.0) > 1.0
    who = "other processes and the hypervisor" if steal else "other processes"
    return (f"{who} took {taken:.0f}% of the server's cores while it was measured: MaxInvocations reads "
            "lower than the instance can do; measure again on a quieter machine")
