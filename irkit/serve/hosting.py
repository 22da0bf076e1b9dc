"""How a server process hosts an app: pin to a CPU set, bind the socket, run uvicorn, exit with the parent.

The parts every ``irkit serve`` mode (single model, multi-model, multi-container router) uses:
``pin_cpus`` pins this process (uvicorn workers inherit it), ``bind_socket`` binds (port 0 picks a
free one; ``write_port_file`` tells whoever started us), ``run_uvicorn`` runs one process or a
supervisor and ``SAGEMAKER_GUNICORN_WORKERS`` workers sharing the socket. Imports no other serve module.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError, SpecError

DEFAULT_PORT = 8080  # SageMaker's containers listen on 8080
STARTUP_FAILURE = 3
EXIT_WITH_PARENT_ENV = "IRKIT_EXIT_WITH_PARENT"  # pid; see exit_with_parent()


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


def run_uvicorn(sock: socket.socket, workers: int, log_level: str, app: Any) -> int:
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
