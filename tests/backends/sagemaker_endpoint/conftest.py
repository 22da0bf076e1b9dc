"""Fixtures for this directory live in endpoint_helpers.py, which tests import by that unique name
(two directories each importing `conftest` would get whichever was loaded first)."""

from endpoint_helpers import *  # noqa: F401,F403
