"""Start the model server: ``python -m irkit.serve.server MODEL [options]`` / ``irkit serve``.

The parent pins itself to the CPU set (workers inherit it), extracts a model.tar.gz once, binds the
socket (port 0 picks a free one; ``--port-file`` tells it to whoever started us), then runs uvicorn:
one process, or a supervisor and ``SAGEMAKER_GUNICORN_WORKERS`` workers sharing the socket.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError, SpecError

APP_FACTORY = "irkit.serve.server:app_from_env"
MME_APP_FACTORY = "irkit.serve.mme_server:mme_app_from_env"
DEFAULT_PORT = 8080  # SageMaker's containers listen on 8080
STARTUP_FAILURE = 3
EXIT_WITH_PARENT_ENV = "IRKIT_EXIT_WITH_PARENT"  # pid; see exit_with_parent()


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


def parse_cpus(text: str) -> list[int]:
    cpus: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            cpus.extend(range(int(low), int(high or low) + 1))
        except ValueError:
            raise SpecError("--cpus", f"{text!r} is not a list of CPU ids like 0,1 or 0-3") from None
    if not cpus:
        raise SpecError("--cpus", f"{text!r} names no CPU")
    return cpus


def pin_cpus(cpus: str | None, instance_type: str | None) -> list[int] | None:
    """Pin this process (and so its future workers) to a CPU set; returns it."""
    if cpus:
        chosen = parse_cpus(cpus)
    elif instance_type:
        from irkit.instances import local_profile

        chosen = list(local_profile(instance_type).cpus)
    else:
        return None
    try:
        os.sched_setaffinity(0, chosen)
    except OSError as exc:
        raise SpecError("--cpus", f"cannot pin to CPUs {chosen}: {exc}") from None
    return chosen


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (it checks proto), else
    # Nagle + delayed ACK hold each answer's body ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise IrkitError(f"cannot listen on {host}:{port} (--host/--port): {exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def write_port_file(path: str, port: int) -> None:
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(str(port))
    partial.replace(target)


def run_uvicorn(sock: socket.socket, workers: int, log_level: str, app: Any = APP_FACTORY) -> int:
    """Run ``app`` (an import string of a factory, or an app object for one worker) on ``sock``."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=isinstance(app, str), workers=workers, log_level=log_level, access_log=False,
                            lifespan="on", http="h11", loop="asyncio", timeout_graceful_shutdown=5,
                            server_header=False)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return 0
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def exit_with_parent(poll_s: float = 1.0) -> None:
    """With ``IRKIT_EXIT_WITH_PARENT=<pid>`` (set by the multi-container router for its containers),
    SIGTERM ourselves once that process is gone, so a killed router leaves no container behind."""
    text = os.environ.pop(EXIT_WITH_PARENT_ENV, "").strip()
    if not text.isdigit():
        return
    parent = int(text)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="irkit-parent-watch", daemon=True).start()


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT. Raises IrkitError for bad settings, model or address."""
    mode = check_mode(args)
    if mode == "containers":
        from irkit.serve.containers import serve_containers

        return serve_containers(args)
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
    exit_with_parent()
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
    """"single", "multi-model" or "containers"; SpecError naming the option that does not fit."""
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
    if containers:
        return "containers"
    if multi_model:
        return "multi-model"
    if not args.model:
        raise SpecError("model", "name a model.tar.gz or SavedModel folder (or use --multi-model DIR / "
                                 "--container HOST=MODEL)")
    return "single"


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
        limits = mme.registry_settings_from_env()
    except ValueError:
        raise SpecError(mme.MAX_LOADED_ENV, f"{mme.MAX_LOADED_ENV} must be an integer and {mme.MEMORY_MB_ENV} "
                        "a number") from None
    if limits["max_loaded"] is not None and limits["max_loaded"] < 1:
        raise SpecError(mme.MAX_LOADED_ENV, "must be at least 1")
    if limits["memory_budget_mb"] is not None and limits["memory_budget_mb"] <= 0:
        raise SpecError(mme.MEMORY_MB_ENV, "must be more than 0")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m irkit.serve.server",
                                     description="Serve a SavedModel with SageMaker's container contract.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except IrkitError as exc:
        print(f"irkit: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
