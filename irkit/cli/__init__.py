"""The ``irkit`` command: parse, call one library function, print, exit with a documented code.

Each command group lives in its own small module with ``register(subparsers)``; a handler is
``func(args) -> int`` set with ``parser.set_defaults(func=...)``. Handlers import heavy modules
inside the function, so ``irkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from irkit import __version__
from irkit.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, IrkitError

COMMAND_MODULES = (
    "irkit.cli.foundation",  # predict, package, inspect
    "irkit.cli.spec",  # spec render
    "irkit.cli.pricing",  # pricing show|refresh
    "irkit.cli.serve",  # serve
    "irkit.cli.recommend",  # recommend
    "irkit.cli.history",  # jobs list|show|compare|import, report
    "irkit.cli.plan",  # plan (fleet size, cost, autoscaling, trace replay)
    "irkit.cli.app",  # app
    "irkit.cli.run",  # run (papermill)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irkit",
        description="Load test and right-size model endpoints, on SageMaker or offline.",
    )
    parser.add_argument("--version", action="version", version=f"irkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's C++ logs too, here and in the processes irkit starts "
                             "(as IRKIT_LOG_LEVEL=debug does)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    from irkit._lazy import quiet_native_logs

    quiet_native_logs(verbose=args.verbose)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, sigterm_as_interrupt) if in_main_thread else None
    try:
        return int(func(args) or 0)
    except IrkitError as exc:
        print(f"irkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("irkit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILURE
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def sigterm_as_interrupt(signum: int, _frame: object) -> None:
    """SIGTERM stops a command the way Ctrl-C does: its cleanup runs and it exits 130."""
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
