"""The local model server: SageMaker's container contract over Starlette + uvicorn.

``GET /ping`` is 200 once the model is loaded. ``POST /invocations`` (and TF Serving's alias
``POST /v1/models/<name>:predict``) takes ``application/json`` (``{"instances": ...}``,
``{"inputs": ...}`` or a bare nested list), ``application/x-npy``, ``image/jpeg`` or ``image/png`` and
answers ``{"predictions": [[...], ...]}``. Bad input gets a 4xx ``{"error": "..."}`` and the server
stays up; bodies over 6 MB get 413. ``GET /stats`` (irkit's own) reports this worker's batch counters.

Run it with ``irkit serve MODEL`` or ``python -m irkit.serve MODEL`` (see :mod:`irkit.serve.main`);
the env knobs are in :mod:`irkit.serve.settings`, the JSON answers and body limit in
:mod:`irkit.serve.responses`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from irkit.errors import IrkitError, PayloadError
from irkit.serve import decode as decoding
from irkit.serve.batcher import DynamicBatcher
from irkit.serve.responses import (
    error_response,
    http_error,
    json_response,
    read_body,
    server_error,
)
from irkit.serve.settings import ServerSettings

MODEL_DIR_ENV = "IRKIT_SERVE_MODEL_DIR"  # the SavedModel folder serve.main hands to each worker
BATCH_ROWS_HEADER = "X-Irkit-Batch-Rows"  # rows in the model call that served this request
WORKER_HEADER = "X-Irkit-Worker"  # pid of the worker process that answered

log = logging.getLogger("irkit.server")


class Serving:
    """What one worker process holds: the model, the batcher or thread pool, the preprocessing."""

    def __init__(self, model_dir: str | Path, settings: ServerSettings, preprocess: Any = None) -> None:
        self.model_dir = Path(model_dir)
        self.settings = settings
        self.preprocess = preprocess or decoding.image_preprocessor(settings.image_preprocess)
        self.host: Any = None
        self.batcher: DynamicBatcher | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.requests = 0

    def load(self) -> None:
        from irkit.serve.runtimes import load_host

        host = load_host(self.model_dir, self.settings)  # IRKIT_RUNTIME's engine (TensorFlow by default)
        if self.settings.enable_batching:
            self.batcher = DynamicBatcher(host.predict, self.settings.max_batch_size,
                                          self.settings.batch_timeout_micros / 1e6, self.settings.num_batch_threads)
        else:
            self.executor = ThreadPoolExecutor(max_workers=self.settings.num_batch_threads,
                                               thread_name_prefix="irkit-infer")
        self.host = host

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    async def infer(self, batch: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
        if self.batcher is not None:
            return await self.batcher.submit(batch)
        loop = asyncio.get_running_loop()
        outputs = await loop.run_in_executor(self.executor, self.host.predict, batch)
        return outputs, batch.shape[0]

    def stats(self) -> dict[str, Any]:
        batches = self.batcher.stats.as_dict() if self.batcher is not None else None
        return {"worker": os.getpid(), "requests": self.requests, "batching": batches,
                "settings": {k: v for k, v in vars(self.settings).items()}}


def predictions_body(outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """TF Serving's row format: a list per instance, or a dict per instance for several outputs."""
    if len(outputs) == 1:
        (value,) = outputs.values()
        return {"predictions": np.ascontiguousarray(value)}
    rows = len(next(iter(outputs.values())))
    return {"predictions": [{name: np.ascontiguousarray(value[i]) for name, value in outputs.items()}
                            for i in range(rows)]}


async def read_payload(request: Request, headers: dict[str, str]) -> tuple[str, bytes] | Response:
    """The request's decodable kind and body, or the 415/413/400 answer (with ``headers``) saying why not."""
    content_type = request.headers.get("content-type")
    kind = decoding.media_type(content_type)
    if kind not in decoding.SUPPORTED_TYPES:
        return error_response(f"Content-Type {content_type!r} is not supported; use one of "
                              f"{sorted(decoding.SUPPORTED_TYPES)}", 415, headers)
    try:
        return kind, await read_body(request)
    except PayloadError as exc:
        return error_response(str(exc), exc.status, headers)


async def predict(serving: Serving, kind: str, body: bytes, headers: dict[str, str], *, model: str | None = None,
                  done: Callable[[], None] | None = None, logger: logging.Logger = log) -> Response:
    """Decode, check and run ``body`` on ``serving``'s model: the predictions with ``BATCH_ROWS_HEADER``,
    or a 4xx (bad input) / 500 (the model failed) JSON error, naming ``model`` when given.

    ``done`` runs as soon as the model call is over (or failed), before the answer is encoded.
    """
    prefix = f"model {model!r}: " if model is not None else ""
    try:
        array = decoding.decode(body, kind, serving.host.image_size, serving.preprocess)
        batch = serving.host.check(array)
        outputs, rows = await serving.infer(batch)
    except PayloadError as exc:
        return error_response(f"{prefix}{exc}", exc.status, headers)
    except IrkitError as exc:
        logger.error("invocation%s failed: %s", f" of {model}" if model is not None else "", exc)
        return error_response(f"{prefix}{exc}", 500, headers)
    finally:
        if done is not None:
            done()
    serving.requests += 1
    headers[BATCH_ROWS_HEADER] = str(rows)
    return json_response(predictions_body(outputs), headers=headers)


async def invocations(request: Request) -> Response:
    serving: Serving = request.app.state.serving
    headers = {WORKER_HEADER: str(os.getpid())}
    if serving.host is None:
        return error_response("the model is still loading", 503, headers)
    payload = await read_payload(request, headers)
    if isinstance(payload, Response):
        return payload
    return await predict(serving, *payload, headers)


async def ping(request: Request) -> Response:
    ready = request.app.state.serving.host is not None
    return json_response({"status": "ok" if ready else "loading"}, 200 if ready else 503)


async def model_status(request: Request) -> Response:
    """TF Serving's ``GET /v1/models/<name>``."""
    if ":" in request.path_params["name"]:  # GET .../<name>:predict
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": "POST"})
    ready = request.app.state.serving.host is not None
    state = "AVAILABLE" if ready else "LOADING"
    return json_response({"model_version_status": [{"version": "1", "state": state,
                                                    "status": {"error_code": "OK", "error_message": ""}}]})


async def stats(request: Request) -> Response:
    return json_response(request.app.state.serving.stats())


def create_app(model_dir: str | Path | None = None, settings: ServerSettings | None = None,
               preprocess: Any = None) -> Starlette:
    """The ASGI app for one worker. The model loads at startup; /ping answers 200 after that."""
    folder = model_dir or os.environ.get(MODEL_DIR_ENV)
    if not folder:
        raise IrkitError(f"no model: pass model_dir or set {MODEL_DIR_ENV}")
    serving = Serving(folder, settings or ServerSettings.from_env(), preprocess)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(serving.load)
        except IrkitError as exc:
            log.error("irkit serve: %s", exc)
            raise
        log.info("model %s loaded; input %s %s", serving.model_dir, serving.host.input_name,
                 list(serving.host.input_shape))
        try:
            yield
        finally:
            serving.close()

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/v1/models/{name}:predict", invocations, methods=["POST"]),
        Route("/v1/models/{name}", model_status, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.serving = serving
    return app


def app_from_env() -> Starlette:
    """The factory uvicorn's workers call (``irkit.serve.server:app_from_env``)."""
    return create_app()

