"""Shared test set-up. No test can reach AWS: fake credentials and region are set before any import."""

from __future__ import annotations

import os

# Set before boto3 is imported anywhere, so no test can reach a real account.
for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _irkit_home(tmp_path, monkeypatch):
    """Every test gets its own IRKIT_HOME, so the job store starts empty."""
    home = tmp_path / "irkit-home"
    monkeypatch.setenv("IRKIT_HOME", str(home))
    return home
