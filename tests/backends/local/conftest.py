"""Fixtures for the runner tests: the fakes plugged into the background job process."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def plugged(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("IRKIT_LOCAL_SERVER_FACTORY", "runner_fakes:FakeServer")
    monkeypatch.setenv("IRKIT_LOCAL_LOAD_FN", "runner_fakes:slow_load")
    payload = tmp_path / "payload.tar.gz"
    body = b"[[[0.0]]]"
    with tarfile.open(payload, "w:gz") as tar:
        info = tarfile.TarInfo("x.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not read by the fake server")
    return {"model": model, "payload": payload}


