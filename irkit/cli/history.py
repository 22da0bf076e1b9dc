"""``irkit jobs list|show|compare|import`` and ``irkit report``: the job history and its reports."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="list, show, compare and import jobs of the history")
    jobs.add_argument("--db", metavar="PATH", help="job store file (default: $IRKIT_HOME/irkit.db)")
    actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="every job, newest first, with its recommendation "
                                              "(ranked with the default importances)")
    listing.add_argument("--name", help="only jobs of this job name")
    listing.add_argument("--backend", choices=["local", "sagemaker"], help="only jobs of this backend")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=list_command)

    show = actions.add_parser("show", help="one job's status and ranked recommendations")
    show.add_argument("job", help="job id, job name (its newest run) or 'latest'")
    show.add_argument("--json", action="store_true", help="print the stored result (Describe shape)")
    _add_importance(show)
    _add_fidelity_floors(show)
    show.set_defaults(func=show_command)

    comp = actions.add_parser("compare", help="signed change in %% per configuration, A (baseline) -> B")
    comp.add_argument("baseline", help="job id, name or 'latest' (or a result .json)")
    comp.add_argument("current", help="job id, name or 'latest' (or a result .json)")
    comp.add_argument("--fail-on-regression", type=float, metavar="PCT",
                      help="exit 3 when throughput dropped or latency rose by more than PCT %%")
    comp.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    comp.set_defaults(func=compare_command)

    imp = actions.add_parser("import", help="record a finished job: a saved Describe JSON or a SageMaker job name")
    imp.add_argument("source", help="RESULTS.json, or the name of a SageMaker job to fetch")
    imp.add_argument("--region", help="AWS region for fetching a SageMaker job")
    imp.set_defaults(func=import_command)

    report = sub.add_parser("report", help="write a self-contained report.html and chart PNGs")
    report.add_argument("source", help="RESULTS.json, or a job id/name/'latest' of the history")
    report.add_argument("--out", required=True, metavar="DIR", help="folder to write report.html and PNGs into")
    report.add_argument("--db", metavar="PATH", help="job store file (default: $IRKIT_HOME/irkit.db)")
    report.add_argument("--no-png", action="store_true", help="skip the PNG files")
    report.add_argument("--latency-ms", type=float, help="keep only configurations at most this latency")
    report.add_argument("--min-rpm", type=float, help="keep only configurations serving at least this many req/min")
    _add_importance(report)
    _add_fidelity_floors(report)
    report.set_defaults(func=report_command)


def _add_importance(parser: argparse.ArgumentParser) -> None:
    from irkit.results.ranking import DEFAULT_IMPORTANCES, GOALS, IMPORTANCE_LEVELS

    for goal in GOALS:
        parser.add_argument(f"--{goal}", type=int, choices=IMPORTANCE_LEVELS, default=DEFAULT_IMPORTANCES[goal],
                            help=f"importance of {goal}, 1-5 (default {DEFAULT_IMPORTANCES[goal]})")


def _add_fidelity_floors(parser: argparse.ArgumentParser) -> None:
    """--min-top1-agreement / --min-top5-agreement / --min-cosine: ranking.recommend's fidelity floors."""
    from irkit.results.fidelity import FLOORS

    for name in FLOORS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, metavar="SHARE",
                            help="rank only configurations whose answers agree with TensorFlow's at least this "
                                 "much (0-1; the runtime axis, docs/runtimes.md)")


def _floors(args: argparse.Namespace) -> dict[str, float]:
    from irkit.results.fidelity import FLOORS

    return {name: getattr(args, name) for name in FLOORS if getattr(args, name, None) is not None}


def _store(args: argparse.Namespace) -> Any:
    from irkit.store import Store

    return Store(args.db) if getattr(args, "db", None) else Store()


def _refreshed(store: Any) -> Any:
    """The store, after local jobs whose runner process died are marked FAILED/STOPPED (as ``status`` does)."""
    from irkit.backends.local.backend import refresh_jobs

    refresh_jobs(store)
    return store


def _resume_hint(store: Any, job: dict[str, Any]) -> str | None:
    """How to continue a local job that ended before all its configs did."""
    from irkit import states

    if job["backend"] != "local" or job["status"] not in (states.FAILED, states.STOPPED):
        return None
    if all(states.is_terminal(c["status"]) for c in store.configs(job["job_id"])):
        return None
    return f"`irkit recommend --resume {job['job_id']}` continues it"


