"""From a recommendation to a fleet: how many instances, what it costs a month, how it should scale.

Pure arithmetic over a Describe-shaped result (either backend); no backend import. For each
recommendation, with peak R req/s, headroom H and MaxInvocations M (req/min per instance):

- ``instances = ceil(R * 60 / (M * (1 - H)))`` (exact decimal arithmetic: 10 req/s on M=800 at
  H=0.25 is exactly 1 instance, not 2);
- ``cost_per_hour = instances * CostPerHour``, ``cost_per_month = cost_per_hour * hours_per_month``;
- ``meets_slo``: the latency at the SLO's percentile (ModelLatency, or the plateau step's pXX when
  the job measured another percentile) is at most the SLO;
- ``invocations_per_instance_target = M * (1 - H)``: the target-tracking value, per minute
  (SageMakerVariantInvocationsPerInstance);
- ``min_capacity``: enough for the quietest minute (``min_rps``, else the trace's), at least 1;
  ``max_capacity = instances``.

Where the result has ``irkit.configs[i].max_invocations_ci = [lo, hi]``, M is ``lo`` and the plan
says so. ``best`` is the cheapest plan per month that meets the SLO; when none does, ``best`` is
None and ``closest`` points at the plan with the lowest latency. The autoscaling policy of each plan
is in GetScalingConfigurationRecommendation's response shape (irkit/results/scaling.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from irkit.errors import SpecError
from irkit.results.frame import backend_of, config_label, load_result
from irkit.results.scaling import local_policy, policy_summary

DEFAULT_HEADROOM = 0.25
HOURS_PER_MONTH = 730.0
PERCENTILES = ("P50", "P90", "P95", "P99")


@dataclass(frozen=True)
class Slo:
    """A latency objective: ``percentile`` (P95...) at most ``value_ms`` milliseconds."""

    percentile: str
    value_ms: float

    @classmethod
    def parse(cls, text: Any, where: str = "--slo") -> Slo:
        """``"P95:200"``, ``"p99:150ms"``, ``"200"`` (P95), a ``(percentile, ms)`` pair or an Slo."""
        if isinstance(text, Slo):
            return text
        if isinstance(text, (tuple, list)) and len(text) == 2:
            percentile, value = str(text[0]), text[1]
        else:
            raw = str(text).strip()
            percentile, sep, value = raw.partition(":")
            if not sep:
                percentile, value = "P95", raw
        percentile = percentile.strip().upper()
        if percentile not in PERCENTILES:
            raise SpecError(where, f"percentile {percentile!r} must be one of {', '.join(PERCENTILES)} (e.g. P95:200)")
        try:
            ms = float(str(value).strip().lower().removesuffix("ms"))
        except ValueError:
            raise SpecError(where, f"{text!r} is not PERCENTILE:MILLISECONDS, e.g. P95:200") from None
        if not math.isfinite(ms) or ms <= 0:
            raise SpecError(where, f"the latency {value!r} must be more than 0 ms")
        return cls(percentile, ms)

    @property
    def label(self) -> str:
        return f"{self.percentile} <= {self.value_ms:g} ms"

    def to_dict(self) -> dict[str, Any]:
        return {"percentile": self.percentile, "value_in_milliseconds": self.value_ms}


@dataclass
class FleetPlan:
    """One recommendation turned into a fleet (the keys of ``irkit plan --json``'s ``plans[]``)."""

    recommendation_id: str
    instance_type: str
    environment: dict[str, str]
    config: str
    instances: int
    cost_per_hour: float
    cost_per_month: float
    meets_slo: bool
    invocations_per_instance_target: float
    min_capacity: int
    max_capacity: int
    instance_cost_per_hour: float
    max_invocations: float  # what the plan used (the interval's lower end when there is one)
    max_invocations_reported: float  # the result's MaxInvocations
    planned_on: str  # "MaxInvocations" or "max_invocations_ci lower bound"
    latency_ms: float | None
    latency_source: str  # "ModelLatency" or "plateau step p99_ms" ...
    utilization_at_peak: float  # peak load / (instances x MaxInvocations)
    cost_per_month_autoscaled: float | None = None  # with a trace: instances follow the trace's minutes
    scaling: dict[str, Any] = field(default_factory=dict)  # GetScalingConfigurationRecommendation's shape
    scaling_sagemaker: dict[str, Any] | None = None  # the service's own answer (SageMaker jobs)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["environment"] = dict(self.environment)
        return out


@dataclass
class FleetAnswer:
    """``plan_fleet``'s answer: the plans (cheapest per month first), ``best`` and the inputs."""

    plans: list[FleetPlan]
    best: int | None
    closest: int | None
    peak_rps: float
    slo: Slo
    headroom: float
    hours_per_month: float
    job_name: str
    backend: str
    message: str
    min_rps: float | None = None
    trace: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    loaded_trace: Any = None  # the irkit.spec.trace.Trace itself (charts draw it); not in to_dict()

    @property
    def chosen(self) -> FleetPlan | None:
        """The best plan, else the closest one (what ``--validate`` replays)."""
        index = self.best if self.best is not None else self.closest
        return None if index is None else self.plans[index]

    def to_frame(self) -> Any:
        """The plans as a pandas DataFrame, one row each (the ``plans[]`` keys but the policies)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in p.to_dict().items() if k not in ("scaling", "scaling_sagemaker")}
                             for p in self.plans])

    def to_dict(self) -> dict[str, Any]:
        return {"plans": [p.to_dict() for p in self.plans], "best": self.best, "closest": self.closest,
                "message": self.message, "job_name": self.job_name, "backend": self.backend,
                "peak_rps": self.peak_rps, "slo": self.slo.to_dict(), "headroom": self.headroom,
                "hours_per_month": self.hours_per_month, "min_rps": self.min_rps, "trace": self.trace,
                "notes": list(self.notes)}


def instances_needed(peak_rps: float, max_invocations: float, headroom: float) -> int:
    """``ceil(R * 60 / (M * (1 - H)))`` in exact decimal arithmetic (at least 1)."""
    need = Fraction(repr(float(peak_rps))) * 60 / (Fraction(repr(float(max_invocations))) *
                                                   (1 - Fraction(repr(float(headroom)))))
    return max(1, math.ceil(need))


def _check_inputs(peak_rps: Any, headroom: Any, hours_per_month: Any) -> None:
    if not isinstance(peak_rps, (int, float)) or not math.isfinite(peak_rps) or peak_rps <= 0:
        raise SpecError("--peak-rps", f"must be a number of requests per second more than 0, got {peak_rps!r}")
    if not isinstance(headroom, (int, float)) or not 0 <= headroom < 1:
        raise SpecError("--headroom", f"must be at least 0 and below 1 (0.25 keeps 25% spare), got {headroom!r}")
    if not isinstance(hours_per_month, (int, float)) or hours_per_month <= 0:
        raise SpecError("--hours-per-month", f"must be more than 0, got {hours_per_month!r}")


def _env(rec: Mapping[str, Any]) -> dict[str, str]:
    params = (rec.get("ModelConfiguration") or {}).get("EnvironmentParameters") or []
    return {str(p["Key"]): str(p["Value"]) for p in params}


def _config_extra(result: Mapping[str, Any], rec_id: str) -> Mapping[str, Any]:
    for config in (result.get("irkit") or {}).get("configs") or []:
        if config.get("recommendation_id") == rec_id:
            return config
    return {}


def job_percentile(result: Mapping[str, Any], spec: Mapping[str, Any] | None = None) -> str | None:
    """The percentile ModelLatency was read at: the job's threshold (P95 when the job says nothing)."""
    for item in (result.get("StoppingConditions") or {}).get("ModelLatencyThresholds") or []:
        if item.get("Percentile"):
            return str(item["Percentile"]).upper()
    for item in (spec or {}).get("model_latency_thresholds") or []:
        if item.get("percentile"):
            return str(item["percentile"]).upper()
    extra = result.get("irkit") or {}
    return str(extra["percentile"]).upper() if extra.get("percentile") else None


def _latency(result: Mapping[str, Any], rec: Mapping[str, Any], config: Mapping[str, Any], slo: Slo,
             percentile: str | None) -> tuple[float | None, str, list[str]]:
    latency = (rec.get("Metrics") or {}).get("ModelLatency")
    measured_at = percentile or "P95"
    if measured_at == slo.percentile:
        return (None if latency is None else float(latency)), "ModelLatency", []
    plateau = config.get("plateau_step")
    key = f"{slo.percentile.lower()}_ms"
    steps = [s for s in (result.get("irkit") or {}).get("steps") or []
             if s.get("config_id") == config.get("config_id") and s.get("step") == plateau]
    if steps and steps[0].get(key) is not None:
        return float(steps[0][key]), f"plateau step {key}", []
    return ((None if latency is None else float(latency)), "ModelLatency",
            [f"ModelLatency is the job's {measured_at}, not {slo.percentile}: compared as is"])


def _autoscaled_month(per_minute: list[float], target: float, min_capacity: int, price: float,
                      hours: float) -> float:
    """Monthly cost when the instance count follows the trace's minutes (target tracking, no lag)."""
    counts = [max(min_capacity, math.ceil(rpm / target - 1e-9)) for rpm in per_minute]
    return sum(counts) / len(counts) * price * hours


def plan_fleet(
    source: Any,
    *,
    peak_rps: float | None = None,
    slo: Any,
    headroom: float = DEFAULT_HEADROOM,
    hours_per_month: float = HOURS_PER_MONTH,
    trace: Any = None,
    min_rps: float | None = None,
    store: Any = None,
    spec: Mapping[str, Any] | None = None,
    sagemaker_scaling: Callable[..., dict[str, Any]] | None = None,
) -> FleetAnswer:
    """Plan a fleet for every recommendation of ``source`` (a result, RESULTS.json, or a job ref).

    ``trace``: an ``irkit.spec.trace.Trace`` or a trace file; it gives the peak when ``peak_rps``
    is None, the quiet minute for ``min_capacity``, and the autoscaled monthly cost.
    ``sagemaker_scaling(job_name, recommendation_id, min_invocations_per_minute,
    max_invocations_per_minute) -> response`` (or the SageMaker backend object itself): called for
    SageMaker results, through the backend's ``get_scaling_recommendation``; its answer goes
    beside irkit's own policy.
    """
    from irkit.spec.trace import read_trace

    if sagemaker_scaling is not None and hasattr(sagemaker_scaling, "get_scaling_recommendation"):
        sagemaker_scaling = _fetcher(sagemaker_scaling)  # a SageMakerBackend itself
    result = load_result(source, store=store)
    loaded = read_trace(trace) if trace is not None else None
    notes: list[str] = []
    if peak_rps is None:
        if loaded is None:
            raise SpecError("--peak-rps", "is required (or give --trace to plan for the trace's peak)")
        peak_rps = loaded.peak_rps
        notes.append(f"peak {peak_rps:g} req/s is the trace's busiest {loaded.bin_s:g} s")
    _check_inputs(peak_rps, headroom, hours_per_month)
    slo = Slo.parse(slo)
    per_minute = [rpm for rpm in loaded.per_minute()] if loaded is not None else None
    if loaded is not None:
        if loaded.peak_rps > peak_rps * (1 + 1e-9):
            notes.append(f"the trace peaks at {loaded.peak_rps:g} req/s, above the planned peak {peak_rps:g} req/s")
        if min_rps is None:
            min_rps = min(per_minute or [0.0]) / 60.0
    percentile = job_percentile(result, spec)
    backend = backend_of(result)
    job_name = str(result.get("JobName") or "job")
    plans: list[FleetPlan] = []
    fetch = sagemaker_scaling if backend == "sagemaker" else None
    for rec in result.get("InferenceRecommendations") or []:
        plan = _plan_one(result, rec, peak_rps=float(peak_rps), slo=slo, headroom=float(headroom),
                         hours=float(hours_per_month), min_rps=min_rps, percentile=percentile,
                         per_minute=per_minute, notes=notes)
        if plan is None:
            continue
        plan.scaling = local_policy(plan, job_name=job_name, peak_rps=float(peak_rps), min_rps=min_rps)
        if fetch is not None and not _attach_sagemaker(plan, fetch, job_name, peak_rps, min_rps, notes):
            fetch = None  # one failure (credentials, region, throttling) is enough to say so
        plans.append(plan)
    plans.sort(key=lambda p: (p.cost_per_month, p.latency_ms if p.latency_ms is not None else math.inf))
    best = next((i for i, p in enumerate(plans) if p.meets_slo), None)
    closest = best
    if best is None and plans:
        closest = min(range(len(plans)), key=lambda i: (plans[i].latency_ms if plans[i].latency_ms is not None
                                                        else math.inf, plans[i].cost_per_month))
    answer = FleetAnswer(plans, best, closest, float(peak_rps), slo, float(headroom), float(hours_per_month),
                         job_name, backend, "", min_rps, loaded.to_dict() if loaded is not None else None, notes)
    answer.message = _message(answer)
    answer.loaded_trace = loaded
    return answer


def _fetcher(backend: Any) -> Callable[..., dict[str, Any]]:
    def fetch(job_name: str, recommendation_id: str, min_ipm: int | None, max_ipm: int) -> dict[str, Any]:
        return dict(backend.get_scaling_recommendation(job_name, recommendation_id=recommendation_id,
                                                       min_invocations_per_minute=min_ipm,
                                                       max_invocations_per_minute=max_ipm))

    return fetch


def _plan_one(result: Mapping[str, Any], rec: Mapping[str, Any], *, peak_rps: float, slo: Slo, headroom: float,
              hours: float, min_rps: float | None, percentile: str | None, per_minute: list[float] | None,
              notes: list[str]) -> FleetPlan | None:
    metrics = rec.get("Metrics") or {}
    endpoint = rec.get("EndpointConfiguration") or {}
    rec_id = str(rec.get("RecommendationId") or "")
    instance_type = endpoint.get("InstanceType")
    if not instance_type:
        notes.append(f"{rec_id}: serverless, skipped (it scales itself; no instance count to plan)")
        return None
    env = _env(rec)
    label = config_label(str(instance_type), env)
    reported = float(metrics.get("MaxInvocations") or 0)
    price = metrics.get("CostPerHour")
    if reported <= 0 or price is None:
        notes.append(f"{label}: no MaxInvocations or CostPerHour, skipped")
        return None
    config = _config_extra(result, rec_id)
    used, planned_on, own_notes = reported, "MaxInvocations", []
    ci = config.get("max_invocations_ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and ci[0] is not None and float(ci[0]) > 0:
        used, planned_on = float(ci[0]), "max_invocations_ci lower bound"
        own_notes.append(f"planned on the 95% interval's lower end, {used:g} req/min "
                         f"(MaxInvocations {reported:g}, interval {float(ci[0]):g}-{float(ci[1]):g})")
    latency, source, latency_notes = _latency(result, rec, config, slo, percentile)
    own_notes += latency_notes
    instances = instances_needed(peak_rps, used, headroom)
    target = used * (1 - headroom)
    min_capacity = min(instances, max(1, math.ceil(((min_rps or 0.0) * 60) / target - 1e-9)))
    cost_hour = instances * float(price)
    plan = FleetPlan(
        recommendation_id=rec_id, instance_type=str(instance_type), environment=env, config=label,
        instances=instances, cost_per_hour=round(cost_hour, 6), cost_per_month=round(cost_hour * hours, 2),
        meets_slo=latency is not None and latency <= slo.value_ms,
        invocations_per_instance_target=round(target, 3), min_capacity=min_capacity, max_capacity=instances,
        instance_cost_per_hour=float(price), max_invocations=used, max_invocations_reported=reported,
        planned_on=planned_on, latency_ms=latency, latency_source=source,
        utilization_at_peak=round(peak_rps * 60 / (instances * used), 4), notes=own_notes)
    if per_minute:
        plan.cost_per_month_autoscaled = round(_autoscaled_month(per_minute, target, min_capacity, float(price),
                                                                 hours), 2)
    return plan


def _attach_sagemaker(plan: FleetPlan, fetch: Callable[..., dict[str, Any]], job_name: str, peak_rps: float,
                      min_rps: float | None, notes: list[str]) -> bool:
    """Put the service's policy beside irkit's; False (and a note) when the call failed."""
    from irkit.errors import IrkitError

    try:
        plan.scaling_sagemaker = fetch(job_name, plan.recommendation_id,
                                       int(round((min_rps or 0.0) * 60)) or None, int(math.ceil(peak_rps * 60)))
    except IrkitError as exc:
        notes.append(f"SageMaker's GetScalingConfigurationRecommendation was not shown: {exc}")
        return False
    ours, theirs = policy_summary(plan.scaling), policy_summary(plan.scaling_sagemaker or {})
    if theirs.get("target_value") is not None:
        plan.notes.append(f"SageMaker's policy: target {theirs['target_value']:g} invocations/instance/min, "
                          f"capacity {theirs.get('min_capacity')}-{theirs.get('max_capacity')} (irkit: "
                          f"{ours['target_value']:g}, {ours['min_capacity']}-{ours['max_capacity']})")
    return True


def trace_prediction(plan: FleetPlan, trace: Any, *, slo_ms: float | None = None, rate_scale: float = 1.0,
                     instances: int | None = None) -> dict[str, list[int]]:
    """Which trace minutes the plan expects to break, before anything runs (a fixed fleet, no scaling).

    ``over_capacity``: minutes whose rate exceeds ``instances x max_invocations``;
    ``queueing`` (with ``slo_ms``): minutes where the backlog of the bursts makes requests wait
    longer than the SLO, the minutes while it drains included; ``over_target``: minutes above
    the target-tracking value, eating the headroom (autoscaling would add instances).
    ``rate_scale``/``instances`` describe what is replayed (one instance's share:
    ``1 / plan.instances`` and 1).
    """
    from irkit.spec.trace import read_trace

    n = plan.instances if instances is None else instances
    loaded = read_trace(trace)
    out = {"over_capacity": loaded.minutes_above(n * plan.max_invocations, rate_scale),
           "over_target": loaded.minutes_above(n * plan.invocations_per_instance_target, rate_scale)}
    if slo_ms is not None:
        out["queueing"] = loaded.queue_minutes(n * plan.max_invocations / 60.0, slo_ms / 1000.0, rate_scale)
    return out


def _message(answer: FleetAnswer) -> str:
    if not answer.plans:
        return "no recommendation to plan: the job has no instance-based recommendation with MaxInvocations"
    need = f"{answer.peak_rps:g} req/s at {answer.slo.label} with {answer.headroom:.0%} headroom"
    if answer.best is not None:
        p = answer.plans[answer.best]
        return (f"best: {p.instances} x {p.config} for ${p.cost_per_month:,.2f}/month (${p.cost_per_hour:,.4f}/hour) "
                f"serves {need}; scale on {p.invocations_per_instance_target:g} invocations/instance/min, "
                f"{p.min_capacity}-{p.max_capacity} instances")
    p = answer.plans[answer.closest or 0]
    over = "no latency figure" if p.latency_ms is None else (
        f"{p.latency_ms:g} ms, {p.latency_ms - answer.slo.value_ms:g} ms over")
    return (f"no configuration meets {answer.slo.label}; the closest is {p.config} ({over}): "
            f"{p.instances} instance(s) for ${p.cost_per_month:,.2f}/month would serve the load but not the SLO")
