"""Paths of the recorded results (tests/results/data, written by data/make_recorded.py)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
SAGEMAKER_FILE = DATA / "sagemaker_describe.json"
LOCAL_FILE = DATA / "local_result.json"
MEASURED_FILE = DATA / "measured_result.json"  # the knee search's quality fields (issue 13)
