"""Run irkit's benchmarks with one command: ``make bench`` or ``python benchmarks/run.py [NAME...]``.

Each benchmark module exposes ``main(argv=None) -> dict`` and prints its own markdown table.
With ``--record`` the figures are appended to benchmarks/RESULTS.md with the machine they came from.
Speed is measured here, never in timed tests; quote ratios measured within the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "serving": "bench_serving",  # served img/s vs in-process, batch-1 latency
    "accuracy": "bench_accuracy",  # MaxInvocations and p50 against servers of known capacity
    "time_to_answer": "bench_time_to_answer",  # the demo job's wall time and repeatability
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
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="any of: " + ", ".join(BENCHMARKS) + " (default: all)")
    parser.add_argument("--record", action="store_true", help="append figures to RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    sys.path.insert(0, str(HERE))
    figures: dict[str, dict] = {}
    for name in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        print(f"\n## {name}\n", flush=True)
        started = time.perf_counter()
        figures[name] = module.main(["--quick"] if args.quick else [])
        print(f"\n({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    if args.record:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with open(HERE / "RESULTS.md", "a") as fh:
            fh.write(f"\n### Run of {stamp} on {machine()}\n\n```json\n")
            fh.write(json.dumps(figures, indent=2, default=str))
            fh.write("\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
