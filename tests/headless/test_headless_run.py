"""irkit run: run folder, manifest, typed parameters, chaining, failing cells (real kernels)."""

from __future__ import annotations

import json

import nbformat
import pytest
from headless_fixtures import recorded_result, recording_notebook, write_notebook

from irkit.cli import main
from irkit.headless import run_notebooks
from irkit.headless.execute import NotebookFailedError
from irkit.headless.params import RunParameters
from irkit.store import Store

TYPED = """\
assert type(count) is int, type(count)
assert type(ratio) is float, type(ratio)
assert flag is True and nothing is None
assert instance_types == ["local.cpu1", "local.cpu2"], instance_types
assert stairs == {"duration_in_seconds": 2, "number_of_steps": 2, "users_per_step": 1}, stairs
assert type(label) is str and label == "007", label
print("types ok", type(count).__name__, type(stairs).__name__)
"""


def _outputs(path):
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_cli_run_keeps_parameter_types_and_writes_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nb = write_notebook(tmp_path / "typed.ipynb",
                        'count = 0\nratio = 0.0\nflag = False\nnothing = 1\ninstance_types = []\n'
                        'stairs = {}\nlabel = ""', TYPED)
    params = tmp_path / "params.yaml"
    params.write_text("stairs: {duration_in_seconds: 2, number_of_steps: 2, users_per_step: 1}\n"
                      "typed: {label: '007'}\n")
    code = main(["run", str(nb), "--out", str(tmp_path / "runs"), "-f", str(params),
                 "-p", "count", "3", "-p", "ratio", "0.5", "-p", "flag", "true", "-p", "nothing", "null",
                 "-p", "instance_types", "[local.cpu1, local.cpu2]"])
    assert code == 0, capsys.readouterr().err
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-typed") and folder.name[:8].isdigit() and "T" in folder.name
    assert "types ok int dict" in _outputs(folder / "typed.ipynb")
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["exit_code"] == 0
    (entry,) = manifest["notebooks"]
    assert entry["status"] == "succeeded" and entry["duration_s"] > 0
    assert entry["parameters"]["instance_types"] == ["local.cpu1", "local.cpu2"]
    assert entry["parameters"]["label"] == "007"
    assert f"run folder: {folder}" in capsys.readouterr().out


def test_failing_cell_names_notebook_and_cell_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nb = write_notebook(tmp_path / "broken.ipynb", "x = 1", "print('before')", "raise ValueError('boom here')",
                        "print('never')")
    code = main(["run", str(nb), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.ipynb" in err and "ValueError: boom here" in err and "cell" in err
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "failed" and manifest["exit_code"] == 1
    error = manifest["notebooks"][0]["error"]
    assert error["ename"] == "ValueError" and error["cell_index"] is not None
    text = _outputs(folder / "broken.ipynb")
    assert "before" in text and "never" not in text


def test_unknown_parameter_is_a_usage_error(tmp_path, capsys):
    nb = write_notebook(tmp_path / "one.ipynb", "x = 1", "print(x)")
    code = main(["run", str(nb), "--out", str(tmp_path / "runs"), "-p", "y", "2"])
    assert code == 2
    assert "-p y" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_chain_passes_workdir_and_the_new_job_to_later_notebooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps(recorded_result(job_name="chained")))
    first = write_notebook(tmp_path / "nb" / "01_make.ipynb", 'workdir = "irkit-work"',
                           "from pathlib import Path\nPath(workdir, 'model.tar.gz').write_text('m')")
    second = recording_notebook(tmp_path / "nb" / "04_job.ipynb")
    third = write_notebook(tmp_path / "nb" / "06_read.ipynb", 'workdir = "irkit-work"\njob = "latest"',
                           "from pathlib import Path\nassert Path(workdir, 'model.tar.gz').read_text() == 'm'\n"
                           "from irkit.store import Store\nprint('job is', job, Store().get_job(job)['job_name'])")
    params = RunParameters({"result_file": str(result_file), "job_name": "chained"})
    run = run_notebooks([first, second, third], tmp_path / "runs", params)
    store = Store()
    (job,) = store.list_jobs()
    assert run.job_ids == [job["job_id"]]
    assert f"job is {job['job_id']} chained" in _outputs(run.folder / "06_read.ipynb")
    assert job["meta"]["headless_run"] == run.folder.name
    notebooks = {n["name"]: n for n in run.manifest["notebooks"]}
    assert notebooks["06_read"]["parameters"]["job"] == job["job_id"]
    assert notebooks["01_make"]["parameters"]["workdir"] == str(run.folder / "work")
    assert json.loads((run.folder / "result.json").read_text())["JobName"] == "chained"
    assert (run.folder / "jobs" / job["job_id"] / "result.json").is_file()
    assert run.manifest["job_id"] == job["job_id"]


def test_explicit_parameter_wins_over_the_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = write_notebook(tmp_path / "w.ipynb", 'workdir = "irkit-work"', "print('workdir', workdir)")
    run = run_notebooks([nb], tmp_path / "runs", {"workdir": str(tmp_path / "mine")})
    assert f"workdir {tmp_path / 'mine'}" in _outputs(run.folder / "w.ipynb")


def test_api_raises_notebook_failed_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = write_notebook(tmp_path / "bad.ipynb", "x = 1", "1 / 0")
    with pytest.raises(NotebookFailedError, match=r"bad.ipynb failed: ZeroDivisionError") as info:
        run_notebooks([nb], tmp_path / "runs")
    assert info.value.exit_code == 1 and info.value.cell_index is not None


def test_all_runs_numbered_notebooks_in_order_and_skips_the_app(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nbs = tmp_path / "nbs"
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps(recorded_result(job_name="walk")))
    write_notebook(nbs / "02_second.ipynb", 'workdir = "irkit-work"', "print('second', workdir)")
    write_notebook(nbs / "01_first.ipynb", "top = 5", "print('first', top)")
    recording_notebook(nbs / "04_job.ipynb")
    write_notebook(nbs / "06_last.ipynb", 'job = "latest"', "print('last', job)")
    write_notebook(nbs / "app.ipynb", "x = 1", "raise RuntimeError('the app is not a step')")
    params = tmp_path / "params.yaml"
    params.write_text(f"'*': {{result_file: {result_file}}}\n01_first: {{top: 2}}\napp: {{x: 3}}\n")
    code = main(["run", "--all", "--notebooks-dir", str(nbs), "--out", str(tmp_path / "runs"), "-f", str(params)])
    assert code == 0, capsys.readouterr().err
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert folder.name.endswith("-all")
    assert [n["name"] for n in manifest["notebooks"]] == ["01_first", "02_second", "04_job", "06_last"]
    assert "first 2" in _outputs(folder / "01_first.ipynb")
    (job,) = Store().list_jobs()
    assert f"last {job['job_id']}" in _outputs(folder / "06_last.ipynb")
    assert not (folder / "app.ipynb").exists()
