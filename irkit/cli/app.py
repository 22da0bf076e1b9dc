"""``irkit app [--port P] [--no-browser]``: serve the right-size app with Voila on 127.0.0.1."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from irkit.app import DEFAULT_PORT

    parser = sub.add_parser(
        "app",
        help="serve the right-size app (no code shown) with Voila on 127.0.0.1",
        description="Serve notebooks/app.ipynb with Voila: sources stripped, no tracebacks, "
        "bound to 127.0.0.1, idle kernels culled.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--notebook", help="serve another app notebook (default: notebooks/app.ipynb)"
    )
    parser.add_argument(
        "--model", help="a prepared model.tar.gz the app offers instead of building the sample"
    )
    parser.add_argument(
        "--payload", help="the sample payload (payload.tar.gz or a file) that goes with --model"
    )
    parser.set_defaults(func=_app)


def _app(args: argparse.Namespace) -> int:
    from irkit.app import serve_app

    return serve_app(
        args.notebook,
        port=args.port,
        open_browser=not args.no_browser,
        model=args.model,
        payload=args.payload,
    )
