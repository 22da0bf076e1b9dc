"""MaxInvocations' interval, stability and generator cost as frame columns, and ties within noise."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest

import irkit.results as R
from irkit.results import confidence as C
from irkit.results.ranking import TIED, rank, recommend, tie_notes, ties_of

C11, C12 = "local.cpu1+OMP_NUM_THREADS=1", "local.cpu1+OMP_NUM_THREADS=2"
C21, C22 = "local.cpu2+OMP_NUM_THREADS=1", "local.cpu2+OMP_NUM_THREADS=2"


def _configs(result):
    return {c["config_id"]: c for c in result["irkit"]["configs"]}


def test_frame_carries_the_interval_stability_and_generator(measured_result):
    frame = R.to_frame(measured_result).set_index(R.CONFIG)
    assert list(R.to_frame(measured_result).columns[: len(R.COLUMNS)]) == list(R.COLUMNS)
    row = frame.loc[C11]
    assert (row[R.MAX_INVOCATIONS_LO], row[R.MAX_INVOCATIONS], row[R.MAX_INVOCATIONS_HI]) == (541, 558, 575)
    # CostPerInference's interval follows from MaxInvocations': $/h / (req/min x 60), ends swapped
    assert row[R.COST_PER_INFERENCE_LO] == pytest.approx(0.0425 / (575 * 60))
    assert row[R.COST_PER_INFERENCE_HI] == pytest.approx(0.0425 / (541 * 60))
    assert row[R.COST_PER_INFERENCE_LO] < row[R.COST_PER_INFERENCE] < row[R.COST_PER_INFERENCE_HI]
    assert row[R.STABLE] is True or bool(row[R.STABLE]) is True
    assert not bool(row[R.SHARES_SERVER_CORES]) and row[R.GENERATOR_CPU] == 11.5 and row[R.KNEE_USERS] == 1
    assert not bool(frame.loc[C21, R.STABLE])  # never settled
    assert bool(frame.loc[C22, R.SHARES_SERVER_CORES]) and frame.loc[C22, R.GENERATOR_CPU] == 35.0
    assert str(frame[R.STABLE].dtype) == "boolean" and frame[R.MAX_INVOCATIONS_LO].dtype == "float64"


@pytest.mark.parametrize("name", ["local_result", "sagemaker_result"])
def test_results_without_the_fields_give_missing_values(name, request):
    frame = R.to_frame(request.getfixturevalue(name))
    for column in R.QUALITY_COLUMNS:
        assert frame[column].isna().all(), column
    assert list(frame.columns[: len(R.COLUMNS)]) == list(R.COLUMNS)
    steps = R.steps_frame(request.getfixturevalue(name))
    for column in R.STEP_QUALITY_COLUMNS:
        assert steps[column].isna().all(), column


def test_steps_frame_windows_stability_generator_and_open_loop(measured_result):
    steps = R.steps_frame(measured_result)
    c21 = steps[steps[R.CONFIG] == C21]
    assert list(c21[R.USERS]) == [1, 2, 4, 3]  # the order the knee search ran the levels
    assert list(c21[R.WINDOWS]) == [3, 6, 6, 6] and list(c21[R.STABLE]) == [True, False, False, False]
    assert list(c21[R.GENERATOR_CPU]) == [12.0, 24.0, 41.0, 38.0]
    assert c21[R.AT_PLATEAU].sum() == 1 and c21[c21[R.AT_PLATEAU]][R.USERS].item() == 3  # the knee
    open_loop = copy.deepcopy(measured_result)
    first = open_loop["irkit"]["steps"][0]
    first.update(target_rps=10.0, achieved_rps=9.2, late=14, dropped=3)
    row = R.steps_frame(open_loop).iloc[0]
    assert (row[R.TARGET_RPS], row[R.ACHIEVED_RPS], row[R.LATE], row[R.DROPPED]) == (10.0, 9.2, 14, 3)


def test_endpoint_rows_get_their_configs_interval():
    result = {
        "JobName": "bench", "InferenceRecommendations": [],
        "EndpointPerformances": [{"Metrics": {"MaxInvocations": 580, "ModelLatency": 110},
                                  "EndpointInfo": {"EndpointName": "127-0-0-1-8080"}}],
        "irkit": {"backend": "local", "configs": [
            {"config_id": "endpoint", "status": "COMPLETED", "recommendation_id": None,
             "max_invocations_ci": [566, 594], "stable": True,
             "generator": {"cpu_percent": 9.0, "shares_server_cores": False, "cores": [1]}}]},
    }
    row = R.to_frame(result).iloc[0]
    assert row[R.KIND] == R.KIND_ENDPOINT and (row[R.MAX_INVOCATIONS_LO], row[R.MAX_INVOCATIONS_HI]) == (566, 594)
    assert math.isnan(row[R.COST_PER_INFERENCE_LO])  # an endpoint has no price
    result["irkit"]["configs"].append(dict(result["irkit"]["configs"][0], config_id="other"))
    assert math.isnan(R.to_frame(result).iloc[0][R.MAX_INVOCATIONS_LO])  # ambiguous: not guessed


def test_text_helpers():
    assert C.with_interval(558, 541, 575) == "558 [541-575]"
    assert C.with_interval(558.0, None, float("nan")) == "558"
    assert C.with_interval(None, 1, 2) == "-"
    assert C.interval([575, 541]) == (541.0, 575.0) and C.interval("ab") is None and C.interval([1]) is None
    assert C.flags({R.STABLE: False, R.SHARES_SERVER_CORES: True, R.GENERATOR_CPU: 35.4}) == [
        "unstable", "generator on server cores (35% CPU)"]
    assert C.flags({R.STABLE: pd.NA, R.SHARES_SERVER_CORES: pd.NA}) == []


def test_notes_name_unstable_configs_and_shared_cores(measured_result, local_result):
    notes = C.notes(measured_result)
    assert any(n.startswith(C21) and "unstable" in n for n in notes)
    shared = [n for n in notes if "shared the server's cores" in n]
    assert {n.split(":")[0] for n in shared} == {C21, C22} and "cores 0, 1" in shared[0] and "% of a core" in shared[0]
    assert C.notes(local_result) == []
    said = copy.deepcopy(measured_result)  # the engine's own warnings already say it: not twice
    for config in said["irkit"]["configs"]:
        config["warnings"] = ["a load level did not settle (its last windows disagreed by more than 10%)",
                              "the load generator shared the server's cores [0, 1], taking up to 38% of one core"]
    assert C.notes(said) == []


# ---- ties within measurement noise ---------------------------------------------------------------
def test_overlapping_intervals_on_the_deciding_metric_are_a_tie_and_latency_decides(measured_result):
    frame = R.to_frame(measured_result)
    plain = rank(frame)
    assert plain[R.CONFIG].iloc[0] == C12  # on point estimates: 566 vs 558 req/min decides
    ranked = recommend(frame)
    assert list(ranked[R.CONFIG][:2]) == [C11, C12]  # tied on cost; C11 has the lower latency
    assert list(ranked["rank"]) == [1, 2, 3, 4]
    assert list(ranked[TIED]) == [True, True, False, False]
    (tie,) = ties_of(ranked)
    assert (tie.pick, tie.other, tie.reordered) == (C11, C12, True)
    assert set(tie.tied_on) == {R.COST_PER_INFERENCE, R.MAX_INVOCATIONS}
    assert tie.separated_by == (R.MODEL_LATENCY_MS,) and tie.values[R.MODEL_LATENCY_MS] == (108.0, 121.0)
    (note,) = tie_notes(ranked)
    assert "tied within measurement noise" in note and "541-575 and 540-592 req/min" in note
    assert "lower model latency (108 ms vs 121 ms)" in note and "point estimates alone ranked" in note


def test_no_interval_or_no_overlap_ranks_as_before(measured_result):
    stripped = copy.deepcopy(measured_result)
    for config in stripped["irkit"]["configs"]:
        del config["max_invocations_ci"]
    ranked = recommend(R.to_frame(stripped))
    assert ranked[R.CONFIG].iloc[0] == C12 and not ranked[TIED].any() and tie_notes(ranked) == []
    narrow = copy.deepcopy(measured_result)
    _configs(narrow)[C11]["max_invocations_ci"] = [555, 561]
    _configs(narrow)[C12]["max_invocations_ci"] = [563, 569]
    ranked = recommend(R.to_frame(narrow))
    assert ranked[R.CONFIG].iloc[0] == C12 and tie_notes(ranked) == []  # told apart: no tie


def test_a_lead_on_latency_is_never_a_noise_tie(measured_result):
    ranked = recommend(R.to_frame(measured_result), cost=1, latency=5, throughput=1)
    assert ranked[R.CONFIG].iloc[0] == C11 and tie_notes(ranked) == [] and not ranked[TIED].any()


def test_nothing_separates_them_lists_the_cheaper_then_by_name_and_says_so(measured_result):
    for latencies in ((120, 120), (124, 116), (116, 124)):  # equal, or within 10%: latency is noise too
        same = copy.deepcopy(measured_result)
        for rec, latency in zip(same["InferenceRecommendations"][:2], latencies, strict=True):  # local.cpu1
            rec["Metrics"]["ModelLatency"] = latency
        ranked = recommend(R.to_frame(same))
        # the same order whichever way the noise fell: same price, so by name (OMP 1 first)
        assert list(ranked[R.CONFIG][:2]) == [C11, C12]
        (tie,) = [t for t in ties_of(ranked) if t.other == C12]
        assert tie.separated_by == () and R.MODEL_LATENCY_MS in tie.tied_on
        assert "either will do" in tie.text() and "the cheaper, or by name" in tie.text()


def test_latencies_within_ten_percent_separate_nothing():
    from irkit.results.ties import latency_close

    assert latency_close({R.MODEL_LATENCY_MS: 108}, {R.MODEL_LATENCY_MS: 118})
    assert not latency_close({R.MODEL_LATENCY_MS: 108}, {R.MODEL_LATENCY_MS: 121})
    assert not latency_close({R.MODEL_LATENCY_MS: None}, {R.MODEL_LATENCY_MS: 128})


def test_cost_tie_across_prices_shows_cost_intervals(measured_result):
    ranked = recommend(R.to_frame(measured_result), cost=5, latency=1, throughput=1)
    cross = [t for t in ties_of(ranked) if t.other == C21]
    assert cross and cross[0].tied_on == (R.COST_PER_INFERENCE,)
    text = cross[0].text()
    assert "per 1M inferences overlap" in text and "higher max invocations" in text and "lower model latency" in text


def test_others_on_the_servers_cores_are_a_column_a_flag_and_a_note(measured_result):
    busy = copy.deepcopy(measured_result)
    _configs(busy)[C11]["contention"] = {"others_percent": 47.0, "steal_percent": 3.0}
    _configs(busy)[C12]["contention"] = {"others_percent": 4.0, "steal_percent": 0.0}
    frame = R.to_frame(busy).set_index(R.CONFIG)
    assert frame.loc[C11, R.OTHERS_CPU] == 50.0 and frame.loc[C12, R.OTHERS_CPU] == 4.0
    assert math.isnan(frame.loc[C21, R.OTHERS_CPU])  # not measured: NaN, no flag
    shown = C.with_quality(frame.reset_index()).set_index(R.CONFIG)
    assert "others on server cores (50%)" in shown.loc[C11, C.FLAGS]
    assert "others" not in shown.loc[C12, C.FLAGS]
    (note,) = [n for n in C.notes(busy) if "other processes" in n]
    assert note.startswith(C11) and "50% of the server's cores" in note
