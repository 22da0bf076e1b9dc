"""How sure a number is: MaxInvocations' 95% interval, stability and the load generator's own cost.

The local backend's measurement engine (``irkit.load``) writes, per configuration in ``irkit.configs``:
``max_invocations_ci: [lo, hi]`` (req/min, 95%), ``stable`` (every load level settled), ``generator:
{cpu_percent, shares_server_cores, cores}`` and ``knee: {users, reason, best_users, confirmed,
latency_users}``; and per STEP ``windows``,
``stable``, ``generator_cpu`` and, in open loop, ``target_rps``, ``achieved_rps``, ``late``,
``dropped``. This module turns those into frame columns and text. A result without them (an older
local result, a SageMaker job) gives NaN/NA, and every view then shows the bare number as before.

CostPerInference = CostPerHour / (MaxInvocations x 60), so its interval is derived from the
MaxInvocations interval: ``[cph / (hi x 60), cph / (lo x 60)]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irkit.load.contention import LIMIT_PERCENT, taken_percent
from irkit.results.metrics import MAX_INVOCATIONS

if TYPE_CHECKING:
    import pandas as pd

# ---- to_frame() columns (one row per recommendation / benchmarked endpoint) -------------------
MAX_INVOCATIONS_LO = "max_invocations_lo"  # 95% interval of MaxInvocations, req/min
MAX_INVOCATIONS_HI = "max_invocations_hi"
COST_PER_INFERENCE_LO = "cost_per_inference_lo"  # derived from the MaxInvocations interval, $
COST_PER_INFERENCE_HI = "cost_per_inference_hi"
STABLE = "stable"  # True: every load level settled; False: one never did; NA: not known
GENERATOR_CPU = "generator_cpu"  # the load generator's CPU use, % of one core (steps: per level)
SHARES_SERVER_CORES = "shares_server_cores"  # True when the generator ran on the server's cores
OTHERS_CPU = "others_cpu"  # % of the server's cores other processes (and the hypervisor) took (load/contention.py)
KNEE_USERS = "knee_users"  # the knee: the lowest concurrency at the best's throughput (load/knee.py)
QUALITY_COLUMNS = (MAX_INVOCATIONS_LO, MAX_INVOCATIONS_HI, COST_PER_INFERENCE_LO, COST_PER_INFERENCE_HI,
                   STABLE, GENERATOR_CPU, SHARES_SERVER_CORES, KNEE_USERS, OTHERS_CPU)
# ---- steps_frame() columns (STABLE and GENERATOR_CPU as above) -------------------------------
ACHIEVED_RPS = "achieved_rps"  # open loop: the send rate reached, against target_rps
LATE = "late"  # open loop: sends that left after their scheduled time
DROPPED = "dropped"  # open loop: sends skipped because the generator fell behind
WINDOWS = "windows"  # how many measurement windows the level took
STEP_QUALITY_COLUMNS = (ACHIEVED_RPS, LATE, DROPPED, GENERATOR_CPU, STABLE, WINDOWS)

# ---- display columns (with_quality): what tables and charts show ------------------------------
CI_TEXT = "max_invocations_ci_text"  # "541-575", empty without an interval
VALUE_TEXT = "max_invocations_text"  # "558 [541-575]", or "558"
FLAGS = "flags"  # "unstable; generator on server cores (35% CPU)", empty when none
COST_PER_MILLION_LO = "cost_per_million_lo"  # the cost interval x 1e6, $
COST_PER_MILLION_HI = "cost_per_million_hi"
DISPLAY_COLUMNS = (CI_TEXT, VALUE_TEXT, FLAGS, COST_PER_MILLION_LO, COST_PER_MILLION_HI)

UNSTABLE_NOTE = "unstable: its load levels never settled (the last windows disagreed by more than 10%)"
SHARED_CORES_NOTE = "the load generator shared the server's cores"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, (bool, str)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _flag(value: Any) -> bool | None:
    """True/False, or None when unknown (None, NaN, pandas NA, text)."""
    if isinstance(value, bool):
        return value
    if value is None or isinstance(value, str):
        return None
    try:
        if value != value:  # NaN
            return None
        return bool(value)
    except (TypeError, ValueError):  # pandas NA
        return None


def interval(value: Any) -> tuple[float, float] | None:
    """``[lo, hi]`` as two floats (lo <= hi), or None when missing or malformed."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        return None
    lo, hi = _number(value[0]), _number(value[1])
    if lo is None or hi is None:
        return None
    return (min(lo, hi), max(lo, hi))


