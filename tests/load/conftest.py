from __future__ import annotations

import uuid

import pytest
from helpers_process import MARK_ENV


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.json"
    path.write_bytes(b"[[0.1, 0.2, 0.3]]")
    return path


@pytest.fixture
def mark(monkeypatch):
    """A unique env mark every Locust process of this test inherits, to look for leftovers."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, value)
    return value
