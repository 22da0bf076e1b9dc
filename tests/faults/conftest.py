"""Fixtures for the fault tests (helpers: faults_helpers.py, ../helpers_process.py)."""

from __future__ import annotations

import uuid

import pytest
from helpers_process import MARK_ENV, kill_marked


@pytest.fixture
def mark(monkeypatch):
    """A fresh mark set in os.environ; whatever still carries it at the end is killed."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK_ENV, value)
    yield value
    kill_marked(value)
