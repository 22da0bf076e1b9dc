"""Local multi-container endpoints: one model server per container, a front router on the port.

``irkit serve --container a=model_a.tar.gz --container b=model_b.tar.gz`` starts one model server
process per container (a :class:`~irkit.serve.process.ServerProcess` on a free port) and
then a router on the endpoint's port. As with SageMaker's direct invocation mode,
``X-Amzn-SageMaker-Target-Container-Hostname: <hostname>`` picks the container; with one container
the header may be left out. The router forwards ``POST /invocations`` (body, content type and any
``X-Amzn-SageMaker-*`` header) and passes the answer back with ``X-Irkit-Container: <hostname>``.

Errors are JSON ``{"error": ...}``: 400 when the header is missing and there are several containers,
404 for an unknown hostname (the known ones are listed), 502 when a container does not answer,
413 for bodies over 6 MB. ``GET /ping`` is 200 once every container answered its own ``/ping``;
``GET /containers`` lists hostname, model, url and requests forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from irkit.errors import PayloadError, SpecError
from irkit.serve.responses import error_response, http_error, json_response, read_body, server_error

TARGET_CONTAINER_HEADER = "X-Amzn-SageMaker-Target-Container-Hostname"
CONTAINER_HEADER = "X-Irkit-Container"  # which container answered
# SageMaker's ContainerDefinition.ContainerHostname pattern
HOSTNAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
FORWARD_TIMEOUT_S = 120.0
FORWARD_THREADS = 64

log = logging.getLogger("irkit.containers")


def parse_container_specs(specs: Sequence[str]) -> dict[str, Path]:
    """``["a=model.tar.gz", ...]`` -> ``{"a": Path}``; SpecError naming ``--container`` otherwise."""
    containers: dict[str, Path] = {}
    for text in specs:
        hostname, sep, model = text.partition("=")
        hostname, model = hostname.strip(), model.strip()
        if not sep or not hostname or not model:
            raise SpecError("--container", f"{text!r} is not HOST=MODEL (e.g. a=work/model.tar.gz)")
        if not HOSTNAME_PATTERN.match(hostname):
            raise SpecError("--container", f"hostname {hostname!r} must be 1-63 letters, digits or "
                                           "hyphens, starting and ending with a letter or digit")
        if hostname in containers:
            raise SpecError("--container", f"hostname {hostname!r} is given twice")
        path = Path(model).expanduser()
        if not path.exists():
            raise SpecError("--container", f"model {model!r} of container {hostname!r} does not exist")
        containers[hostname] = path
    if not containers:
        raise SpecError("--container", "name at least one container as HOST=MODEL")
    return containers


@dataclass
class ContainerRoute:
    """One container the router forwards to, with keep-alive connections per forwarding thread."""

    hostname: str
    url: str
    model: str = ""
    requests: int = 0
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            parsed = urlparse(self.url)
            conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=FORWARD_TIMEOUT_S)
            self._local.conn = conn
        return conn

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        """POST on this container (blocking); one retry on a fresh connection if a kept one was closed."""
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    conn.close()
                    self._local.conn = None
                return response.status, response.getheaders(), data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class ContainerRouter:
    """The router's state: routes by hostname and the forwarding threads."""

    def __init__(self, routes: Mapping[str, str], models: Mapping[str, str] | None = None) -> None:
        if not routes:
            raise SpecError("--container", "name at least one container")
        self.routes = {name: ContainerRoute(name, url, str((models or {}).get(name, "")))
                       for name, url in routes.items()}
        self.executor = ThreadPoolExecutor(max_workers=FORWARD_THREADS, thread_name_prefix="irkit-route")

    def pick(self, hostname: str | None) -> ContainerRoute:
        """The route for a header value; PayloadError 400 (missing, several) or 404 (unknown)."""
        if not hostname:
            if len(self.routes) == 1:
                return next(iter(self.routes.values()))
            raise PayloadError(f"header {TARGET_CONTAINER_HEADER} is missing: this endpoint has "
                               f"{len(self.routes)} containers {sorted(self.routes)}")
        route = self.routes.get(hostname)
        if route is None:
            raise PayloadError(f"container {hostname!r} not found; {TARGET_CONTAINER_HEADER} must be one of "
                               f"{sorted(self.routes)}", status=404)
        return route

    def listing(self) -> dict[str, Any]:
        return {"containers": [{"hostname": r.hostname, "model": r.model, "url": r.url, "requests": r.requests}
                               for r in self.routes.values()]}

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def forwarded_headers(request: Request) -> dict[str, str]:
    out = {"Content-Type": request.headers.get("content-type", "application/json")}
    for name, value in request.headers.items():
        if name.lower().startswith("x-amzn-sagemaker-"):
            out[name] = value
    return out


