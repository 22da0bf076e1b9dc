"""The ``irkit serve`` command (also ``python -m irkit.serve``): options, mode, then the server runs.

``add_arguments`` declares the options (``irkit.cli.serve`` adds them to its subcommand), ``check_mode``
picks the mode (one model, ``--multi-model DIR``, ``--container HOST=MODEL``) and names the option that
does not fit, ``serve`` runs it until SIGTERM/SIGINT. The model server's app is handed to uvicorn as
an import string (``APP_FACTORY``, ``MME_APP_FACTORY``) so each worker builds its own; the socket,
pinning and uvicorn are :mod:`irkit.serve.hosting`'s.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError, SpecError
from irkit.serve.hosting import (
    DEFAULT_PORT,
    EXIT_INTERRUPTED,
    bind_socket,
    exit_with_parent,
    interrupt_on_sigterm,
    pin_cpus,
    run_until_signal,
    run_uvicorn,
    write_port_file,
)

APP_FACTORY = "irkit.serve.server:app_from_env"
MME_APP_FACTORY = "irkit.serve.mme_server:mme_app_from_env"
PROG = "python -m irkit.serve"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?",
                        help="model.tar.gz or SavedModel folder (TF Serving layout: highest version)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--instance-type", help="local.cpuN: pin the server to N CPUs")
    parser.add_argument("--cpus", help="pin to these CPU ids, e.g. 0,1 (overrides --instance-type)")
    parser.add_argument("--workers", type=int, help="worker processes (default: $SAGEMAKER_GUNICORN_WORKERS or 1)")
    parser.add_argument("--port-file", help="write the bound port to this file once listening")
    parser.add_argument("--work-dir", help="extract model.tar.gz here (default: a temporary folder)")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    group = parser.add_argument_group("multi-model and multi-container endpoints (docs/multi-model.md)")
    group.add_argument("--multi-model", metavar="DIR",
                       help="serve every *.tar.gz in DIR, routed by X-Amzn-SageMaker-Target-Model")
    group.add_argument("--max-loaded", type=int, metavar="N", help="with --multi-model: keep at most N models "
                       "loaded, evicting the least recently used")
    group.add_argument("--memory-mb", type=float, metavar="MB", help="with --multi-model: evict least recently "
                       "used models to keep the loaded models' sizes within MB")
    group.add_argument("--container", action="append", default=[], metavar="HOST=MODEL",
                       help="one container of a multi-container endpoint (repeat), routed by "
                       "X-Amzn-SageMaker-Target-Container-Hostname")
    group.add_argument("--replicas", type=int, default=1, metavar="N",
                       help="serve MODEL as N replicas behind a round-robin router, each pinned to its own "
                       "--instance-type CPU set (or an equal share of --cpus): an N-instance endpoint")


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT. Raises IrkitError for bad settings, model or address."""
    mode = check_mode(args)
    exit_with_parent()  # started by a job or a router (IRKIT_EXIT_WITH_PARENT): do not outlive it
    if mode == "containers":
        return serve_containers(args)
    if mode == "replicas":
        from irkit.serve.replicas import serve_replicas

        return serve_replicas(args)
    from irkit.serve.decode import image_preprocessor
    from irkit.serve.modelhost import resolve_savedmodel
    from irkit.serve.settings import WORKERS, ServerSettings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = ServerSettings.from_env()
    workers = args.workers or settings.workers
    if workers < 1:
        raise SpecError("--workers", "must be at least 1")
    os.environ[WORKERS] = str(workers)
    try:
        image_preprocessor(settings.image_preprocess)
    except ValueError as exc:
        raise IrkitError(str(exc)) from None
    pin_cpus(args.cpus, args.instance_type)
    os.environ.update(settings.thread_env())
    own_work_dir = args.work_dir is None
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="irkit-serve-"))
    try:
        app = APP_FACTORY
        if mode == "multi-model":
            served = export_mme_env(args, work_dir)
            app = MME_APP_FACTORY
        else:
            served = resolve_savedmodel(args.model, extract_to=work_dir / "model")
            from irkit.serve.server import MODEL_DIR_ENV

            os.environ[MODEL_DIR_ENV] = str(served)
            from irkit.serve.runtimes import prepare

            prepare(served, settings)  # IRKIT_RUNTIME=openvino: convert once (cached), before the workers
        sock = bind_socket(args.host, args.port)
        port = sock.getsockname()[1]
        if args.port_file:
            write_port_file(args.port_file, port)
        print(f"irkit serve: {served} on http://{args.host}:{port} ({workers} worker(s)); "
              f"POST /invocations, GET /ping", file=sys.stderr, flush=True)
        try:
            return run_uvicorn(sock, workers, args.log_level, app)
        finally:
            sock.close()
    finally:
        if own_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


