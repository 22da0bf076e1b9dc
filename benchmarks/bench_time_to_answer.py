"""Time to answer: the demo job's wall time (examples/demo-local.yaml) and its spread over repeats.

Goal: <= 5 minutes on the 2-core dev machine, with each config's MaxInvocations repeatable within 5%
between runs. IR takes about 45 minutes for a Default job and about 2 hours for an Advanced one.

    python benchmarks/bench_time_to_answer.py [--repeats 2] [--quick] [--workdir demo-out]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_SPEC = ROOT / "examples" / "demo-local.yaml"
GOAL_S = 300.0
REPEATABILITY_GOAL = 0.05


def ensure_tarballs(workdir: Path) -> tuple[Path, Path]:
    """demo-out/model.tar.gz and payload.tar.gz, built with `irkit package` when missing."""
    model, payload = workdir / "model.tar.gz", workdir / "payload.tar.gz"
    if not (model.exists() and payload.exists()):
        subprocess.run([sys.executable, "-m", "irkit", "package", "--out", str(workdir), "--weights", "auto"],
                       check=True, cwd=ROOT)
    return model, payload


def run_demo(spec: Any, model: Path, payload: Path) -> tuple[float, dict[str, Any]]:
    from irkit.backends.local import LocalBackend

    with tempfile.TemporaryDirectory(prefix="irkit-bench-") as home:
        backend = LocalBackend(Path(home) / "irkit.db")
        started = time.perf_counter()
        handle = backend.submit(spec, model=model, payload=payload)
        result = backend.wait(handle, progress=False, poll_s=0.5)
        return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one repeat with 2 configs")
    parser.add_argument("--workdir", default=str(ROOT / "demo-out"))
    args = parser.parse_args(argv)
    from irkit.spec import load_spec

    model, payload = ensure_tarballs(Path(args.workdir))
    spec = load_spec(DEMO_SPEC)
    repeats = 1 if args.quick else args.repeats
    if args.quick:
        spec = spec.replace(max_tests=2)
    walls: list[float] = []
    per_config: dict[str, list[int]] = {}
    for i in range(repeats):
        wall, result = run_demo(spec.replace(job_name=f"demo-local-bench-{i + 1}"), model, payload)
        walls.append(wall)
        for rec in result["InferenceRecommendations"]:
            env = ",".join(f"{p['Key']}={p['Value']}" for p in rec["ModelConfiguration"]["EnvironmentParameters"])
            key = f"{rec['EndpointConfiguration']['InstanceType']} {env}".strip()
            per_config.setdefault(key, []).append(rec["Metrics"]["MaxInvocations"])
        print(f"repeat {i + 1}: {wall:.0f} s, status {result['Status']}, "
              f"{len(result['InferenceRecommendations'])} recommendations", flush=True)
    spreads = {k: (max(v) - min(v)) / max(v) if len(v) > 1 and max(v) else 0.0 for k, v in per_config.items()}
    figures = {
        "wall_s": [round(w, 1) for w in walls],
        "wall_mean_s": round(statistics.mean(walls), 1),
        "wall_spread_s": round(max(walls) - min(walls), 1),
        "max_invocations": per_config,
        "max_invocations_spread": {k: round(v, 4) for k, v in spreads.items()},
        "worst_spread": round(max(spreads.values(), default=0.0), 4),
        "goal_wall_s": GOAL_S,
        "meets_wall_goal": max(walls) <= GOAL_S,
        "meets_repeatability_goal": max(spreads.values(), default=0.0) <= REPEATABILITY_GOAL,
    }
    print("\n| config | MaxInvocations per repeat | spread |\n|---|---|---|")
    for key, values in per_config.items():
        print(f"| {key} | {', '.join(map(str, values))} | {spreads[key]:.1%} |")
    print(f"\nwall time: {', '.join(f'{w:.0f} s' for w in walls)} (goal <= {GOAL_S:.0f} s); "
          f"worst MaxInvocations spread {figures['worst_spread']:.1%} (goal <= {REPEATABILITY_GOAL:.0%})")
    return figures


if __name__ == "__main__":
    main()