async def invocations(request: Request) -> Response:
    router: ContainerRouter = request.app.state.router
    try:
        route = router.pick(request.headers.get(TARGET_CONTAINER_HEADER, "").strip() or None)
        body = await read_body(request)
    except PayloadError as exc:
        return error_response(str(exc), exc.status)
    loop = asyncio.get_running_loop()
    try:
        status, headers, data = await loop.run_in_executor(
            router.executor, route.forward, request.url.path, body, forwarded_headers(request))
    except (OSError, http.client.HTTPException) as exc:
        log.error("container %s did not answer: %s", route.hostname, exc)
        return error_response(f"container {route.hostname!r} did not answer: {type(exc).__name__}: {exc}",
                              502, {CONTAINER_HEADER: route.hostname})
    route.requests += 1
    return relay_answer(status, headers, data, {CONTAINER_HEADER: route.hostname})


def relay_answer(status: int, headers: Any, data: bytes, added: dict[str, str]) -> Response:
    """The backend's answer as the router's: its body, content type and X-Irkit-* headers, plus ``added``."""
    media_type = None
    passed: dict[str, str] = {}
    for key, value in headers:
        if key.lower() == "content-type":
            media_type = value
        elif key.lower().startswith("x-irkit-"):
            passed[key] = value
    passed.update(added)
    return Response(data, status_code=status, headers=passed, media_type=media_type)


async def ping(request: Request) -> Response:
    return json_response({"status": "ok"})


async def containers(request: Request) -> Response:
    return json_response(request.app.state.router.listing())


def create_router_app(routes: Mapping[str, str], models: Mapping[str, str] | None = None) -> Starlette:
    """The front router over already running containers: ``{hostname: "http://127.0.0.1:PORT"}``."""
    router = ContainerRouter(routes, models)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            router.close()

    app = Starlette(routes=[Route("/ping", ping, methods=["GET"]),
                            Route("/invocations", invocations, methods=["POST"]),
                            Route("/containers", containers, methods=["GET"])],
                    lifespan=lifespan, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.router = router
    return app


def start_containers(containers: Mapping[str, Path], *, host: str = "127.0.0.1", cpus: Sequence[int] | None = None,
                     log_dir: Path | None = None, workers: int | None = None, timeout: float = 180.0) -> dict[str, Any]:
    """Start one ServerProcess per container, all at once; on any failure stop them all and raise."""
    from irkit.serve.hosting import EXIT_WITH_PARENT_ENV
    from irkit.serve.process import ServerProcess

    watch = {EXIT_WITH_PARENT_ENV: str(os.getpid())}  # each container exits if this process dies
    servers = {name: ServerProcess(path, port=0, host=host, cpus=cpus, workers=workers, env=watch,
                                   log_path=(log_dir / f"container-{name}.log") if log_dir else None)
               for name, path in containers.items()}
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = {name: pool.submit(server.start, timeout) for name, server in servers.items()}
        errors = []
        for name, future in futures.items():
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - reported below with the container's name
                errors.append(f"container {name!r}: {exc}")
    if errors:
        stop_containers(servers)
        from irkit.errors import BackendError

        raise BackendError("; ".join(errors))
    return servers


def stop_containers(servers: Mapping[str, Any]) -> None:
    for server in servers.values():
        server.stop()
