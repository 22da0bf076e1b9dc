"""The local multi-model server (MME): SageMaker's multi-model endpoint semantics over Starlette.

``POST /invocations`` with ``X-Amzn-SageMaker-Target-Model: <name>.tar.gz`` runs the request on that
model of the served folder, loading it first if needed (see :mod:`.mme` for loading and LRU
eviction). Bodies, content types, batching and env knobs are the single-model server's
(:mod:`.server`, :mod:`.decode`, :mod:`.batcher`, :mod:`.modelhost`); each loaded model gets its own
:class:`~irkit.serve.server.Serving`.

Every answer to ``POST /invocations`` carries ``X-Irkit-Model-Cache: hit|miss``; the request that ran
a load also carries ``X-Irkit-Model-Load-Ms``. ``GET /models`` lists the models and their counters.
A missing header is 400, an unknown model 404, a model that fails to load 500 (507 when it is bigger
than the whole memory budget), each a JSON ``{"error": ...}`` naming the model; the others keep serving.

Run it with ``irkit serve --multi-model DIR [--max-loaded N] [--memory-mb MB]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from irkit.errors import IrkitError
from irkit.serve import decode as decoding
from irkit.serve.model_cache import (
    CACHE_MISS,
    MME_DIR_ENV,
    MME_WORK_DIR_ENV,
    Lease,
    ModelCache,
    ModelRoutingError,
    cache_settings_from_env,
)
from irkit.serve.responses import error_response, http_error, json_response, server_error
from irkit.serve.server import WORKER_HEADER, Serving, predict, read_payload
from irkit.serve.settings import ServerSettings

TARGET_MODEL_HEADER = "X-Amzn-SageMaker-Target-Model"
CACHE_HEADER = "X-Irkit-Model-Cache"  # hit | miss
LOAD_MS_HEADER = "X-Irkit-Model-Load-Ms"  # only on the request that ran the load

log = logging.getLogger("irkit.mme")


class MultiModelServing:
    """What one worker holds: the model cache, the settings and the image preprocessing."""

    def __init__(self, model_dir: str | Path, settings: ServerSettings, *, max_loaded: int | None = None,
                 memory_budget_mb: float | None = None, work_dir: str | Path | None = None,
                 preprocess: Any = None) -> None:
        self.settings = settings
        self.preprocess = preprocess or decoding.image_preprocessor(settings.image_preprocess)
        self.cache = ModelCache(model_dir, self.load_model, max_loaded=max_loaded,
                                      memory_budget_mb=memory_budget_mb, work_dir=work_dir)
        self.requests = 0

    def load_model(self, savedmodel_dir: Path) -> Serving:
        serving = Serving(savedmodel_dir, self.settings, self.preprocess)
        serving.load()
        return serving

    def warm_up(self) -> None:
        """Import TensorFlow and set its threads now, so a model's first load times only that model."""
        from irkit.serve.modelhost import configure_threads

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        configure_threads(self.settings.intra_op_threads, self.settings.inter_op_threads)
        # TensorFlow's many long-lived objects go to the permanent generation, so the collection
        # that frees an evicted model takes ~10 ms instead of ~150 ms (measured on the tiny model).
        gc.freeze()

    def stats(self) -> dict[str, Any]:
        return {"worker": os.getpid(), "requests": self.requests, "loaded": self.cache.loaded_names(),
                "settings": dict(vars(self.settings))}


async def acquire_in_thread(cache: ModelCache, name: str) -> Lease:
    """``cache.acquire`` off the event loop; a lease that arrives after the request was cancelled
    (the client went away during a load) is released, so the model can be closed on eviction."""
    future = asyncio.ensure_future(asyncio.to_thread(cache.acquire, name))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        def release_late(done: asyncio.Future) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().release()

        future.add_done_callback(release_late)
        raise


async def invocations(request: Request) -> Response:
    mms: MultiModelServing = request.app.state.serving
    headers = {WORKER_HEADER: str(os.getpid()), CACHE_HEADER: CACHE_MISS}
    name = request.headers.get(TARGET_MODEL_HEADER, "").strip()
    if not name:
        return error_response(f"header {TARGET_MODEL_HEADER} is missing: this is a multi-model endpoint; "
                              f"name one of {mms.cache.scan()}", 400, headers)
    payload = await read_payload(request, headers)
    if isinstance(payload, Response):
        return payload
    try:
        lease = mms.cache.lease_if_loaded(name) or await acquire_in_thread(mms.cache, name)
    except ModelRoutingError as exc:
        return error_response(str(exc), exc.status, headers)
    headers[CACHE_HEADER] = lease.cache
    if lease.load_ms is not None:
        headers[LOAD_MS_HEADER] = f"{lease.load_ms:.3f}"
    answer = await predict(lease.served, *payload, headers, model=name, done=lease.release, logger=log)
    if answer.status_code == 200:
        mms.requests += 1
    return answer


async def ping(request: Request) -> Response:
    return json_response({"status": "ok"})


async def models(request: Request) -> Response:
    return json_response(request.app.state.serving.cache.snapshot())


async def stats(request: Request) -> Response:
    return json_response(request.app.state.serving.stats())


async def unload_model(request: Request) -> Response:
    """``DELETE /models/<name>``: SageMaker's MME container contract for unloading a model."""
    name = request.path_params["name"]
    try:
        unloaded = await asyncio.to_thread(request.app.state.serving.cache.unload, name)
    except ModelRoutingError as exc:
        return error_response(str(exc), exc.status, {})
    return json_response({"model": name, "unloaded": unloaded})


def create_mme_app(model_dir: str | Path | None = None, settings: ServerSettings | None = None, *,
                   max_loaded: int | None = None, memory_budget_mb: float | None = None,
                   work_dir: str | Path | None = None, preprocess: Any = None) -> Starlette:
    """The ASGI app for one worker; TensorFlow is imported at startup, models on first request."""
    folder = model_dir or os.environ.get(MME_DIR_ENV)
    if not folder:
        raise IrkitError(f"no model folder: pass model_dir or set {MME_DIR_ENV}")
    mms = MultiModelServing(folder, settings or ServerSettings.from_env(), max_loaded=max_loaded,
                            memory_budget_mb=memory_budget_mb, work_dir=work_dir, preprocess=preprocess)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(mms.warm_up)
        log.info("multi-model server on %s: %s", folder, mms.cache.scan())
        try:
            yield
        finally:
            mms.cache.close()

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/models", models, methods=["GET"]),
        Route("/models/{name:path}", unload_model, methods=["DELETE"]),
        Route("/stats", stats, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.serving = mms
    return app


def mme_app_from_env() -> Starlette:
    """The factory uvicorn's workers call; each worker extracts into its own folder."""
    base = os.environ.get(MME_WORK_DIR_ENV)
    work_dir = Path(base) / f"worker-{os.getpid()}" if base else None
    return create_mme_app(work_dir=work_dir, **cache_settings_from_env())
