"""A real multi-model server (max_loaded=2) on 127.0.0.1: routing, cold/warm headers, eviction, errors.

The tests share one server; each uses its own model names (copies added to the folder while it runs,
which the server finds on first request), so their order does not matter.
"""

from __future__ import annotations

import threading

import pytest
from mme_helpers import BODY, copy_models, zeros_body

pytestmark = pytest.mark.slow

CACHE = "x-irkit-model-cache"
LOAD_MS = "x-irkit-model-load-ms"


def test_ping_answers_before_any_model_is_loaded(mme):
    _, client, _ = mme
    assert client.request("GET", "/ping")[0] == 200


def test_header_routes_to_the_named_model_and_counts_per_model(mme, tiny_model_tarball):
    _, client, folder = mme
    copy_models(tiny_model_tarball, folder, ["route1.tar.gz", "route2.tar.gz"])
    before = client.models()
    status, headers, body = client.invoke("route1.tar.gz")
    assert status == 200 and len(body["predictions"]) == 1 and len(body["predictions"][0]) == 1000
    assert client.invoke("route1.tar.gz")[0] == 200
    after = client.models()
    assert after["route1.tar.gz"]["misses"] == 1 and after["route1.tar.gz"]["hits"] == 1
    assert before["route2.tar.gz"]["loads"] == 0 and after["route2.tar.gz"] == before["route2.tar.gz"]
    others = [n for n in before if n != "route1.tar.gz"]
    assert {n: after[n]["hits"] + after[n]["misses"] for n in others} == \
        {n: before[n]["hits"] + before[n]["misses"] for n in others}


def test_load_ms_only_on_the_first_request_and_after_eviction(mme, tiny_model_tarball):
    _, client, folder = mme
    x1, x2, x3 = copy_models(tiny_model_tarball, folder, ["ev1.tar.gz", "ev2.tar.gz", "ev3.tar.gz"])
    seen = []
    for name in [x1, x1, x2, x1, x3, x2, x1]:
        status, headers, _ = client.invoke(name)
        assert status == 200
        seen.append((name, headers[CACHE], LOAD_MS in headers))
    # max_loaded=2, LRU: x3 evicts x2 (x1 was used more recently); x2 then evicts x1; x1 reloads
    assert seen == [(x1, "miss", True), (x1, "hit", False), (x2, "miss", True), (x1, "hit", False),
                    (x3, "miss", True), (x2, "miss", True), (x1, "miss", True)]
    models = client.models()
    assert [models[n]["loads"] for n in (x1, x2, x3)] == [2, 2, 1]
    assert [models[n]["evictions"] for n in (x1, x2, x3)] == [1, 1, 1]  # x3 went when x1 came back
    assert sorted(n for n, m in models.items() if m["loaded"]) == [x1, x2]
    assert all(models[n]["last_load_ms"] > 0 for n in (x1, x2, x3))
    body = client.request("GET", "/models")[2]
    assert body["max_loaded"] == 2 and body["memory_budget_mb"] is None
    assert models[x1]["size_mb"] > 0


def test_load_ms_header_is_a_positive_float(mme, tiny_model_tarball):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["timed.tar.gz"])
    _, headers, _ = client.invoke(name)
    assert float(headers[LOAD_MS]) > 0
    assert float(headers[LOAD_MS]) == pytest.approx(client.models()[name]["last_load_ms"], abs=0.01)


def test_concurrent_cold_requests_load_the_model_once(mme, tiny_model_tarball):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["burst.tar.gz"])
    answers = []

    def call() -> None:
        answers.append(client.invoke(name))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a[0] for a in answers] == [200] * 4
    assert sum(LOAD_MS in a[1] for a in answers) == 1
    assert client.models()[name]["loads"] == 1


def test_unknown_model_is_404_naming_it(mme):
    _, client, _ = mme
    status, headers, body = client.invoke("missing.tar.gz")
    assert status == 404 and "'missing.tar.gz'" in body["error"] and headers[CACHE] == "miss"
    status, _, body = client.invoke("../etc/passwd.tar.gz")
    assert status == 404 and "passwd" in body["error"]


def test_missing_header_is_400_naming_it(mme):
    _, client, _ = mme
    status, _, body = client.invoke(None)
    assert status == 400 and "X-Amzn-SageMaker-Target-Model" in body["error"]


def test_broken_tarball_is_a_clear_error_while_others_serve(mme, tiny_model_tarball):
    _, client, folder = mme
    (good,) = copy_models(tiny_model_tarball, folder, ["good.tar.gz"])
    for _ in range(2):
        status, _, body = client.invoke("broken.tar.gz")
        assert status == 500 and "model 'broken.tar.gz' cannot be loaded" in body["error"]
    assert client.invoke(good)[0] == 200
    models = client.models()
    assert models["broken.tar.gz"]["loaded"] is False and models["broken.tar.gz"]["loads"] == 0
    assert models["broken.tar.gz"]["misses"] >= 2


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[[1, 2, 3]]", "application/json", 400),  # wrong shape for the model
    (b"", "application/json", 400),
    (b"hello", "text/plain", 415),
    (b"\x89PNG not really", "image/png", 400),
])
def test_bad_input_gets_4xx_naming_the_model_and_the_server_stays_up(mme, tiny_model_tarball, body,
                                                                     content_type, status):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["robust.tar.gz"])
    got, headers, answer = client.invoke(name, body=body, content_type=content_type)
    assert got == status and answer["error"]
    assert CACHE in headers
    assert client.invoke(name)[0] == 200


def test_body_over_6_mb_is_413_before_any_load(mme, tiny_model_tarball):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["toolarge.tar.gz"])
    status, _, body = client.invoke(name, body=b"[" + b"0," * (3_200_000) + b"0]")
    assert status == 413
    assert client.models()[name]["loads"] == 0


def test_a_batch_of_rows_answers_a_row_each(mme, tiny_model_tarball):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["rows.tar.gz"])
    status, headers, body = client.invoke(name, body=zeros_body(3))
    assert status == 200 and len(body["predictions"]) == 3 and headers["x-irkit-batch-rows"] == "3"
    assert client.invoke(name, body=BODY)[1][CACHE] == "hit"


def test_delete_unloads_a_model_so_its_next_request_is_cold(mme, tiny_model_tarball):
    _, client, folder = mme
    (name,) = copy_models(tiny_model_tarball, folder, ["unload1.tar.gz"])
    assert client.invoke(name)[0] == 200
    status, _, body = client.request("DELETE", f"/models/{name}")
    assert status == 200 and body == {"model": name, "unloaded": True}
    assert client.request("DELETE", f"/models/{name}")[2]["unloaded"] is False
    status, headers, _ = client.invoke(name)
    assert status == 200 and headers[CACHE] == "miss" and LOAD_MS in headers
    status, _, body = client.request("DELETE", "/models/nope.tar.gz")
    assert status == 404 and "nope.tar.gz" in body["error"]
