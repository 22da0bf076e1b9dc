"""N replicas of one model behind a round-robin router: a local stand-in for an N-instance endpoint.

``irkit serve MODEL --replicas 2 --instance-type local.cpu1`` starts two model servers (each a
:class:`~irkit.serve.process.ServerProcess` pinned to its own ``local.cpu1`` core set, taken in
order from the CPUs this process may use) and a router on the endpoint's port that sends each
``POST /invocations`` to the next replica in turn, as SageMaker spreads a variant's traffic over
its instances. ``ServerProcess(model, replicas=2, cpus=[0, 1])`` does the same from Python: the
CPU list is cut into equal blocks, one per replica. ``irkit plan --validate`` uses it to replay a
trace at full scale against the planned instance count.

Answers pass through with ``X-Irkit-Replica: <index>``. ``GET /ping`` answers once every replica
did; ``GET /replicas`` lists each replica's URL and the requests it was sent. A replica that does
not answer gives 502 naming it. The router reuses the multi-container router's forwarding
(keep-alive connections per forwarding thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from irkit.errors import BackendError, PayloadError, SpecError
from irkit.serve.containers import FORWARD_THREADS, ContainerRoute, forwarded_headers, relay_answer
from irkit.serve.responses import error_response, http_error, json_response, read_body, server_error

REPLICA_HEADER = "X-Irkit-Replica"  # which replica answered (0-based)
MAX_REPLICAS = 64

log = logging.getLogger("irkit.replicas")


class ReplicaRouter:
    """Round-robin over replica URLs, with the forwarding threads."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise SpecError("--replicas", "needs at least one replica")
        self.routes = [ContainerRoute(str(i), url) for i, url in enumerate(urls)]
        self.next = 0
        self.executor = ThreadPoolExecutor(max_workers=FORWARD_THREADS, thread_name_prefix="irkit-replica")

    def pick(self) -> ContainerRoute:
        route = self.routes[self.next % len(self.routes)]
        self.next += 1
        return route

    def listing(self) -> dict[str, Any]:
        return {"replicas": [{"index": int(r.hostname), "url": r.url, "requests": r.requests} for r in self.routes]}

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


async def invocations(request: Request) -> Response:
    router: ReplicaRouter = request.app.state.router
    try:
        body = await read_body(request)
    except PayloadError as exc:
        return error_response(str(exc), exc.status)
    route = router.pick()
    loop = asyncio.get_running_loop()
    try:
        status, headers, data = await loop.run_in_executor(
            router.executor, route.forward, request.url.path, body, forwarded_headers(request))
    except (OSError, http.client.HTTPException) as exc:
        log.error("replica %s did not answer: %s", route.hostname, exc)
        return error_response(f"replica {route.hostname} ({route.url}) did not answer: {type(exc).__name__}: {exc}",
                              502, {REPLICA_HEADER: route.hostname})
    route.requests += 1
    return relay_answer(status, headers, data, {REPLICA_HEADER: route.hostname})


async def ping(request: Request) -> Response:
    return json_response({"status": "ok", "replicas": len(request.app.state.router.routes)})


async def replicas(request: Request) -> Response:
    return json_response(request.app.state.router.listing())


def create_balancer_app(urls: Sequence[str]) -> Starlette:
    """The round-robin router over already running replicas: ``["http://127.0.0.1:PORT", ...]``."""
    router = ReplicaRouter(urls)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            router.close()

    app = Starlette(routes=[Route("/ping", ping, methods=["GET"]),
                            Route("/invocations", invocations, methods=["POST"]),
                            Route("/replicas", replicas, methods=["GET"])],
                    lifespan=lifespan, exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.router = router
    return app


def split_cpus(cpus: Sequence[int] | None, replicas: int, per_replica: int | None = None) -> list[list[int] | None]:
    """One CPU block per replica: ``per_replica`` CPUs each (default: an equal share of ``cpus``).

    ``cpus`` None means every CPU this process may use. SpecError naming ``--replicas`` when there
    are not enough CPUs for a block each.
    """
    if replicas < 1 or replicas > MAX_REPLICAS:
        raise SpecError("--replicas", f"must be 1-{MAX_REPLICAS}, got {replicas}")
    available = list(cpus) if cpus else sorted(os.sched_getaffinity(0))
    size = per_replica or len(available) // replicas
    if size < 1 or size * replicas > len(available):
        each = max(1, size)
        raise SpecError("--replicas", f"{replicas} replica(s) of {each} CPU(s) need {replicas * each} CPUs; "
                                      f"{len(available)} are available ({available})")
    return [available[i * size:(i + 1) * size] for i in range(replicas)]


def start_replicas(model: str | Path, blocks: Sequence[Sequence[int] | None], *, host: str = "127.0.0.1",
                   log_dir: Path | None = None, workers: int | None = None, timeout: float = 180.0) -> list[Any]:
    """Start one ServerProcess per CPU block, all at once; on any failure stop them all and raise."""
    from irkit.serve.hosting import EXIT_WITH_PARENT_ENV
    from irkit.serve.process import ServerProcess

    watch = {EXIT_WITH_PARENT_ENV: str(os.getpid())}  # each replica exits if the router dies
    servers = [ServerProcess(model, port=0, host=host, cpus=block, workers=workers, env=watch,
                             log_path=(log_dir / f"replica-{i}.log") if log_dir else None)
               for i, block in enumerate(blocks)]
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = [pool.submit(server.start, timeout) for server in servers]
        errors = []
        for i, future in enumerate(futures):
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - reported below with the replica's index
                errors.append(f"replica {i}: {exc}")
    if errors:
        for server in servers:
            server.stop()
        raise BackendError("; ".join(errors))
    return servers


def serve_replicas(args: Any) -> int:
    """``irkit serve MODEL --replicas N``: start the replicas, route round-robin until SIGTERM/SIGINT."""
    import shutil
    import sys
    import tempfile

    from irkit.serve.hosting import bind_socket, parse_cpus, run_until_signal, write_port_file

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    per_replica = None
    if args.cpus:
        cpus: list[int] | None = parse_cpus(args.cpus)
    else:
        cpus = None
        if args.instance_type:
            from irkit.instances import local_profile

            per_replica = len(local_profile(args.instance_type).cpus)
    blocks = split_cpus(cpus, args.replicas, per_replica)
    own_work_dir = args.work_dir is None
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="irkit-replicas-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    servers: list[Any] = []
    try:
        servers = start_replicas(args.model, blocks, log_dir=work_dir, workers=args.workers)
        app = create_balancer_app([server.url for server in servers])
        sock = bind_socket(args.host, args.port)
        port = sock.getsockname()[1]
        if args.port_file:
            write_port_file(args.port_file, port)
        listing = ", ".join(f"{s.url} on CPUs {b}" for s, b in zip(servers, blocks, strict=True))
        print(f"irkit serve: {len(servers)} replica(s) of {args.model} ({listing}) behind "
              f"http://{args.host}:{port}, round-robin", file=sys.stderr, flush=True)
        return run_until_signal(sock, args.log_level, app, on_sigterm=_exit_on_sigterm)
    finally:
        for server in servers:
            server.stop()
        if own_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # exit code 143 (not hosting.interrupt_on_sigterm's 130)
