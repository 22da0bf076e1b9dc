"""Helpers for the server tests: a small HTTP client and request bodies."""

from __future__ import annotations

import http.client
import io
import json
from urllib.parse import urlparse

import numpy as np


class Client:
    """Tiny HTTP client: one new connection per call, so a broken request cannot spoil the next."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            all_headers = dict(headers or {})
            if content_type:
                all_headers["Content-Type"] = content_type
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, dict(response.getheaders()), (json.loads(raw) if raw else {})
        finally:
            conn.close()

    def invoke(self, body: bytes, content_type: str = "application/json", path: str = "/invocations"):
        return self.request("POST", path, body, content_type)

    def ping(self) -> int:
        return self.request("GET", "/ping")[0]


def instance_batch(rows: int = 1, seed: int = 0) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(-1, 1, size=(rows, 224, 224, 3)), 3).astype(np.float32)


def npy_body(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def image_body(fmt: str, size=(64, 48)) -> bytes:
    from PIL import Image

    pixels = (np.random.default_rng(1).uniform(0, 255, size=(size[1], size[0], 3))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def json_list(array: np.ndarray) -> list:
    """The array as a nested list with short decimals (float32 -> float64 would print 17 digits)."""
    return np.round(array.astype(np.float64), 4).tolist()
