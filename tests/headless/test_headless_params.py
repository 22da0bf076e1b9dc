"""Parameter typing for irkit run: -p values are YAML, -f files have common and per-notebook parts."""

from __future__ import annotations

import nbformat
import pytest

from irkit.errors import SpecError
from irkit.headless.params import (
    NotALiteral,
    declared_parameters,
    from_pairs,
    load_file,
    parse_value,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3), ("0.25", 0.25), ("true", True), ("null", None), ("local.cpu1", "local.cpu1"),
    ("[local.cpu1, local.cpu2]", ["local.cpu1", "local.cpu2"]),
    ("{OMP_NUM_THREADS: ['1', '2']}", {"OMP_NUM_THREADS": ["1", "2"]}),
    ("'007'", "007"), ("", ""),
])
def test_p_values_keep_their_yaml_type(text, expected):
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_bad_yaml_names_the_parameter():
    with pytest.raises(SpecError, match=r"-p stairs"):
        from_pairs([("stairs", "{unclosed: [")])


def test_parameter_names_must_be_identifiers():
    with pytest.raises(SpecError, match=r"not a Python identifier"):
        from_pairs([("bad-name", "1")])


def test_later_p_wins():
    assert from_pairs([("n", "1"), ("n", "2")]).common == {"n": 2}


def test_file_sections_for_all_and_for_one_notebook(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("'*': {weights: null}\n04_right_size: {stairs: {number_of_steps: 2}}\n"
                    "instance_types: [local.cpu1]\nenv_ranges: {OMP_NUM_THREADS: ['1']}\n")
    params = load_file(path, ["04_right_size", "05_advanced"])
    assert params.for_notebook("05_advanced") == {
        "weights": None, "instance_types": ["local.cpu1"], "env_ranges": {"OMP_NUM_THREADS": ["1"]}}
    assert params.for_notebook("04_right_size")["stairs"] == {"number_of_steps": 2}
    merged = params.merged(from_pairs([("weights", "auto")]))
    assert merged.for_notebook("04_right_size")["weights"] == "auto"


def test_file_that_is_not_a_mapping_names_the_file(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="list.yaml"):
        load_file(path)


def test_declared_parameters_reads_literal_defaults():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("a = 1\nb: list = ['x']\nc = None\nd = make()",
                                  metadata={"tags": ["parameters"]})])
    declared = declared_parameters(nb)
    assert declared["a"] == 1 and declared["b"] == ["x"] and declared["c"] is None
    assert declared["d"] == NotALiteral("make()")
    assert declared_parameters(nbformat.v4.new_notebook()) is None
