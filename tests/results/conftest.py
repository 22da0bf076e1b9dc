"""Fixtures: fresh copies of the recorded results for each test."""

from __future__ import annotations

import json

import pytest
from results_data import LOCAL_FILE, MEASURED_FILE, SAGEMAKER_FILE


@pytest.fixture
def sagemaker_result() -> dict:
    return json.loads(SAGEMAKER_FILE.read_text())


@pytest.fixture
def local_result() -> dict:
    return json.loads(LOCAL_FILE.read_text())


@pytest.fixture
def measured_result() -> dict:
    return json.loads(MEASURED_FILE.read_text())
