"""The JSON answers every irkit server gives: bodies, errors, the 6 MB body limit.

Shared by the single-model server (server.py), the multi-model server (mme_server.py) and the
multi-container router (containers.py), so an error looks the same whichever answered it.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from irkit.errors import PayloadError

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time invocation limit

log = logging.getLogger("irkit.server")


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, refused with 413 past ``limit`` (from Content-Length, then while streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise PayloadError(f"Content-Length {declared!r} is not a number") from None
        if size > limit:
            raise PayloadError(f"request body of {size} bytes is over the {limit}-byte limit", status=413)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise PayloadError(f"request body is over the {limit}-byte limit", status=413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise PayloadError("the client disconnected before the body was complete") from None
    return b"".join(chunks)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(f"{exc.detail}: {request.method} {request.url.path}", exc.status_code,
                          dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(f"internal error: {type(exc).__name__}: {exc}", 500)
