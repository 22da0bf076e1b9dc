"""Helpers for the multi-model / multi-container server tests: an HTTP client with routing headers."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
TARGET_CONTAINER = "X-Amzn-SageMaker-Target-Container-Hostname"


def zeros_body(rows: int = 1) -> bytes:
    return json.dumps(np.zeros((rows, 224, 224, 3), dtype=np.float32).tolist()).encode()


BODY = zeros_body()


class Client:
    """One new connection per call; headers come back with lower-case names."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            return (response.status, {k.lower(): v for k, v in response.getheaders()},
                    json.loads(raw) if raw else {})
        finally:
            conn.close()

    def invoke(self, model: str | None = None, container: str | None = None, body: bytes = BODY,
               content_type: str = "application/json") -> tuple[int, dict[str, str], dict]:
        headers = {"Content-Type": content_type}
        if model is not None:
            headers[TARGET_MODEL] = model
        if container is not None:
            headers[TARGET_CONTAINER] = container
        return self.request("POST", "/invocations", body, headers)

    def models(self) -> dict[str, dict]:
        status, _, body = self.request("GET", "/models")
        assert status == 200
        return {m["name"]: m for m in body["models"]}


def copy_models(tarball: Path, folder: Path, names: list[str]) -> list[str]:
    """Copies of one model.tar.gz under several names (each a distinct model for the server)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(tarball, folder / name)
    return names
