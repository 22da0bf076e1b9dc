"""``irkit recommend``: run a right-size job (local or SageMaker), show progress and a table, write JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from irkit.errors import EXIT_OK, SpecError
from irkit.results.summary import summary_text as format_table  # ranked by ranking.recommend


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "recommend",
        help="right-size a model: load test each configuration and recommend",
        description="Run a right-size job from SPEC (YAML/JSON with the SDK's right_size() keys) and print "
                    "the recommendations. The local backend serves the model here and drives load with Locust.",
    )
    parser.add_argument("spec", nargs="?", help="job spec file (YAML or JSON); not needed with --resume")
    parser.add_argument("--backend", choices=("local", "sagemaker"), default="local")
    parser.add_argument("--model", help="local: model.tar.gz or SavedModel folder to serve; sagemaker: with "
                                        "--payload, pre-flight the payload on this model locally before the job")
    parser.add_argument("--payload", help="payload.tar.gz or one payload file (local default: sample_payload_url)")
    parser.add_argument("--endpoint-url", help="local: benchmark a running server with the SageMaker contract "
                                               "instead of starting one (result in EndpointPerformances)")
    parser.add_argument("--workers", type=int, default=0,
                        help="local and --endpoint-name: Locust worker processes behind a master (default 0: one Locust process)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the multi-model target sampler (target_models), to repeat a run exactly")
    parser.add_argument("--resume", metavar="JOB", help="local: continue a killed or stopped job from its finished configs")
    parser.add_argument("--out", metavar="FILE.json", help="write the result JSON here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--role-arn", help="sagemaker: the IAM role IR assumes")
    parser.add_argument("--model-package-version-arn", help="sagemaker: the model package version to right-size")
    parser.add_argument("--model-name", help="sagemaker: the SageMaker Model to right-size")
    parser.add_argument("--endpoint-name", help="sagemaker: load test this existing endpoint (any kind; multi-model "
                                                "or multi-container with the spec's target_models) with Locust "
                                                "calling invoke_endpoint, instead of an IR job; uses --payload, --workers")
    parser.set_defaults(func=run)


def _submit(args: argparse.Namespace) -> tuple[Any, Any]:
    from irkit.backends import get_backend

    backend = get_backend(args.backend)
    if args.resume:
        if args.backend != "local":
            raise SpecError("--resume", "only local jobs can be resumed")
        from irkit.backends.local import LocalBackend

        return backend, LocalBackend().resume(args.resume)
    if not args.spec:
        raise SpecError("spec", "give a job spec file (or --resume JOB)")
    from irkit.spec import load_spec

    spec = load_spec(args.spec)
    if args.backend == "sagemaker":
        if not args.role_arn:
            raise SpecError("--role-arn", "the SageMaker backend needs an IAM role ARN")
        return backend, backend.submit(spec, role_arn=args.role_arn, model_name=args.model_name,
                                       model_package_version_arn=args.model_package_version_arn,
                                       preflight=_local_preflight(args))
    return backend, backend.submit(spec, model=args.model, payload=args.payload,
                                   endpoint_url=args.endpoint_url, workers=args.workers, seed=args.seed)


def _local_preflight(args: argparse.Namespace) -> Any:
    """With --model and --payload, send every sample to the model on a local server before paying for IR."""
    if not (args.model and args.payload):
        return None

    def check(spec: Any) -> None:
        from irkit.serve.preflight import preflight

        content_type = spec.supported_content_types[0] if spec.supported_content_types else None
        report = preflight(args.model, args.payload, content_type)
        print(f"pre-flight: {len(report['samples'])} sample(s) answered by {args.model}", file=sys.stderr)

    return check


def _benchmark_endpoint(args: argparse.Namespace) -> dict[str, Any]:
    """``--backend sagemaker --endpoint-name NAME``: the spec's traffic against an existing endpoint."""
    if args.backend != "sagemaker":
        raise SpecError("--endpoint-name", "needs --backend sagemaker (a local server: --endpoint-url)")
    if not args.spec:
        raise SpecError("spec", "give a job spec file (its traffic, payload and target_models)")
    from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint, step_line
    from irkit.errors import JobFailedError

    print(f"benchmarking endpoint {args.endpoint_name} (sagemaker)", file=sys.stderr, flush=True)
    on_step = None if args.no_progress else (lambda step: print(step_line(step), file=sys.stderr, flush=True))
    result = benchmark_endpoint(args.spec, args.endpoint_name, payload=args.payload, workers=args.workers,
                                on_step=on_step, seed=args.seed)
    _write_out(args, result)
    if result["Status"] == "FAILED":
        raise JobFailedError(result["JobName"], result.get("FailureReason"))
    return result


def _write_out(args: argparse.Namespace, result: dict[str, Any]) -> None:
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str))
        print(f"result written to {path}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.endpoint_name:
        print_summary(_benchmark_endpoint(args))
        return EXIT_OK
    backend, handle = _submit(args)
    print(f"job {handle.job_id} submitted ({args.backend})", file=sys.stderr, flush=True)
    try:
        result = backend.wait(handle, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"job {handle.job_id} stopped; `irkit recommend --resume {handle.job_id}` continues it",
              file=sys.stderr)
        raise
    print_summary(result)
    _write_out(args, result)
    return EXIT_OK


def print_summary(result: dict[str, Any]) -> None:
    """The table, the endpoints, the per-model rows and the ``recommended:`` line (ranking.recommend's
    pick with DEFAULT_IMPORTANCES, as in ``irkit jobs show``, ``irkit report`` and the app)."""
    print(format_table(result))