def _cell(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def list_command(args: argparse.Namespace) -> int:
    from irkit.results import (
        COST_PER_MILLION,
        MAX_INVOCATIONS,
        MODEL_LATENCY_MS,
        history,
        metric,
        short_label,
    )
    from irkit.results.ranking import importance_text

    frame = history.list_jobs(_refreshed(_store(args)), name=args.name, backend=args.backend)
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    if frame.empty:
        print("no jobs in the history yet (run `irkit recommend` or `irkit jobs import RESULTS.json`)")
        return 0
    tput, lat, cpm = (metric(c) for c in (MAX_INVOCATIONS, MODEL_LATENCY_MS, COST_PER_MILLION))
    print(f"{'job id':<32} {'backend':<9} {'status':<11} {'created':<25} {'recommended configuration':<40} "
          f"{tput.header:>8} {lat.header:>10} {cpm.header:>9}")
    for row in frame.to_dict("records"):
        print(f"{row['job_id'][:32]:<32} {row['backend']:<9} {row['status']:<11} {_cell(row['created']):<25} "
              f"{short_label(_cell(row['best_config']))[:40]:<40} {tput.format(row['best_max_invocations']):>8} "
              f"{lat.format(row['best_latency_ms']):>10} {cpm.format(row['best_cost_per_million']):>9}")
    print(f"recommended: ranked with {importance_text()} (`irkit jobs show JOB --cost ...` re-ranks one job)")
    return 0


def show_command(args: argparse.Namespace) -> int:
    import irkit.results as R
    from irkit.results.confidence import notes as confidence_notes
    from irkit.results.ranking import recommend, recommendation_line, tie_notes
    from irkit.results.summary import table_lines

    store = _refreshed(_store(args))
    job = store.get_job(args.job)
    if args.json:
        print(json.dumps(job["result"], indent=2))
        return 0
    print(f"{job['job_id']}: {job['job_name']} ({job['backend']}) {job['status']}"
          + (f" - {job['failure_reason']}" if job["failure_reason"] else ""))
    hint = _resume_hint(store, job)
    if hint and "--resume" not in (job["failure_reason"] or ""):
        print(hint)
    if not job["result"]:
        print("no result yet")
        return 0
    from irkit.results.fidelity import table_metrics

    ranked = recommend(R.to_frame(job["result"]), args.cost, args.latency, args.throughput, **_floors(args))
    # MaxInvocations with its 95% interval, and notes on unstable runs and ties, when the result has them
    columns = (R.MAX_INVOCATIONS, R.MODEL_LATENCY_MS, R.COST_PER_HOUR, R.COST_PER_MILLION, R.SCORE)
    for line in table_lines(ranked, table_metrics(ranked, columns), width_limit=58):
        print(line)
    print(recommendation_line(ranked) + " (--cost/--latency/--throughput change it)")
    for note in tie_notes(ranked):
        print(f"noise: {note}")
    for note in confidence_notes(job["result"]):
        print(f"warning: {note}")
    return 0


def _result(ref: str, store: Any) -> Any:
    from pathlib import Path

    return ref if Path(ref).suffix.lower() == ".json" else store.result(ref)


def compare_command(args: argparse.Namespace) -> int:
    from irkit.results import CONFIG, MAX_INVOCATIONS, MODEL_LATENCY_MS, short_label
    from irkit.results.compare import check_regression, compare, delta_column

    store = _store(args)
    baseline, current = _result(args.baseline, store), _result(args.current, store)
    table = compare(baseline, current)
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(f"{'configuration':<58} {'req/min A -> B':>18} {'Δ%':>7} {'ms A -> B':>14} {'Δ%':>7}")
        for row in table.to_dict("records"):
            rpm = f"{_cell(row[MAX_INVOCATIONS + '_baseline'])} -> {_cell(row[MAX_INVOCATIONS + '_current'])}"
            ms = f"{_cell(row[MODEL_LATENCY_MS + '_baseline'])} -> {_cell(row[MODEL_LATENCY_MS + '_current'])}"
            print(f"{short_label(row[CONFIG])[:58]:<58} {rpm:>18} {_signed(row[delta_column(MAX_INVOCATIONS)]):>7} "
                  f"{ms:>14} {_signed(row[delta_column(MODEL_LATENCY_MS)]):>7}")
    if args.fail_on_regression is not None:
        check_regression(baseline, current, args.fail_on_regression)
    return 0


def _signed(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.1f}"


def import_command(args: argparse.Namespace) -> int:
    from irkit.results import history

    backend = None
    if args.region:
        from irkit.backends import get_backend

        backend = get_backend("sagemaker", region=args.region, store=_store(args))
    job_id = history.import_result(args.source, _store(args), backend=backend)
    print(f"imported {args.source} as job {job_id}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from irkit.results.report import write_report

    path = write_report(args.source, args.out, png=not args.no_png, store=_store(args), cost=args.cost,
                        latency=args.latency, throughput=args.throughput, latency_ms=args.latency_ms,
                        min_rpm=args.min_rpm, **_floors(args))
    print(path)
    return 0