def cost_interval(cost_per_hour: Any, rpm_interval: tuple[float, float] | None) -> tuple[float, float] | None:
    """CostPerInference's interval from the MaxInvocations interval (req/min) and $/hour."""
    price = _number(cost_per_hour)
    if price is None or rpm_interval is None or rpm_interval[0] <= 0:
        return None
    lo, hi = rpm_interval
    return (price / (hi * 60), price / (lo * 60))


def config_quality(config: Mapping[str, Any], cost_per_hour: Any = None) -> dict[str, Any]:
    """The QUALITY_COLUMNS of one ``irkit.configs[i]`` entry (None where the entry lacks a field)."""
    ci = interval(config.get("max_invocations_ci"))
    cost = cost_interval(cost_per_hour, ci)
    generator: Mapping[str, Any] = config.get("generator") or {}
    knee: Mapping[str, Any] = config.get("knee") or {}
    generator = generator if isinstance(generator, Mapping) else {}
    knee = knee if isinstance(knee, Mapping) else {}
    return {
        MAX_INVOCATIONS_LO: ci[0] if ci else None,
        MAX_INVOCATIONS_HI: ci[1] if ci else None,
        COST_PER_INFERENCE_LO: cost[0] if cost else None,
        COST_PER_INFERENCE_HI: cost[1] if cost else None,
        STABLE: _flag(config.get("stable")),
        GENERATOR_CPU: _number(generator.get("cpu_percent")),
        SHARES_SERVER_CORES: _flag(generator.get("shares_server_cores")),
        KNEE_USERS: _number(knee.get("users")),
        OTHERS_CPU: _others(config.get("contention")),
    }


def _others(value: Any) -> float | None:
    return round(taken_percent(value), 1) if isinstance(value, Mapping) else None


def step_quality(step: Mapping[str, Any]) -> dict[str, Any]:
    """The STEP_QUALITY_COLUMNS of one ``irkit.steps[i]`` entry."""
    windows = step.get("windows")
    return {
        ACHIEVED_RPS: _number(step.get("achieved_rps")),
        LATE: _number(step.get("late")),
        DROPPED: _number(step.get("dropped")),
        GENERATOR_CPU: _number(step.get("generator_cpu")),
        STABLE: _flag(step.get("stable")),
        WINDOWS: float(len(windows)) if isinstance(windows, Sequence) and not isinstance(windows, str) else None,
    }


