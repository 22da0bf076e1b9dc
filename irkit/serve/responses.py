"""The JSON answers every irkit server gives: bodies, errors, the 6 MB body limit.

Shared by the single-model server (server.py), the multi-model server (mme_server.py) and the
multi-container router (containers.py), so an error looks the same whichever answered it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from irkit.errors import PayloadError

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time invocation limit
DRAIN_MAX_BYTES = 64 * 1024 * 1024  # a body over the limit is read (and dropped) up to this, then 413
DRAIN_IDLE_S = 1.0  # ... as long as it keeps coming

log = logging.getLogger("irkit.server")


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refused with 413 past ``limit`` (from Content-Length, then while streaming).

    Before a 413 the rest of the body is read and dropped (up to ``DRAIN_MAX_BYTES``): a server
    that answers and closes while the client is still sending makes the client's send fail with
    "connection reset", so a plain client (urllib, requests) would never see the 413.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError(f"Content-Length {declared!r} is not a number") from None
        if size > limit:
            await _drain(request, DRAIN_MAX_BYTES)
            raise PayloadError(f"request body of {size} bytes is over the {limit}-byte limit", status=413)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                await _drain(request, DRAIN_MAX_BYTES - total)
                raise PayloadError(f"request body is over the {limit}-byte limit", status=413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise PayloadError("the client disconnected before the body was complete") from None
    return b"".join(chunks)


async def _drain(request: Request, budget: int) -> None:
    """Read and drop what is left of the body: at most ``budget`` bytes, and only while it keeps
    coming (a client that declared more than it sends is answered after ``DRAIN_IDLE_S``)."""
    drained = 0
    chunks = request.stream()
    try:
        while drained < budget:
            drained += len(await asyncio.wait_for(anext(chunks), DRAIN_IDLE_S))
    except (StopAsyncIteration, asyncio.TimeoutError, ClientDisconnect, RuntimeError):  # RuntimeError: already read
        return
    finally:
        await chunks.aclose()


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(f"{exc.detail}: {request.method} {request.url.path}", exc.status_code,
                          dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(f"internal error: {type(exc).__name__}: {exc}", 500)
