"""Fidelity arithmetic (pure): agreement, differences and cosine between two runtimes' answers."""

from __future__ import annotations

import numpy as np
import pytest

from irkit.errors import BackendError
from irkit.serve import fidelity
from irkit.serve.fidelity import compare

pytestmark = pytest.mark.fast  # pure: no server (tests/conftest.py's fast-lane guard checks it)


def _probs(rows: int, classes: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(rows, classes)) * 3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_identical_answers_agree_fully():
    ref = {"payload": _probs(6, 10), "photo:a": _probs(1, 10, 1)}
    out = compare(ref, {k: v.copy() for k, v in ref.items()})
    assert out["top1_agreement"] == 1.0 and out["top5_agreement"] == 1.0
    assert out["max_abs_diff"] == 0.0 and out["cosine"] == pytest.approx(1.0)
    assert out["samples"] == 7 and out["probes"] == ["payload", "photo:a"]


def test_a_changed_top_class_counts_in_top1_not_top5():
    ref = _probs(4, 10)
    got = ref.copy()
    top = int(np.argmax(got[0]))
    second = int(np.argsort(got[0])[-2])
    got[0, top], got[0, second] = got[0, second], got[0, top]  # swap the two best classes of row 0
    out = compare({"p": ref}, {"p": got})
    assert out["top1_agreement"] == 0.75
    assert out["top5_agreement"] == 1.0  # TensorFlow's top class is still in the top 5
    assert out["max_abs_diff"] == pytest.approx(abs(ref[0, top] - ref[0, second]))
    assert out["min_cosine"] < out["cosine"] < 1.0


def test_top5_misses_when_the_reference_class_falls_out():
    ref = np.zeros((2, 8))
    ref[:, 0] = 1.0
    got = ref.copy()
    got[1] = np.linspace(0.1, 0.9, 8)  # row 1: class 0 is now the lowest
    out = compare({"p": ref}, {"p": got})
    assert out["top1_agreement"] == 0.5 and out["top5_agreement"] == 0.5


def test_one_value_per_row_has_no_topk():
    out = compare({"p": np.array([[1.0], [2.0]])}, {"p": np.array([[1.0], [2.5]])})
    assert out["top1_agreement"] is None and out["top5_agreement"] is None
    assert out["max_abs_diff"] == 0.5


def test_probes_only_one_side_answered_are_left_out_and_none_is_an_error():
    ref = {"payload": _probs(2, 5), "photo:a": _probs(1, 5)}
    out = compare(ref, {"payload": ref["payload"]})
    assert out["probes"] == ["payload"] and out["samples"] == 2
    with pytest.raises(BackendError, match="no probe"):
        compare(ref, {"photo:b": _probs(1, 5)})


def test_rows_join_named_outputs():
    rows = fidelity._rows([{"b": [1, 2], "a": 3}, {"b": [4, 5], "a": 6}])
    assert rows.tolist() == [[3, 1, 2], [6, 4, 5]]
    assert fidelity._rows([[0.1, 0.9]]).shape == (1, 2)


def test_which_configs_need_fidelity(monkeypatch):
    monkeypatch.delenv("IRKIT_RUNTIME", raising=False)
    monkeypatch.delenv("IRKIT_PRECISION", raising=False)
    assert not fidelity.needs_fidelity({})
    assert not fidelity.needs_fidelity({"IRKIT_RUNTIME": "tensorflow", "OMP_NUM_THREADS": "1"})
    assert fidelity.needs_fidelity({"IRKIT_RUNTIME": "openvino"})
    assert not fidelity.needs_fidelity({"IRKIT_RUNTIME": "nonsense"})  # the server refuses it by name
    monkeypatch.setenv("IRKIT_RUNTIME", "openvino")  # inherited by the server, so it counts
    assert fidelity.needs_fidelity({})
    assert fidelity.ConfigFidelity.for_config({"IRKIT_RUNTIME": "tensorflow"}, "m.tar.gz", "p", "x") is None
    assert fidelity.ConfigFidelity.for_config({}, "folder", "p", "x", multi_model=True) is None


def test_photo_probes_are_jpegs_of_the_bundled_photos():
    probes = fidelity.photo_probes(["chelsea", "camera"])
    assert [p.name for p in probes] == ["photo:chelsea", "photo:camera"]
    assert all(p.content_type == "image/jpeg" and p.body[:2] == b"\xff\xd8" for p in probes)