def endpoint_configs(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``irkit.configs`` entries behind ``EndpointPerformances``, in the same order, or [].

    An endpoint benchmark's config has no recommendation id; it pairs with a performance by
    ``endpoint_name`` when the engine writes one, else by order when the counts agree.
    """
    configs = (result.get("irkit") or {}).get("configs") or []
    performances = result.get("EndpointPerformances") or []
    candidates = [c for c in configs if not c.get("recommendation_id") and c.get("status", "COMPLETED") == "COMPLETED"]
    by_name = {c.get("endpoint_name"): c for c in candidates if c.get("endpoint_name")}
    if by_name:
        return [by_name.get((p.get("EndpointInfo") or {}).get("EndpointName"), {}) for p in performances]
    return list(candidates) if len(candidates) == len(performances) else []


# ---- text ------------------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    return _number(value) is None


def format_interval(lo: Any, hi: Any, fmt: str = ",.0f", dash: str = "-") -> str:
    """``541-575`` in ``fmt``; an empty string when either end is missing."""
    if _is_missing(lo) or _is_missing(hi):
        return ""
    return f"{format(float(lo), fmt)}{dash}{format(float(hi), fmt)}"


def with_interval(value: Any, lo: Any, hi: Any, fmt: str = ",.0f", missing: str = "-", dash: str = "-") -> str:
    """``558 [541-575]`` (the 95% interval in brackets), or just the value when there is none."""
    number = _number(value)
    if number is None:
        return missing
    span = format_interval(lo, hi, fmt, dash)
    return f"{format(number, fmt)} [{span}]" if span else format(number, fmt)


def flags(row: Mapping[str, Any]) -> list[str]:
    """Short warnings for a frame row: ``unstable``, ``generator on server cores (35% CPU)``."""
    out = []
    if _flag(row.get(STABLE)) is False:
        out.append("unstable")
    if _flag(row.get(SHARES_SERVER_CORES)):
        cpu = _number(row.get(GENERATOR_CPU))
        out.append("generator on server cores" + (f" ({cpu:.0f}% CPU)" if cpu is not None else ""))
    others = _number(row.get(OTHERS_CPU))
    if others is not None and others > LIMIT_PERCENT:
        out.append(f"others on server cores ({others:.0f}%)")
    return out


def _column(data: pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    return data[name] if name in data else pd.Series([None] * len(data), index=data.index, dtype="object")


def with_quality(data: pd.DataFrame, *, dash: str = "-") -> pd.DataFrame:
    """A copy of a frame with the DISPLAY_COLUMNS (a frame without the quality columns gets empty ones)."""
    out = data.copy()
    lo, hi = _column(out, MAX_INVOCATIONS_LO), _column(out, MAX_INVOCATIONS_HI)
    out[CI_TEXT] = [format_interval(a, b, dash=dash) for a, b in zip(lo, hi, strict=True)]
    out[VALUE_TEXT] = [with_interval(v, a, b, missing="", dash=dash) for v, a, b in
                       zip(_column(out, MAX_INVOCATIONS), lo, hi, strict=True)]
    rows = [{STABLE: s, SHARES_SERVER_CORES: g, GENERATOR_CPU: c, OTHERS_CPU: o} for s, g, c, o in
            zip(_column(out, STABLE), _column(out, SHARES_SERVER_CORES), _column(out, GENERATOR_CPU),
                _column(out, OTHERS_CPU), strict=True)]
    out[FLAGS] = ["; ".join(flags(row)) for row in rows]
    out[COST_PER_MILLION_LO] = _column(out, COST_PER_INFERENCE_LO).astype("float64") * 1e6
    out[COST_PER_MILLION_HI] = _column(out, COST_PER_INFERENCE_HI).astype("float64") * 1e6
    return out


def has_intervals(data: pd.DataFrame) -> bool:
    """Whether a ``with_quality`` frame shows any interval."""
    return CI_TEXT in data and bool((data[CI_TEXT] != "").any())


def has_flags(data: pd.DataFrame) -> bool:
    """Whether a ``with_quality`` frame has any flagged row."""
    return FLAGS in data and bool((data[FLAGS] != "").any())


def notes(result: Mapping[str, Any]) -> list[str]:
    """One sentence per configuration measured unstably, with the generator on the server's cores, or
    with other processes on them.

    A configuration whose own ``warnings`` already say it (the local engine writes them) gets no
    second sentence, so a report or summary that prints both says each thing once.
    """
    out = []
    for config in (result.get("irkit") or {}).get("configs") or []:
        quality = config_quality(config)
        name = config.get("config_id")
        said = " ".join(str(w) for w in config.get("warnings") or []).lower()
        if quality[STABLE] is False and not any(k in said for k in ("settle", "unstable")):
            out.append(f"{name}: {UNSTABLE_NOTE}; its interval is wide and its figures may move between runs.")
        if quality[SHARES_SERVER_CORES] and "server's cores" not in said:
            cpu = quality[GENERATOR_CPU]
            cores = (config.get("generator") or {}).get("cores")
            where = f" (cores {', '.join(map(str, cores))})" if cores else ""
            took = f", taking {cpu:.0f}% of a core" if cpu is not None else ""
            out.append(f"{name}: {SHARED_CORES_NOTE}{where}{took}; MaxInvocations is lower than the server "
                       "alone could do.")
        others = quality[OTHERS_CPU]
        if others is not None and others > LIMIT_PERCENT and "while it was measured" not in said:
            out.append(f"{name}: other processes took {others:.0f}% of the server's cores while it was "
                       "measured; MaxInvocations reads lower than the instance can do.")
    return out
