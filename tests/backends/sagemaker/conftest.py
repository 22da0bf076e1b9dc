"""Fixtures for this directory live in sm_helpers.py, which tests import by that unique name
(two directories each importing `conftest` would get whichever was loaded first)."""

from sm_helpers import *  # noqa: F401,F403
