"""A real model server on 127.0.0.1 for a whole module, over the tiny model from tests/conftest.py."""

from __future__ import annotations

import pytest
from server_helpers import Client


@pytest.fixture(scope="module")
def served(tiny_savedmodel):
    """(ServerProcess, Client) with batching off, one worker."""
    from irkit.serve.process import ServerProcess

    server = ServerProcess(tiny_savedmodel, port=0)
    server.start(timeout=120)
    try:
        yield server, Client(server.url)
    finally:
        server.stop()