def check_mode(args: argparse.Namespace) -> str:
    """"single", "multi-model", "containers" or "replicas"; SpecError naming the option that does not fit."""
    multi_model = getattr(args, "multi_model", None)
    containers = getattr(args, "container", None) or []
    if multi_model and containers:
        raise SpecError("--container", "cannot be combined with --multi-model")
    if (multi_model or containers) and args.model:
        option = "--multi-model" if multi_model else "--container"
        raise SpecError("model", f"give either MODEL or {option}, not both")
    if not multi_model:
        for option, value in (("--max-loaded", getattr(args, "max_loaded", None)),
                              ("--memory-mb", getattr(args, "memory_mb", None))):
            if value is not None:
                raise SpecError(option, "only applies with --multi-model DIR")
    else:
        if args.max_loaded is not None and args.max_loaded < 1:
            raise SpecError("--max-loaded", "must be at least 1")
        if args.memory_mb is not None and args.memory_mb <= 0:
            raise SpecError("--memory-mb", "must be more than 0")
        if not Path(multi_model).expanduser().is_dir():
            raise SpecError("--multi-model", f"{multi_model!r} is not a folder")
    replicas = getattr(args, "replicas", 1) or 1
    if replicas < 1:
        raise SpecError("--replicas", "must be at least 1")
    if replicas > 1 and (multi_model or containers):
        raise SpecError("--replicas", "serves one MODEL; it cannot be combined with --multi-model or --container")
    if containers:
        return "containers"
    if multi_model:
        return "multi-model"
    if not args.model:
        raise SpecError("model", "name a model.tar.gz or SavedModel folder (or use --multi-model DIR / "
                                 "--container HOST=MODEL)")
    return "replicas" if replicas > 1 else "single"


def export_mme_env(args: argparse.Namespace, work_dir: Path) -> Path:
    """Hand the multi-model settings to the uvicorn workers through the env; returns the folder."""
    from irkit.serve import model_cache as mme

    folder = Path(args.multi_model).expanduser().resolve()
    os.environ[mme.MME_DIR_ENV] = str(folder)
    os.environ[mme.MME_WORK_DIR_ENV] = str(work_dir / "models")
    # the options win; else the env (so an Advanced job's hyperparameter_ranges can vary them)
    if args.max_loaded is not None:
        os.environ[mme.MAX_LOADED_ENV] = str(args.max_loaded)
    if args.memory_mb is not None:
        os.environ[mme.MEMORY_MB_ENV] = str(args.memory_mb)
    try:
        limits = mme.cache_settings_from_env()
    except ValueError:
        raise SpecError(mme.MAX_LOADED_ENV, f"{mme.MAX_LOADED_ENV} must be an integer and {mme.MEMORY_MB_ENV} "
                        "a number") from None
    if limits["max_loaded"] is not None and limits["max_loaded"] < 1:
        raise SpecError(mme.MAX_LOADED_ENV, "must be at least 1")
    if limits["memory_budget_mb"] is not None and limits["memory_budget_mb"] <= 0:
        raise SpecError(mme.MEMORY_MB_ENV, "must be more than 0")
    return folder


def serve_containers(args: Any) -> int:
    """``irkit serve --container HOST=MODEL ...``: start the containers, route until SIGTERM/SIGINT."""
    from irkit.serve.containers import (
        TARGET_CONTAINER_HEADER,
        create_router_app,
        parse_container_specs,
        start_containers,
        stop_containers,
    )

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    specs = parse_container_specs(args.container)
    cpus = pin_cpus(args.cpus, args.instance_type)
    own_work_dir = args.work_dir is None
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="irkit-containers-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    servers: dict[str, Any] = {}
    try:
        servers = start_containers(specs, cpus=cpus, log_dir=work_dir, workers=args.workers)
        app = create_router_app({name: server.url for name, server in servers.items()},
                                {name: str(path) for name, path in specs.items()})
        sock = bind_socket(args.host, args.port)
        port = sock.getsockname()[1]
        if args.port_file:
            write_port_file(args.port_file, port)
        listing = ", ".join(f"{name}={server.url}" for name, server in servers.items())
        print(f"irkit serve: {len(servers)} container(s) ({listing}) behind http://{args.host}:{port}; "
              f"route with {TARGET_CONTAINER_HEADER}", file=sys.stderr, flush=True)
        return run_until_signal(sock, args.log_level, app)  # SIGTERM as Ctrl-C: containers stop below
    finally:
        stop_containers(servers)
        if own_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Serve a SavedModel with SageMaker's container contract.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    from irkit._lazy import quiet_native_logs

    quiet_native_logs()  # TensorFlow's C++ logs only with IRKIT_LOG_LEVEL=debug|info
    signal.signal(signal.SIGTERM, interrupt_on_sigterm)  # uvicorn re-raises the signal it stopped on
    try:
        return serve(args)
    except IrkitError as exc:
        print(f"irkit: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
