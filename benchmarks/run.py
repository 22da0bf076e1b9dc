"""Run irkit's benchmarks with one command: ``make bench`` or ``python benchmarks/run.py [NAME...]``.

Each benchmark module exposes ``main(argv=None) -> dict`` and prints its own markdown table
(``report(figures) -> str`` when it has one). With ``--record`` the table and the figures are appended
to benchmarks/RESULTS.md with the machine they came from. ``make bench BENCH=peer`` runs one.
Speed is measured here, never in timed tests; quote ratios measured within the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "serving": "bench_serving",  # served img/s vs in-process, batch-1 latency
    "accuracy": "bench_accuracy",  # MaxInvocations and p50 against servers of known capacity
    "time_to_answer": "bench_time_to_answer",  # the demo job's wall time and repeatability
    "peer": "bench_peer",  # MaxInvocations and ModelLatency against wrk on the same server
    "repeatability": "bench_repeatability",  # the demo job twice: quiet, then with a CPU hog
    "fleet": "bench_fleet",  # 2 local.cpu1 replicas behind the router vs 2 x one replica
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}, "
            f"load average {load} at the end")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="any of: " + ", ".join(BENCHMARKS) + " (default: all)")
    parser.add_argument("--record", action="store_true", help="append figures to RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    parser.add_argument("--args", default="", help="more arguments for the benchmark(s), e.g. --args='--servers cpu2'")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    sys.path.insert(0, str(HERE))
    figures: dict[str, dict] = {}
    reports: dict[str, str] = {}
    for name in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        print(f"\n## {name}\n", flush=True)
        started = time.perf_counter()
        figures[name] = module.main((["--quick"] if args.quick else []) + shlex.split(args.args))
        if hasattr(module, "report"):
            reports[name] = module.report(figures[name])
        print(f"\n({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    if args.record:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(HERE / "RESULTS.md", "a") as fh:
            fh.write(f"\n### Run of {stamp} on {machine()}{' (--quick: a smoke run)' if args.quick else ''}\n\n")
            for name, text in reports.items():
                fh.write(f"{name}:\n\n{text}\n\n")
            fh.write("```json\n")
            fh.write(json.dumps(figures, indent=2, default=str))
            fh.write("\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
