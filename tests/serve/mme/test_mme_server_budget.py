"""A real multi-model server under a memory budget, with the dynamic batcher on for every model."""

from __future__ import annotations

import threading

import pytest
from mme_helpers import Client, copy_models

from irkit.serve.model_cache import folder_size_mb

pytestmark = pytest.mark.slow


def test_memory_budget_keeps_two_models_and_batching_survives_eviction(tiny_model_tarball, tiny_savedmodel,
                                                                         tmp_path):
    from irkit.serve.process import ServerProcess

    folder = tmp_path / "models"
    names = copy_models(tiny_model_tarball, folder, ["m1.tar.gz", "m2.tar.gz", "m3.tar.gz"])
    size = folder_size_mb(tiny_savedmodel)
    budget = round(size * 2.5, 3)  # room for two models, not three
    env = {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "2000"}
    with ServerProcess(folder, multi_model=True, memory_mb=budget, env=env) as server:
        client = Client(server.url)
        statuses = []

        def burst(name: str) -> None:
            statuses.append(client.invoke(name)[0])

        for _round in range(2):
            for name in names:  # each new model evicts the least recently used one
                threads = [threading.Thread(target=burst, args=(name,)) for _ in range(3)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
        assert statuses == [200] * 18
        body = client.request("GET", "/models")[2]
        models = {m["name"]: m for m in body["models"]}
        assert body["memory_budget_mb"] == pytest.approx(budget) and body["max_loaded"] is None
        assert sorted(n for n, m in models.items() if m["loaded"]) == ["m2.tar.gz", "m3.tar.gz"]
        assert [models[n]["loads"] for n in names] == [2, 2, 2]  # cyclic access: every round is cold
        assert sum(m["size_mb"] for m in models.values() if m["loaded"]) <= budget
        assert all(m["hits"] + m["misses"] == 6 for m in models.values())
