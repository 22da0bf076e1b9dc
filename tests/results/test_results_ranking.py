"""Ranking, Pareto and SLO filtering on hand-computed cases."""

from __future__ import annotations

import pandas as pd
import pytest

from irkit.results import CONFIG, COST_PER_INFERENCE, MAX_INVOCATIONS, MODEL_LATENCY_MS, to_frame
from irkit.results.ranking import RankingError, meets, pareto, pareto_mask, rank, recommend


def _frame(rows):
    return pd.DataFrame(rows, columns=[CONFIG, COST_PER_INFERENCE, MODEL_LATENCY_MS, MAX_INVOCATIONS])


# cost, latency, throughput
HAND = _frame([
    ("a", 1.0, 100.0, 600.0),  # cheapest, slowest, least throughput
    ("b", 2.0, 50.0, 900.0),
    ("c", 3.0, 10.0, 1200.0),  # dearest, fastest, most throughput
    ("d", 3.0, 60.0, 800.0),  # dominated by b
])


def test_rank_equal_importance_hand_computed():
    ranked = rank(HAND)
    # goodness: cost (3-x)/2, latency (100-x)/90, tput (x-600)/600; score = mean
    expected = {
        "a": (1 + 0 + 0) / 3,
        "b": (0.5 + 50 / 90 + 0.5) / 3,
        "c": (0 + 1 + 1) / 3,
        "d": (0 + 40 / 90 + 200 / 600) / 3,
    }
    assert list(ranked[CONFIG]) == ["c", "b", "a", "d"]
    for row in ranked.to_dict("records"):
        assert row["score"] == pytest.approx(expected[row[CONFIG]], abs=1e-6)
    assert list(ranked["rank"]) == [1, 2, 3, 4]


def test_cost_importance_changes_the_pick():
    ranked = rank(HAND, cost=5, latency=1, throughput=1)
    # a: 5*1/7 = 0.714; c: (1+1)/7 = 0.286; b: (2.5+0.556+0.5)/7 = 0.508
    assert ranked[CONFIG].iloc[0] == "a"
    assert ranked["score"].iloc[0] == pytest.approx(5 / 7, abs=1e-6)


def test_rank_does_not_mutate_and_rejects_bad_levels():
    before = HAND.copy()
    rank(HAND, cost=4)
    pd.testing.assert_frame_equal(HAND, before)
    for bad in (0, 6, 2.5, True):
        with pytest.raises(RankingError, match="latency"):
            rank(HAND, latency=bad)


def test_all_equal_metric_scores_one_and_missing_scores_zero():
    frame = _frame([("x", 1.0, 10.0, 100.0), ("y", 1.0, 20.0, None)])
    ranked = rank(frame, cost=1, latency=1, throughput=1).set_index(CONFIG)
    assert ranked.loc["x", "score"] == pytest.approx((1 + 1 + 1) / 3)
    assert ranked.loc["y", "score"] == pytest.approx((1 + 0 + 0) / 3)


def test_pareto_hand_computed():
    assert list(pareto_mask(HAND)) == [True, True, True, False]
    assert list(pareto(HAND)[CONFIG]) == ["a", "b", "c"]
    # an exact duplicate does not dominate its twin
    twins = _frame([("p", 1.0, 1.0, 1.0), ("q", 1.0, 1.0, 1.0)])
    assert list(pareto_mask(twins)) == [True, True]
    # a row missing a metric is never on the front
    partial = _frame([("p", 1.0, 1.0, 1.0), ("q", None, 1.0, 5.0)])
    assert list(pareto_mask(partial)) == [True, False]


def test_meets_filters_on_latency_and_throughput():
    assert list(meets(HAND, latency_ms=60)[CONFIG]) == ["b", "c", "d"]
    assert list(meets(HAND, min_rpm=850)[CONFIG]) == ["b", "c"]
    assert list(meets(HAND, latency_ms=55, min_rpm=850)[CONFIG]) == ["b", "c"]
    assert len(meets(HAND)) == len(HAND)
    with pytest.raises(RankingError, match="latency_ms"):
        meets(HAND, latency_ms=0)


def test_recommend_on_a_real_shaped_result(sagemaker_result):
    ranked = recommend(to_frame(sagemaker_result), latency_ms=100)
    assert len(ranked) and (ranked[MODEL_LATENCY_MS] <= 100).all()
    assert "pareto" in ranked and ranked["pareto"].dtype == bool
    assert set(ranked["kind"]) == {"recommendation"}
    assert recommend(to_frame(sagemaker_result), latency_ms=1).empty
