"""Fixtures for the fault tests (helpers: faults_helpers.py)."""

from __future__ import annotations

import uuid

import psutil
import pytest
from faults_helpers import MARK_ENV, marked


@pytest.fixture
def mark(monkeypatch):
    """A fresh mark set in os.environ; whatever still carries it at the end is killed."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, value)
    yield value
    for process in marked(value):
        try:
            process.kill()
        except psutil.Error:
            pass
