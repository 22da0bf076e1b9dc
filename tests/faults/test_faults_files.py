"""A broken input file gets one line on stderr that names the file and says what is wrong, exit 2,
and no traceback: truncated model.tar.gz, a payload.tar.gz with no sample, and spec files that are
not YAML, not UTF-8, a list, or empty."""

from __future__ import annotations

import os

import pytest
import yaml
from helpers_files import write_tarball

from irkit.cli import main
from irkit.store import Store


@pytest.fixture
def files(tmp_path):
    payload = write_tarball(tmp_path / "payload.tar.gz", {"sample.json": b"[[[0.0]]]"})
    model = write_tarball(tmp_path / "model.tar.gz", {"1/saved_model.pb": os.urandom(200_000),
                                                 "1/variables/variables.index": os.urandom(1000)})
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(model.read_bytes()[:50_000])  # a download cut short
    spec = tmp_path / "job.yaml"
    spec.write_text(yaml.safe_dump({
        "job_name": "files", "supported_instance_types": ["local.cpu1"],
        "stairs": {"duration_in_seconds": 1, "number_of_steps": 2, "users_per_step": 1},
    }))
    return {"payload": payload, "model": model, "truncated": truncated, "spec": spec, "dir": tmp_path}


def one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("irkit: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_truncated_model(files, capsys):
    code = main(["recommend", str(files["spec"]), "--model", str(files["truncated"]),
                 "--payload", str(files["payload"])])
    one_line_error(capsys, code, "truncated.tar.gz", "truncated or corrupt")
    assert Store().list_jobs() == []  # refused before a job was recorded


def test_model_archive_without_a_savedmodel(files, capsys):
    other = write_tarball(files["dir"] / "notes.tar.gz", {"README.md": b"hello"})
    code = main(["recommend", str(files["spec"]), "--model", str(other), "--payload", str(files["payload"])])
    one_line_error(capsys, code, "notes.tar.gz", "saved_model.pb", "README.md")


@pytest.mark.parametrize("contents", [{}, {"README.txt": b"samples go here"}], ids=["empty", "no-sample"])
def test_payload_without_samples(files, capsys, contents):
    payload = write_tarball(files["dir"] / "nosample.tar.gz", contents)
    code = main(["recommend", str(files["spec"]), "--model", str(files["model"]), "--payload", str(payload)])
    one_line_error(capsys, code, "nosample.tar.gz", "holds no sample")
    assert Store().list_jobs() == []


def test_truncated_payload(files, capsys):
    code = main(["recommend", str(files["spec"]), "--model", str(files["model"]),
                 "--payload", str(files["truncated"])])
    one_line_error(capsys, code, "truncated.tar.gz", "truncated or corrupt")


SPECS = {
    "yaml-syntax.yaml": (b"job_name: broken\nstairs: [1, 2\n", "not valid YAML at line"),
    "latin1.yaml": ("job_name: café\n".encode("latin-1"), "not UTF-8"),
    "list.yaml": (b"- job_name: a\n- job_name: b\n", "holds a list"),
    "empty.yaml": (b"", "is empty"),
    "comments.yaml": (b"# nothing yet\n", "is empty"),
    "json-syntax.json": (b'{"job_name": "x",}', "not valid JSON"),
}


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("command", ["recommend", "spec-check"])
def test_broken_spec_file(files, capsys, name, command):
    data, what = SPECS[name]
    path = files["dir"] / name
    path.write_bytes(data)
    args = (["recommend", str(path), "--model", str(files["model"])] if command == "recommend"
            else ["spec", "check", str(path)])
    line = one_line_error(capsys, main(args), str(path), what)
    assert "\n" not in line


@pytest.mark.slow
def test_serve_a_truncated_model(files, capsys):
    code = main(["serve", str(files["truncated"]), "--port", "0"])
    one_line_error(capsys, code, "truncated.tar.gz", "truncated or corrupt")
