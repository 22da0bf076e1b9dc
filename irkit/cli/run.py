"""``irkit run``: execute notebooks headless with papermill into a run folder (see irkit.headless).

Exit codes: 0 success; 1 a cell failed, timed out or the run could not start (message names the
notebook and the cell); 2 bad usage (unknown parameter, bad YAML, missing notebook); 3 a regression
against ``--baseline`` beyond ``--fail-on-regression PCT``; 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="run notebooks headless (papermill) into a timestamped run folder",
        description="Execute NOTEBOOKs in order with papermill into DIR/<UTC timestamp>-<name>/ (executed "
                    "notebooks, run.json, result.json, report.html). Values passed with -p are YAML, so "
                    "lists and dicts keep their type. Exit codes: 0 ok, 1 a cell failed or timed out, "
                    "2 usage, 3 regression against --baseline, 130 interrupted.",
    )
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebooks to run, in order")
    parser.add_argument("--all", action="store_true",
                        help="run the whole walk 01 -> 06 (numbered notebooks of --notebooks-dir)")
    parser.add_argument("--notebooks-dir", metavar="DIR",
                        help="where --all finds the notebooks (default: $IRKIT_NOTEBOOKS, ./notebooks)")
    parser.add_argument("--out", required=True, metavar="DIR|s3://BUCKET/PREFIX",
                        help="parent of the run folder; s3:// is staged locally, then uploaded")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a notebook parameter; VALUE is YAML (2, null, [a, b], {k: v})")
    parser.add_argument("-f", "--parameters-file", action="append", default=[], metavar="PARAMS.yaml",
                        help="YAML parameters: top-level names for all notebooks, or sections named "
                             "'*' or after a notebook (e.g. 04_right_size)")
    parser.add_argument("--baseline", metavar="JOB|latest",
                        help="compare the run's last job with this job from history (latest: newest "
                             "completed job before this run)")
    parser.add_argument("--fail-on-regression", type=float, metavar="PCT",
                        help="exit 3 when throughput drops or latency rises by more than PCT %% on a "
                             "configuration of the baseline (baseline defaults to latest)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="per-cell timeout in seconds; the kernel is interrupted and the run exits 1")
    parser.add_argument("--name", help="run folder name after the timestamp (default: the notebook's name)")
    parser.add_argument("--progress", action="store_true", help="show papermill's per-cell progress bar")
    parser.set_defaults(func=run)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace) -> int:
    from irkit.errors import SpecError
    from irkit.headless import params as run_params
    from irkit.headless import run_notebooks, walk_notebooks

    notebooks = list(args.notebooks)
    if args.all:
        notebooks = [*walk_notebooks(args.notebooks_dir), *notebooks]
    if not notebooks:
        raise SpecError("NOTEBOOK", "give at least one notebook, or --all")
    # a -f section may name any notebook beside the ones run (tests/notebook_params.yaml has "app")
    folders = {Path(n).parent for n in notebooks}
    stems = {Path(n).stem for n in notebooks} | {p.stem for d in folders for p in d.glob("*.ipynb")}
    params = run_params.RunParameters()
    for path in args.parameters_file:
        params = params.merged(run_params.load_file(path, stems))
    params = params.merged(run_params.from_pairs(args.parameter))
    if args.timeout is not None and args.timeout <= 0:
        raise SpecError("--timeout", f"must be > 0 seconds, got {args.timeout}")

    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        result = run_notebooks(
            notebooks, args.out, params, name=args.name or ("all" if args.all else None),
            kernel=args.kernel, timeout_s=args.timeout, baseline=args.baseline,
            fail_on_regression_pct=args.fail_on_regression, progress=args.progress,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    manifest = result.manifest
    print(f"run folder: {result.folder}")
    if manifest.get("uploaded_to"):
        print(f"uploaded to: {manifest['uploaded_to']}")
    for entry in manifest["notebooks"]:
        jobs = f"  jobs: {', '.join(entry['jobs'])}" if entry["jobs"] else ""
        print(f"  {entry['name']}: {entry['status']} in {entry['duration_s']:.1f} s{jobs}")
    check = manifest.get("baseline")
    if check:
        print(f"baseline {check['ref']}: {check.get('status')}")
    for warning in manifest["warnings"]:
        print(f"irkit: warning: {warning}", file=sys.stderr)
    return int(result.exit_code)

