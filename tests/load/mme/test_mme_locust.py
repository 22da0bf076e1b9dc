"""Real Locust runs (seconds) of multi-model load against a stub MME on 127.0.0.1: routing, cold/warm, hit rate."""

from __future__ import annotations

from collections import Counter

import pytest
from mme_stub import MmeStub

from irkit.load.generator import run_load
from irkit.spec import Stairs, TargetModels, TrafficPattern
from irkit.spec.popularity import Popularity

MODELS = ["a.tar.gz", "b.tar.gz", "c.tar.gz"]


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.json"
    path.write_bytes(b"[[0.1, 0.2, 0.3]]")
    return path


def _stairs(steps: int, seconds: int, users: int) -> TrafficPattern:
    return TrafficPattern("STAIRS", (), Stairs(seconds, steps, users))


def _run(url, payload, target_models, traffic, **kw):
    return run_load(url, payload, "application/json", traffic,
                    extra_config={"target_models": target_models.to_dict(), "seed": 7}, **kw)


def test_zipf_load_is_split_per_model_with_cold_and_warm(payload):
    tm = TargetModels(tuple(MODELS), "zipf", 1.5)
    with MmeStub(MODELS, max_loaded=2, load_ms=40, service_ms=3) as stub:
        result = _run(stub.url, payload, tm, _stairs(2, 2, 2))
    steps = result.steps
    assert len(steps) == 2
    ours: Counter[str] = Counter()
    cold = hits = loads = 0
    for step in steps:
        entries = step["per_model"]
        assert sum(e["requests"] for e in entries) == step["requests"]
        for e in entries:
            ours[e["model"]] += e["requests"]
            cold += e["cold_requests"]
            loads += e["loads"]
            hits += round(e["hit_rate"] * e["requests"])
            assert e["loads"] <= e["cold_requests"]
            if e["cold_requests"] and e["warm_p50_ms"] is not None:
                assert e["cold_p50_ms"] > e["warm_p50_ms"] + 20  # a 40 ms load against 3 ms answers
    # What the server answered, per model, is what the generator filed, but for the few requests
    # answered after the last window closed (while Locust quits).
    in_flight = 10
    served = Counter({m: sum(n for (name, _), n in stub.answers.items() if name == m) for m in MODELS})
    for model in MODELS:
        assert 0 <= served[model] - ours[model] <= in_flight
    assert 0 <= sum(stub.loads.values()) - loads <= in_flight
    assert 0 <= sum(n for (_, kind), n in stub.answers.items() if kind == "hit") - hits <= in_flight
    assert 0 <= sum(n for (_, kind), n in stub.answers.items() if kind == "miss") - cold <= in_flight
    # Zipf: the first model is the most requested, and with room for 2 of 3 models there are evictions.
    assert ours["a.tar.gz"] == max(ours.values())
    share = ours["a.tar.gz"] / sum(ours.values())
    assert share == pytest.approx(Popularity.from_spec(tm).probabilities()["a.tar.gz"], abs=0.12)
    assert stub.evictions


def test_unknown_and_broken_models_count_as_errors_of_their_own(payload):
    tm = TargetModels(("a.tar.gz", "ghost.tar.gz", "bad.tar.gz"), "uniform")
    with MmeStub(["a.tar.gz", "bad.tar.gz"], broken=("bad.tar.gz",), load_ms=1, service_ms=2) as stub:
        result = _run(stub.url, payload, tm, _stairs(1, 2, 1))
    entries = {e["model"]: e for e in result.steps[0]["per_model"]}
    assert set(entries) == set(tm.models)
    assert entries["ghost.tar.gz"]["errors"] == entries["ghost.tar.gz"]["requests"] > 0
    assert entries["bad.tar.gz"]["errors"] == entries["bad.tar.gz"]["requests"] > 0
    assert entries["a.tar.gz"]["errors"] == 0 and entries["a.tar.gz"]["p50_ms"] is not None
    assert result.steps[0]["errors"] == entries["ghost.tar.gz"]["errors"] + entries["bad.tar.gz"]["errors"]


def test_per_model_tallies_merge_across_workers(payload):
    tm = TargetModels(tuple(MODELS), "weights", weights=(1.0, 1.0, 0.0))
    with MmeStub(MODELS, max_loaded=3, load_ms=5, service_ms=2) as stub:
        result = _run(stub.url, payload, tm, _stairs(1, 3, 2), workers=2)
    entries = {e["model"]: e for e in result.steps[0]["per_model"]}
    assert set(entries) == {"a.tar.gz", "b.tar.gz"}  # weight 0: never sent
    total = sum(n for (_, kind), n in stub.answers.items() if kind in ("hit", "miss"))
    assert sum(e["requests"] for e in entries.values()) == result.steps[0]["requests"]
    # requests that completed after the last window closed are not in any step; all others are
    assert 0.8 * total <= result.steps[0]["requests"] <= total
    assert sum(e["loads"] for e in entries.values()) == sum(stub.loads.values()) == 2


def test_open_loop_sends_to_targets_too(payload):
    from irkit.spec import OpenLoop

    tm = TargetModels(("a.tar.gz", "b.tar.gz"), "weights", weights=(3.0, 1.0))
    with MmeStub(list(tm.models), max_loaded=2, load_ms=5, service_ms=2) as stub:
        result = _run(stub.url, payload, tm, None, open_loop=OpenLoop((40.0,), 3.0))
    entries = {e["model"]: e for e in result.steps[0]["per_model"]}
    assert sum(e["requests"] for e in entries.values()) == result.steps[0]["requests"] > 60
    assert entries["a.tar.gz"]["requests"] > entries["b.tar.gz"]["requests"]
    assert sum(e["loads"] for e in entries.values()) == sum(stub.loads.values()) == 2


def test_a_knee_search_keeps_per_model_figures_per_level(payload):
    from irkit.load.knee_search import KneeSearch, KneeSettings

    tm = TargetModels(tuple(MODELS), "uniform")
    search = KneeSearch(KneeSettings(max_users=2, window_seconds=1, min_requests=10, max_level_seconds=4))
    with MmeStub(MODELS, max_loaded=3, load_ms=10, service_ms=5) as stub:
        result = _run(stub.url, payload, tm, None, knee=search)
    assert [s["users"] for s in result.steps] == [1, 2, 2]  # 2 is still growing: a confirmed lower bound
    for step in result.steps:
        entries = step["per_model"]
        assert {e["model"] for e in entries} == set(MODELS)
        assert sum(e["requests"] for e in entries) == step["requests"]  # the level's counted windows only
