"""Repeatability: the demo job (examples/demo-local.yaml) twice back to back, quiet and with a CPU hog.

Goals (issue 13):
- quiet machine: every config's MaxInvocations within 5% between the two runs, the same
  recommendation (``ranking.recommend``, default importances), and every 95% interval containing the
  other run's value;
- with a CPU hog (a busy loop pinned to one core) running through both runs: every MaxInvocations
  within 10%, or the config flagged in at least one run: unstable, or other processes on the
  server's cores (``irkit.configs[i].contention``, more than 15% of them).

    python benchmarks/bench_repeatability.py [--quick] [--no-hog] [--hog-core 0] [--workdir demo-out]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_time_to_answer import DEMO_SPEC, ROOT, ensure_tarballs, run_demo

GOAL_QUIET = 0.05
GOAL_HOG = 0.10
HOG = "while True: pass"


@contextmanager
def cpu_hog(core: int):  # type: ignore[no-untyped-def]
    """A busy loop pinned to ``core`` for the duration of the block."""
    proc = subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", HOG])
    try:
        time.sleep(0.5)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _knee_search_supported() -> bool:
    from irkit.spec import JobSpec

    return any(f.name == "knee_search" for f in dataclasses.fields(JobSpec))


def demo_spec(quick: bool) -> Any:
    """The demo spec; with ``quick`` one config and a tiny search (or two short stair steps)."""
    from irkit.spec import load_spec

    spec = load_spec(DEMO_SPEC)
    if not quick:
        return spec
    spec = spec.replace(max_tests=1)
    if _knee_search_supported() and spec.traffic() is None:
        return spec.replace(knee_search={"max_users": 2, "window_seconds": 1, "min_requests": 2,
                                         "max_level_seconds": 4})
    return spec.replace(stairs={"duration_in_seconds": 3, "number_of_steps": 2, "users_per_step": 1})


def per_config(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """config -> MaxInvocations, its interval, ModelLatency and stability, from the result frame."""
    import irkit.results as R

    frame = R.recommendations(R.to_frame(result))
    out = {}
    for row in frame.to_dict("records"):
        lo, hi = row[R.MAX_INVOCATIONS_LO], row[R.MAX_INVOCATIONS_HI]
        stable = row[R.STABLE]
        out[row[R.CONFIG]] = {
            "max_invocations": row[R.MAX_INVOCATIONS], "model_latency_ms": row[R.MODEL_LATENCY_MS],
            "ci": None if lo != lo or hi != hi else [lo, hi],
            "stable": None if stable is None or str(stable) == "<NA>" else bool(stable),
            "shares_server_cores": str(row[R.SHARES_SERVER_CORES]) == "True",
            "others_cpu": None if row.get(R.OTHERS_CPU) != row.get(R.OTHERS_CPU) else row.get(R.OTHERS_CPU),
        }
    return out


def pick(result: dict[str, Any]) -> str | None:
    import irkit.results as R
    from irkit.results.ranking import recommend

    ranked = recommend(R.to_frame(result))
    return None if ranked.empty else str(ranked[R.CONFIG].iloc[0])


def compare_runs(a: dict[str, Any], b: dict[str, Any], goal: float, *, unstable_excuses: bool) -> dict[str, Any]:
    """Per config: both values, the spread, whether each interval holds the other value, the verdict."""
    ca, cb = per_config(a), per_config(b)
    rows = {}
    for config in sorted(set(ca) | set(cb)):
        x, y = ca.get(config), cb.get(config)
        if not (x and y):
            rows[config] = {"missing_in": "first run" if not x else "second run", "ok": False}
            continue
        va, vb = x["max_invocations"], y["max_invocations"]
        spread = abs(va - vb) / max(va, vb) if max(va, vb) else 0.0
        holds = [ci is not None and ci[0] <= other <= ci[1] for ci, other in ((x["ci"], vb), (y["ci"], va))]
        from irkit.load.contention import LIMIT_PERCENT

        contended = any((r.get("others_cpu") or 0.0) > LIMIT_PERCENT for r in (x, y))
        unstable = x["stable"] is False or y["stable"] is False or contended
        lat = [x["model_latency_ms"], y["model_latency_ms"]]
        ok = spread <= goal or (unstable_excuses and unstable)
        rows[config] = {"max_invocations": [va, vb], "spread": round(spread, 4), "ci": [x["ci"], y["ci"]],
                        "intervals_hold_other": all(holds), "unstable": unstable,
                        "stable": [x["stable"], y["stable"]],
                        "shares_server_cores": x["shares_server_cores"] or y["shares_server_cores"],
                        "others_cpu": [x.get("others_cpu"), y.get("others_cpu")], "contended": contended,
                        "model_latency_ms": lat, "latency_spread": round(abs(lat[0] - lat[1]) / max(lat), 4) if max(lat) else 0.0,
                        "ok": ok}
    picks = [pick(a), pick(b)]
    return {"configs": rows, "recommendations": picks, "same_recommendation": picks[0] == picks[1],
            "worst_spread": max((r.get("spread", 1.0) for r in rows.values()), default=0.0),
            "all_intervals_hold": all(r.get("intervals_hold_other", False) for r in rows.values()),
            "meets_goal": all(r["ok"] for r in rows.values())}


def run_pair(spec: Any, model: Path, payload: Path, label: str) -> tuple[list[float], list[dict[str, Any]]]:
    walls, results = [], []
    for i in range(2):
        wall, result = run_demo(spec.replace(job_name=f"demo-repeat-{label}-{i + 1}"), model, payload)
        walls.append(round(wall, 1))
        results.append(result)
        print(f"{label} run {i + 1}: {wall:.0f} s, status {result['Status']}, "
              f"{len(result['InferenceRecommendations'])} recommendations", flush=True)
    return walls, results


def _stable(row: dict[str, Any]) -> str:
    if row.get("contended"):
        others = "/".join("-" if v is None else f"{v:.0f}%" for v in row.get("others_cpu") or [])
        return f"flagged: others on server cores ({others})"
    if row["unstable"]:
        return "no (flagged)"
    return "-" if None in row["stable"] else "yes"


def table(scenario: str, figures: dict[str, Any]) -> str:
    lines = [f"{scenario}: recommendation {' / '.join(map(str, figures['recommendations']))} "
             f"({'same' if figures['same_recommendation'] else 'DIFFERENT'}); wall {figures['wall_s']} s", "",
             "| config | MaxInvocations run 1 / 2 | spread | 95% CI run 1 / 2 | each CI holds the other | "
             "stable | generator shares cores | ModelLatency ms run 1 / 2 | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for config, row in figures["configs"].items():
        if "missing_in" in row:
            lines.append(f"| {config} | missing in the {row['missing_in']} | | | | | | | not met |")
            continue
        cis = " / ".join("-" if ci is None else f"{ci[0]:.0f}-{ci[1]:.0f}" for ci in row["ci"])
        lines.append(f"| {config} | {row['max_invocations'][0]:.0f} / {row['max_invocations'][1]:.0f} | "
                     f"{row['spread']:.1%} | {cis} | {'yes' if row['intervals_hold_other'] else 'no'} | "
                     f"{_stable(row)} | {'yes' if row['shares_server_cores'] else 'no'} | "
                     f"{row['model_latency_ms'][0]:.0f} / {row['model_latency_ms'][1]:.0f} | "
                     f"{'met' if row['ok'] else 'not met'} |")
    return "\n".join(lines)


def report(figures: dict[str, Any]) -> str:
    """The markdown of a run (what ``run.py --record`` writes to RESULTS.md)."""
    parts = [table(s, figures[s]) for s in ("quiet", "hog") if s in figures]
    quiet = figures["quiet"]
    parts_met = [("every MaxInvocations within " + f"{GOAL_QUIET:.0%}", quiet["worst_spread"] <= GOAL_QUIET),
                 ("the same recommendation", quiet["same_recommendation"]),
                 ("every interval holds the other run's value", quiet["all_intervals_hold"])]
    verdict = "quiet: " + ", ".join(f"{what}: {'met' if ok else 'NOT met'}" for what, ok in parts_met)
    if "hog" in figures:
        verdict += (f"; hog on core {figures['hog']['hog_core']}: within {GOAL_HOG:.0%} or flagged unstable: "
                    f"{'met' if figures['hog']['meets_goal'] else 'NOT met'}")
    return "\n\n".join([*parts, verdict])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one config, a tiny search (smoke check)")
    parser.add_argument("--no-hog", action="store_true", help="only the quiet pair")
    parser.add_argument("--hog-core", type=int, default=None, help="core of the CPU hog (default: the first)")
    parser.add_argument("--workdir", default=str(ROOT / "demo-out"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    model, payload = ensure_tarballs(Path(args.workdir))
    spec = demo_spec(args.quick)
    figures: dict[str, Any] = {"quick": args.quick, "knee_search": _knee_search_supported()}
    walls, (a, b) = run_pair(spec, model, payload, "quiet")
    figures["quiet"] = {**compare_runs(a, b, GOAL_QUIET, unstable_excuses=False), "wall_s": walls}
    figures["quiet"]["meets_goal"] = (figures["quiet"]["meets_goal"] and figures["quiet"]["same_recommendation"]
                                      and figures["quiet"]["all_intervals_hold"])
    if not args.no_hog:
        core = args.hog_core if args.hog_core is not None else sorted(os.sched_getaffinity(0))[0]
        with cpu_hog(core):
            walls, (a, b) = run_pair(spec, model, payload, "hog")
        figures["hog"] = {**compare_runs(a, b, GOAL_HOG, unstable_excuses=True), "wall_s": walls, "hog_core": core}
    print()
    print(report(figures), flush=True)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
