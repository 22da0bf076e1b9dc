"""irkit run --all: the whole walk 01 -> 06 headless and offline on the local backend, tiny traffic."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from irkit.cli import main
from irkit.headless import WALK_PATTERN
from irkit.store import Store

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("irkit.load.generator") is None,
                       reason="the local backend's load generator has not landed"),
]


def test_all_runs_the_walk_and_chains_workdir_and_job(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--all", "--notebooks-dir", str(ROOT / "notebooks"), "--out", str(tmp_path / "runs"),
                 "-f", str(ROOT / "tests" / "notebook_params.yaml"), "--timeout", "600"])
    captured = capsys.readouterr()
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert code == 0, (captured.err[-3000:], json.dumps(manifest["notebooks"], indent=1)[-3000:])
    assert folder.name.endswith("-all") and manifest["status"] == "succeeded"

    names = [n["name"] for n in manifest["notebooks"]]
    assert names == sorted(p.stem for p in (ROOT / "notebooks").glob(WALK_PATTERN))
    assert names[0].startswith("01") and names[-1].startswith("06")
    for entry in manifest["notebooks"]:
        assert entry["status"] == "succeeded"
        assert (folder / entry["output"]).is_file()
        if "workdir" in entry["parameters"]:
            assert entry["parameters"]["workdir"] == str(folder / "work")
    assert (folder / "work" / "model.tar.gz").is_file() and (folder / "work" / "payload.tar.gz").is_file()

    by_name = {n["name"][:2]: n for n in manifest["notebooks"]}
    right_size, advanced = by_name["04"]["jobs"], by_name["05"]["jobs"]
    # 05 runs its Advanced job, then (with runtimes) a small runtime-axis job: a side study
    assert len(right_size) == 1 and len(advanced) >= 1
    assert by_name["06"]["parameters"]["job"] == advanced[0]  # 06 reads 05's main job
    assert manifest["job_id"] == advanced[0]

    store = Store()
    for job_id in right_size + advanced:
        job = store.get_job(job_id)
        assert job["status"] == "COMPLETED" and job["meta"]["headless_run"] == folder.name
        assert store.steps(job_id), "the local job recorded no step"
        assert (folder / "jobs" / job_id / "result.json").is_file()
    result = json.loads((folder / "result.json").read_text())
    assert result["JobName"] == store.get_job(advanced[0])["job_name"]
    assert result["InferenceRecommendations"]
    assert (folder / "report.html").is_file()
    executed_06 = (folder / by_name["06"]["output"]).read_text()
    assert result["JobName"] in executed_06
