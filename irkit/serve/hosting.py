"""How a server process hosts an app: pin to a CPU set, bind the socket, run uvicorn, exit with the parent.

The parts every ``irkit serve`` mode (single model, multi-model, multi-container router) uses:
``pin_cpus`` pins this process (uvicorn workers inherit it), ``bind_socket`` binds (port 0 picks a
free one; ``write_port_file`` tells whoever started us), ``run_uvicorn`` runs one process or a
supervisor and ``SAGEMAKER_GUNICORN_WORKERS`` workers sharing the socket, ``run_until_signal``
runs a router in one process until SIGTERM/SIGINT, ``exit_with_parent`` makes a server or worker end
when the process that started it dies. Imports no other serve module.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError, SpecError

DEFAULT_PORT = 8080  # SageMaker's containers listen on 8080
STARTUP_FAILURE = 3
EXIT_WITH_PARENT_ENV = "IRKIT_EXIT_WITH_PARENT"  # pid; see exit_with_parent()
PARENT_POLL_S = 0.5
PARENT_GRACE_S = 6.0  # SIGTERM -> hard exit (uvicorn's graceful shutdown takes up to 5 s)
WORKER_APP = "irkit.serve.hosting:worker_app"  # what each uvicorn worker runs (see worker_app)
WORKER_FACTORY_ENV = "IRKIT_SERVE_APP_FACTORY"  # the real app factory worker_app builds
EXIT_INTERRUPTED = 130  # stopped by SIGINT or SIGTERM


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


def _supervisor_class() -> type:
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, remembering whether SIGINT/SIGTERM stopped it (it swallows them)."""

        signalled = False

        def handle_int(self) -> None:
            self.signalled = True
            super().handle_int()

        def handle_term(self) -> None:
            self.signalled = True
            super().handle_term()

    return Supervisor


def worker_app() -> Any:
    """The factory each uvicorn worker process calls: watch the supervisor (``exit_with_parent``),
    keep TensorFlow's import quiet, then build the real app (``$IRKIT_SERVE_APP_FACTORY``)."""
    import importlib

    from irkit._lazy import quiet_native_logs

    exit_with_parent()
    quiet_native_logs()
    module, _, name = os.environ[WORKER_FACTORY_ENV].partition(":")
    return getattr(importlib.import_module(module), name)()


def run_uvicorn(sock: socket.socket, workers: int, log_level: str, app: Any) -> int:
    """Run ``app`` (an import string of a factory, or an app object for one worker) on ``sock``.

    Returns 0 or ``STARTUP_FAILURE``. Stopped by SIGINT/SIGTERM, one process re-raises that signal
    after its graceful shutdown (uvicorn does; the caller's handlers map it, SIGINT to
    KeyboardInterrupt) and a supervisor of workers raises KeyboardInterrupt. Each worker of a
    supervisor ends if the supervisor dies (``worker_app``).
    """
    import uvicorn

    if workers > 1 and isinstance(app, str):
        os.environ[WORKER_FACTORY_ENV] = app
        os.environ[EXIT_WITH_PARENT_ENV] = str(os.getpid())
        app = WORKER_APP
    config = uvicorn.Config(app, factory=isinstance(app, str), workers=workers, log_level=log_level, access_log=False,
                            lifespan="on", http="h11", loop="asyncio", timeout_graceful_shutdown=5,
                            server_header=False)
    if workers > 1:
        supervisor = _supervisor_class()(config, sockets=[sock])
        supervisor.run()
        if supervisor.signalled:  # as one process does: the caller sees the stop as Ctrl-C
            raise KeyboardInterrupt("the workers' supervisor was stopped by a signal")
        return 0
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def interrupt_on_sigterm(signum: int, frame: object) -> None:
    """A SIGTERM handler that stops the process as Ctrl-C does: cleanup runs, the exit code is 130."""
    raise KeyboardInterrupt(f"signal {signum}")


def run_until_signal(sock: socket.socket, log_level: str, app: Any,
                     on_sigterm: Callable[[int, Any], None] = interrupt_on_sigterm) -> int:
    """``run_uvicorn`` in this one process with ``on_sigterm`` as SIGTERM's handler meanwhile.

    For a router in front of child servers: uvicorn re-raises the SIGTERM it stopped on after its
    graceful shutdown, and ``on_sigterm`` turns it into an exception, so the caller's ``finally``
    stops the children instead of orphaning them. The previous handler is restored and ``sock``
    closed on the way out.
    """
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return run_uvicorn(sock, 1, log_level, app)
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def exit_with_parent(poll_s: float = PARENT_POLL_S, grace_s: float = PARENT_GRACE_S) -> int | None:
    """With ``IRKIT_EXIT_WITH_PARENT=<pid>`` set (by ``ServerProcess``, the multi-container router
    and ``run_uvicorn`` for its workers), end this process within about a second of that parent
    dying, even of SIGKILL; returns the watched pid, or None when the variable is not set.

    A thread polls the parent pid; once it changed, SIGTERM lets the process stop as it normally
    does, and if it is still there ``grace_s`` later it exits hard. (Not ``prctl(PR_SET_PDEATHSIG)``:
    Linux sends that when the parent *thread* that started us ends, and parents start servers from
    short-lived threads, e.g. the router starts its containers from a thread pool.) The variable is
    removed from the environment, so our own children do not watch the wrong pid.
    """
    text = os.environ.pop(EXIT_WITH_PARENT_ENV, "").strip()
    if not text.isdigit():
        return None
    parent = int(text)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)  # SIGTERM was handled but the process did not stop: do not linger

    threading.Thread(target=watch, name="irkit-parent-watch", daemon=True).start()
    return parent
