"""A killed or timed-out run leaves its partial executed notebook, manifest and finished job steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from headless_fixtures import write_notebook

from irkit.cli import main
from irkit.store import Store

STEPS_THEN_SLEEP = (
    'job_name = "killed"',
    "from irkit.store import Store\n"
    "store = Store()\n"
    "job_id = store.create_job(job_name, 'local', {})\n"
    "store.upsert_config(job_id, 'local.cpu1', 'local.cpu1', {}, 'IN_PROGRESS')\n"
    "for i in range(2):\n"
    "    store.add_step(job_id, 'local.cpu1', i, {'step': i, 'users': i + 1, 'rps': 10.0})\n"
    "print('steps written')",
    "import time\ntime.sleep(120)",
    "print('never')",
)


def _text(path):
    nb = json.loads(path.read_text())
    texts = (o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    return "".join(t if isinstance(t, str) else "".join(t) for t in texts)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_keeps_partial_notebook_and_steps(tmp_path, sig):
    nb = write_notebook(tmp_path / "long.ipynb", *STEPS_THEN_SLEEP)
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "irkit", "run", str(nb), "--out", str(runs)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        executed = None
        while time.monotonic() < deadline:
            found = list(runs.glob("*/long.ipynb")) if runs.exists() else []
            if found and "steps written" in _text(found[0]):
                executed = found[0]
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        assert executed is not None, "the first cell never finished"
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        else:  # reap the kernel a SIGKILLed parent could not shut down
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert "steps written" in _text(executed) and "never" not in _text(executed)
    manifest = json.loads((executed.parent / "run.json").read_text())
    store = Store()
    (job,) = store.list_jobs()
    assert [s["step"] for s in store.steps(job["job_id"])] == [0, 1]
    if sig == signal.SIGTERM:
        assert code == 130
        assert manifest["status"] == "interrupted" and manifest["exit_code"] == 130
        assert manifest["notebooks"][0]["status"] == "interrupted"
        assert manifest["jobs"][0]["job_id"] == job["job_id"]
    else:
        assert code == -signal.SIGKILL
        assert manifest["status"] == "running"  # it says how far the run got


def test_timeout_interrupts_the_cell_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nb = write_notebook(tmp_path / "slow.ipynb", *STEPS_THEN_SLEEP)
    started = time.monotonic()
    code = main(["run", str(nb), "--out", str(tmp_path / "runs"), "--timeout", "3"])
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert code == 1 and "timed out after 3 s" in err and "slow.ipynb" in err
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "timed_out" and manifest["notebooks"][0]["error"]["timed_out"]
    assert "steps written" in _text(folder / "slow.ipynb")
    (job,) = Store().list_jobs()
    assert len(Store().steps(job["job_id"])) == 2
