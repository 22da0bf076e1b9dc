"""``irkit spec render|check``: print a spec's CreateInferenceRecommendationsJob request, or check a spec."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("spec", help="render or check a job spec")
    actions = parser.add_subparsers(dest="spec_command", metavar="ACTION", required=True)

    render = actions.add_parser(
        "render", help="print the CreateInferenceRecommendationsJob request as JSON"
    )
    render.add_argument("spec", help="spec file (YAML or JSON)")
    target = render.add_mutually_exclusive_group(required=True)
    target.add_argument("--model-package-version-arn", metavar="ARN")
    target.add_argument("--model-name", metavar="NAME")
    render.add_argument("--role-arn", metavar="ARN", required=True)
    render.add_argument("--job-name", help="override the spec's job_name")
    render.set_defaults(func=render_command)

    check = actions.add_parser(
        "check", help="validate a spec for a backend and list its configurations"
    )
    check.add_argument("spec", help="spec file (YAML or JSON)")
    check.add_argument("--target", choices=("local", "sagemaker"), default="local")
    check.set_defaults(func=check_command)


def render_command(args: argparse.Namespace) -> int:
    from irkit.spec import load_spec

    spec = load_spec(args.spec)
    if args.job_name:
        spec = spec.replace(job_name=args.job_name)
    request = spec.to_request(
        model_name=args.model_name,
        model_package_version_arn=args.model_package_version_arn,
        role_arn=args.role_arn,
    )
    try:
        from irkit.backends.sagemaker.request_check import validate_request
    except ImportError:  # pragma: no cover - the aws extra is missing; irkit's own checks still ran
        pass
    else:
        validate_request(request)
    print(json.dumps(request, indent=2))
    return 0


def check_command(args: argparse.Namespace) -> int:
    from irkit.spec import load_spec

    spec = load_spec(args.spec).validate(target=args.target)
    print(f"{args.spec}: valid for {args.target} ({spec.job_type} job)")
    for config in spec.configurations():
        env = " ".join(f"{k}={v}" for k, v in config.environment.items())
        print(f"  {config.instance_type} {env}".rstrip())
    return 0
