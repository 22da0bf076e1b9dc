"""``irkit plan RESULTS.json|JOB --peak-rps R --slo P95:MS``: instances, monthly cost, autoscaling, replay.

Parse, call ``irkit.results.plan.plan_fleet`` (and for SageMaker jobs the backend's
GetScalingConfigurationRecommendation), print a table or JSON, optionally replay a trace against
the chosen plan (``--validate``, ``irkit.backends.local.validate``) and write the report
(``--report DIR``). Exit 0 when a plan meets the SLO (and the replay held), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from irkit.errors import EXIT_FAILURE, EXIT_OK, BackendError, SpecError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan", help="from recommendations to a fleet: instances, $/month, autoscaling, trace replay",
        description="For each recommendation: instances = ceil(R*60 / (MaxInvocations*(1-H))), cost per hour "
                    "and month, whether it meets the SLO, and a target-tracking autoscaling policy "
                    "(GetScalingConfigurationRecommendation's shape; SageMaker jobs also get the service's). "
                    "Best = the cheapest plan that meets the SLO. Exit 1 when none does or --validate "
                    "saw the SLO break. See docs/plan.md.")
    parser.add_argument("source", help="RESULTS.json, or a job id/name/'latest' of the history")
    parser.add_argument("--peak-rps", type=float, metavar="R",
                        help="peak requests per second the fleet must serve (default with --trace: its peak)")
    parser.add_argument("--slo", required=True, metavar="P95:MS", help="latency objective, e.g. P95:200 or P99:500")
    parser.add_argument("--headroom", type=float, default=0.25, metavar="H",
                        help="share of each instance's MaxInvocations kept spare, 0-1 (default 0.25)")
    parser.add_argument("--trace", metavar="FILE", help="traffic trace CSV (or CloudWatch JSON): per-second or "
                        "per-minute counts, or request timestamps; gives min capacity and the autoscaled cost")
    parser.add_argument("--hours-per-month", type=float, default=730.0, help="hours billed per month (default 730)")
    parser.add_argument("--min-rps", type=float, help="quietest load, for the minimum capacity (default: the "
                        "trace's quietest minute, else 1 instance)")
    parser.add_argument("--json", action="store_true", help='print {"plans": [...], "best": INDEX, ...}')
    parser.add_argument("--db", metavar="PATH", help="job store file (default: $IRKIT_HOME/irkit.db)")
    parser.add_argument("--region", help="sagemaker: AWS region for GetScalingConfigurationRecommendation")
    parser.add_argument("--no-sagemaker-scaling", action="store_true",
                        help="sagemaker: do not call GetScalingConfigurationRecommendation")
    parser.add_argument("--report", metavar="DIR", help="also write report.html (with 'Plan your fleet') there")
    replay = parser.add_argument_group("trace replay (--validate, docs/plan.md)")
    replay.add_argument("--validate", action="store_true",
                        help="replay --trace against the chosen plan: N local replicas behind a round-robin router "
                             "when the cores allow, else one instance with its 1/N share")
    replay.add_argument("--model", help="model to serve for the replay (default: the local job's model)")
    replay.add_argument("--payload", help="payload.tar.gz or file to send (default: the local job's payload)")
    replay.add_argument("--endpoint-url", help="replay one instance's share against this running server instead")
    replay.add_argument("--time-scale", type=float, metavar="K",
                        help="play the trace K times faster at the same rates (default: fit it in 300 s)")
    replay.add_argument("--full-scale", action=argparse.BooleanOptionalAction, default=None,
                        help="force (or refuse) N replicas at full scale; default: when the cores allow")
    replay.add_argument("--workers", type=int, default=0, help="Locust worker processes for the replay")
    parser.set_defaults(func=run)


def _store(args: argparse.Namespace) -> Any:
    from irkit.store import Store

    return Store(args.db) if args.db else Store()


def _job(source: str, store: Any) -> dict[str, Any] | None:
    """The stored job behind a job ref (None for a result file)."""
    from pathlib import Path

    if source.lower().endswith(".json") or Path(source).is_file():
        return None
    return store.get_job(source)


def _sagemaker_fetch(args: argparse.Namespace, store: Any) -> Any:
    from irkit.backends import get_backend

    backend: Any = None

    def fetch(job_name: str, recommendation_id: str, min_ipm: int | None, max_ipm: int) -> dict[str, Any]:
        nonlocal backend
        try:
            if backend is None:
                backend = get_backend("sagemaker", region=args.region, store=store)
            return dict(backend.get_scaling_recommendation(
                job_name, recommendation_id=recommendation_id, min_invocations_per_minute=min_ipm,
                max_invocations_per_minute=max_ipm))
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - no credentials/region: a note, not a crash
            raise BackendError(f"{type(exc).__name__}: {exc}") from None

    return fetch


def run(args: argparse.Namespace) -> int:
    from irkit.results.frame import load_result
    from irkit.results.plan import plan_fleet

    if args.validate and not args.trace:
        raise SpecError("--validate", "needs --trace FILE to replay")
    store = _store(args)
    job = _job(args.source, store)
    result = load_result(args.source, store=store)
    fetch = None if args.no_sagemaker_scaling else _sagemaker_fetch(args, store)
    answer = plan_fleet(result, peak_rps=args.peak_rps, slo=args.slo, headroom=args.headroom,
                        hours_per_month=args.hours_per_month, trace=args.trace, min_rps=args.min_rps,
                        spec=(job or {}).get("spec"), sagemaker_scaling=fetch)
    validation = None
    if args.validate:
        from irkit.backends.local.validate import replay_inputs, validate_plan

        model, payload = replay_inputs(result, job)
        validation = validate_plan(answer, args.trace, model=args.model or model, payload=args.payload or payload,
                                   endpoint_url=args.endpoint_url, time_scale=args.time_scale,
                                   full_scale=args.full_scale, workers=args.workers,
                                   prices=((job or {}).get("spec") or {}).get("instance_prices"))
    if args.report:
        from irkit.results.report import write_report

        path = write_report(result, args.report, plan=answer, validation=validation)
        print(f"report: {path}", file=sys.stderr)
    from irkit.load.replay import job_replays

    replays = job_replays(result, answer.slo.percentile)  # a traffic_type: TRACE job's own replays
    if args.json:
        out = answer.to_dict()
        if validation is not None:
            out["validation"] = validation.to_dict()
        if replays:
            out["job_replays"] = {config: {"held": r.held, "violated_minutes": r.violated_minutes,
                                           "slo_ms": r.slo_ms, "totals": r.totals} for config, r in replays.items()}
        print(json.dumps(out, indent=2))
    else:
        print(format_answer(answer))
        for config, replay in replays.items():
            print(f"the job replayed a trace on {config}:\n{replay.text()}")
        if validation is not None:
            print(validation.text())
    held = validation is None or validation.held
    return EXIT_OK if answer.best is not None and held else EXIT_FAILURE


def format_answer(answer: Any) -> str:
    """The plans as a table, the best (or closest) one, both policies, and the notes."""
    from irkit.results.frame import short_label
    from irkit.results.scaling import policy_summary

    lines = [f"{answer.job_name} ({answer.backend}): peak {answer.peak_rps:g} req/s, {answer.slo.label}, "
             f"headroom {answer.headroom:.0%}, {answer.hours_per_month:g} h/month"]
    autoscaled = any(p.cost_per_month_autoscaled is not None for p in answer.plans)
    header = (f"{'':2} {'configuration':<50} {'inst':>4} {'$/hour':>9} {'$/month':>10} {'latency':>8} {'SLO':>4} "
              f"{'target/inst/min':>15} {'capacity':>8}" + (f" {'autoscaled $/mo':>15}" if autoscaled else ""))
    lines.append(header)
    for i, p in enumerate(answer.plans):
        mark = "*" if i == answer.best else ("~" if i == answer.closest else "")
        latency = "-" if p.latency_ms is None else f"{p.latency_ms:g}"
        row = (f"{mark:2} {short_label(p.config)[:50]:<50} {p.instances:>4} {p.cost_per_hour:>9.4f} {p.cost_per_month:>10,.2f} "
               f"{latency:>8} {'yes' if p.meets_slo else 'no':>4} {p.invocations_per_instance_target:>15g} "
               f"{f'{p.min_capacity}-{p.max_capacity}':>8}")
        if autoscaled:
            row += f" {p.cost_per_month_autoscaled:>15,.2f}" if p.cost_per_month_autoscaled is not None else ""
        lines.append(row)
    lines.append(answer.message)
    chosen = answer.chosen
    if chosen is not None:
        for name, policy in (("irkit", chosen.scaling), ("SageMaker", chosen.scaling_sagemaker)):
            if not policy:
                continue
            s = policy_summary(policy)
            lines.append(f"scaling ({name}): target {s['target_value']:g} {s['metric']}, capacity "
                         f"{s['min_capacity']}-{s['max_capacity']}, cooldown in {s['scale_in_cooldown']} s / "
                         f"out {s['scale_out_cooldown']} s")
        lines += [f"note: {chosen.config}: {n}" for n in chosen.notes]
    lines += [f"note: {n}" for n in answer.notes]
    return "\n".join(lines)
