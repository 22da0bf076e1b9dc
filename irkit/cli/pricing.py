"""``irkit pricing show|refresh``: the $/hour table irkit uses, and rebuilding it from the Pricing API."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("pricing", help="show or refresh on-demand instance prices")
    actions = parser.add_subparsers(dest="pricing_command", metavar="ACTION", required=True)

    show = actions.add_parser(
        "show", help="print instance types with vCPUs, memory, GPUs and $/hour"
    )
    show.add_argument("--region", default="us-east-1")
    show.add_argument(
        "--local", action="store_true", help="also list local.cpuN profiles and their estimates"
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=show_command)

    refresh = actions.add_parser(
        "refresh", help="rebuild the pricing table from the AWS Pricing API"
    )
    refresh.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help="region to price (repeatable; default us-east-1)",
    )
    refresh.add_argument(
        "--instance-type",
        action="append",
        dest="instance_types",
        metavar="TYPE",
        help="instance type to price (repeatable; default: irkit's catalog)",
    )
    refresh.add_argument(
        "--output",
        metavar="PATH",
        help="where to write (default: $IRKIT_HOME/pricing.json, used from then on)",
    )
    refresh.set_defaults(func=refresh_command)


def show_command(args: argparse.Namespace) -> int:
    from irkit.instances import catalog, local_instance_types, local_profile
    from irkit.pricing import pricing_path, pricing_table

    items = catalog(args.region)
    table = pricing_table()
    if args.json:
        rows = [vars(i) for i in items]
        if args.local:
            rows += [vars(local_profile(n, region=args.region)) for n in local_instance_types()]
        print(
            json.dumps(
                {"source": table.get("source"), "date": table.get("date"), "instances": rows},
                indent=2,
            )
        )
        return 0
    print(f"# prices: {pricing_path()} ({table.get('date')}): {table.get('source')}")
    print(f"{'instance type':<18} {'vCPU':>5} {'GiB':>6} {'GPU':>4} {'$/hour':>9}")
    for i in items:
        cost = f"{i.price_per_hour:.4f}" if i.price_per_hour is not None else "-"
        print(f"{i.instance_type:<18} {i.vcpus:>5} {i.memory_gib:>6g} {i.gpus:>4} {cost:>9}")
    if args.local:
        for name in local_instance_types():
            profile = local_profile(name, region=args.region)
            label = " (estimate)" if profile.price_is_estimate else ""
            print(
                f"{name:<18} {len(profile.cpus):>5} {'-':>6} {0:>4} {profile.price_per_hour:>9.4f}{label}"
            )
    return 0


def refresh_command(args: argparse.Namespace) -> int:
    from irkit.backends.sagemaker.clients import default_clients
    from irkit.backends.sagemaker.pricing_api import build_pricing_document
    from irkit.instances import catalog
    from irkit.pricing import pricing_table, write_pricing

    instance_types = args.instance_types or [i.instance_type for i in catalog()]
    regions = args.regions or ["us-east-1"]
    document = build_pricing_document(default_clients(regions[0]), instance_types, regions)
    count = sum(len(v) for v in document["regions"].values())
    merged = {region: dict(prices) for region, prices in pricing_table().get("regions", {}).items()}
    for region, prices in document["regions"].items():  # keep prices this refresh did not ask for
        merged.setdefault(region, {}).update(prices)
    document["regions"] = merged
    path = write_pricing(document, args.output)
    print(f"wrote {count} prices to {path}")
    if document["missing"]:
        print(f"no price found for: {', '.join(document['missing'])}")
    return 0
