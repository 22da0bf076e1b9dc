"""SIGTERM (``kill PID``) or Ctrl-C (SIGINT to the foreground process group) stops ``irkit serve``,
``irkit app``, ``irkit run`` and a foreground ``irkit recommend``: exit code 130, no traceback, and
no process left behind (model servers, uvicorn workers, Voila, kernels, the job's runner, Locust)."""

from __future__ import annotations

import signal
import urllib.request

import pytest
import yaml
from faults_helpers import Cli, free_port, wait_for, write_notebook
from helpers_process import describe, marked, wait_gone

from irkit import states
from irkit.store import Store

pytestmark = pytest.mark.slow

HOW = ["sigterm", "ctrl-c"]
EXIT_S = 30.0  # the command's own cleanup (Voila's kernel shutdown, a job's stop) fits in this


def stop(cli: Cli, how: str) -> int:
    cli.terminate() if how == "sigterm" else cli.ctrl_c()
    return cli.wait(EXIT_S)


def assert_clean_exit(cli: Cli, code: int, mark: str) -> None:
    assert code == 130, (code, cli.err[-3000:])
    assert "Traceback" not in cli.err, cli.err[-3000:]
    assert "irkit: interrupted" in cli.err
    left = wait_gone(mark, 5.0)
    assert not left, describe(left)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", HOW)
def test_serve(how, workers, tmp_path, mark, tiny_model_tarball):
    port_file = tmp_path / "port"
    cli = Cli(["serve", str(tiny_model_tarball), "--port", "0", "--port-file", str(port_file),
               "--workers", str(workers)], tmp_path)
    try:
        port = wait_for(lambda: port_file.is_file() and port_file.read_text().strip(), 120, what="the port")
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/ping"), 120, 0.5, what="/ping")
        assert len(marked(mark)) >= workers  # the CLI is the server (or the supervisor of its workers)
        assert_clean_exit(cli, stop(cli, how), mark)
    finally:
        cli.kill()


@pytest.mark.parametrize("how", HOW)
def test_app_stops_voila_and_its_kernels(how, tmp_path, mark):
    pytest.importorskip("voila")
    notebook = write_notebook(tmp_path / "tiny_app.ipynb", "x = 1\nprint(x)")
    port = free_port()
    cli = Cli(["app", "--notebook", str(notebook), "--no-browser", "--port", str(port)], tmp_path)
    try:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/"), 120, 0.5, what="Voila's page")  # starts a kernel
        assert http_ok(f"http://127.0.0.1:{port}/")  # and another
        wait_for(lambda: sum("ipykernel" in " ".join(p.cmdline()) for p in marked(mark)) >= 2, 60,
                 what="two kernels")
        assert_clean_exit(cli, stop(cli, how), mark)
    finally:
        cli.kill()


@pytest.mark.parametrize("how", HOW)
def test_run_stops_its_kernel(how, tmp_path, mark):
    notebook = write_notebook(tmp_path / "sleepy.ipynb", "import time\nprint('started', flush=True)",
                              "time.sleep(300)")
    cli = Cli(["run", str(notebook), "--out", str(tmp_path / "runs")], tmp_path)
    try:
        wait_for(lambda: any("ipykernel" in " ".join(p.cmdline()) for p in marked(mark)), 120, what="the kernel")
        executed = wait_for(lambda: list((tmp_path / "runs").glob("*/sleepy.ipynb")), 120, what="the first cell")
        wait_for(lambda: "started" in executed[0].read_text(), 120, what="the first cell's output")
        assert_clean_exit(cli, stop(cli, how), mark)
    finally:
        cli.kill()


@pytest.mark.parametrize("how", HOW)
def test_recommend_in_the_foreground_stops_its_job(how, tmp_path, mark, tiny_model_tarball, resnet_payload_tarball):
    spec = tmp_path / "stopped.yaml"
    spec.write_text(yaml.safe_dump({
        "job_name": "stopped", "sample_payload_url": str(resnet_payload_tarball),
        "supported_content_types": ["application/json"],
        "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": ["1", "2"]}],
        "stairs": {"duration_in_seconds": 5, "number_of_steps": 6, "users_per_step": 1},
    }))
    cli = Cli(["recommend", str(spec), "--model", str(tiny_model_tarball), "--workers", "1"], tmp_path)
    store = Store()
    try:
        job_id = wait_for(lambda: [j["job_id"] for j in store.list_jobs()], 30, what="the job")[0]
        wait_for(lambda: store.steps(job_id), 150, 0.2, what="a step")
        assert_clean_exit(cli, stop(cli, how), mark)
        assert store.get_job(job_id)["status"] == states.STOPPED
        assert f"irkit recommend --resume {job_id}" in cli.err
        assert store.steps(job_id)  # kept
    finally:
        cli.kill()


def test_the_cli_puts_the_sigterm_handler_back():
    """The CLI installs its SIGTERM handler only while the command runs, then puts the old one back."""
    from irkit.cli import main

    before = signal.getsignal(signal.SIGTERM)
    assert main(["jobs", "list"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
