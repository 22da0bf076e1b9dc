from __future__ import annotations

import copy

import pytest

from irkit.errors import RegressionError
from irkit.results import CONFIG, MAX_INVOCATIONS, MODEL_LATENCY_MS, to_frame
from irkit.results.compare import check_regression, compare, delta_column, regressions


def _changed(result, index, **metrics):
    out = copy.deepcopy(result)
    out["InferenceRecommendations"][index]["Metrics"].update(metrics)
    return out


def test_signed_delta_percent(sagemaker_result):
    rec = sagemaker_result["InferenceRecommendations"][1]
    rpm, ms = rec["Metrics"]["MaxInvocations"], rec["Metrics"]["ModelLatency"]
    current = _changed(sagemaker_result, 1, MaxInvocations=rpm * 0.8, ModelLatency=ms * 1.25)
    table = compare(sagemaker_result, current).set_index(CONFIG)
    config = to_frame(sagemaker_result)[CONFIG].iloc[1]
    assert table.loc[config, delta_column(MAX_INVOCATIONS)] == pytest.approx(-20.0)
    assert table.loc[config, delta_column(MODEL_LATENCY_MS)] == pytest.approx(25.0)
    others = table.drop(index=config)
    assert (others[delta_column(MAX_INVOCATIONS)].fillna(0) == 0).all()


def test_regressions_beyond_pct(sagemaker_result):
    rpm = sagemaker_result["InferenceRecommendations"][0]["Metrics"]["MaxInvocations"]
    current = _changed(sagemaker_result, 0, MaxInvocations=rpm * 0.85)
    assert [r.metric for r in regressions(sagemaker_result, current, 10)] == [MAX_INVOCATIONS]
    assert regressions(sagemaker_result, current, 20) == []
    with pytest.raises(RegressionError, match="dropped 15.0%") as info:
        check_regression(sagemaker_result, current, 10)
    assert info.value.exit_code == 3


def test_missing_config_is_a_regression_unless_told(sagemaker_result):
    current = copy.deepcopy(sagemaker_result)
    del current["InferenceRecommendations"][2]
    found = regressions(sagemaker_result, current, 10)
    assert len(found) == 1 and "no result now" in found[0].message
    assert regressions(sagemaker_result, current, 10, missing_is_regression=False) == []
    table = compare(sagemaker_result, current)
    assert (~table["in_current"]).sum() == 1


def test_improvement_is_not_a_regression(sagemaker_result):
    ms = sagemaker_result["InferenceRecommendations"][0]["Metrics"]["ModelLatency"]
    assert regressions(sagemaker_result, _changed(sagemaker_result, 0, ModelLatency=ms / 2), 5) == []
