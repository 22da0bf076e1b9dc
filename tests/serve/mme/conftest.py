"""A real multi-model server on 127.0.0.1 (max_loaded=2) for a whole module, over tiny model copies."""

from __future__ import annotations

import pytest
from mme_helpers import Client, copy_models


@pytest.fixture(scope="module")
def mme_folder(tiny_model_tarball, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mme-models")
    copy_models(tiny_model_tarball, folder, ["a.tar.gz", "b.tar.gz", "c.tar.gz"])
    (folder / "broken.tar.gz").write_bytes(b"this is not a gzip file")
    return folder


@pytest.fixture(scope="module")
def mme(mme_folder):
    """(ServerProcess, Client, folder): a multi-model server keeping at most 2 models loaded."""
    from irkit.serve.process import ServerProcess

    server = ServerProcess(mme_folder, multi_model=True, max_loaded=2)
    server.start(timeout=120)
    try:
        yield server, Client(server.url), mme_folder
    finally:
        server.stop()
