"""First impressions: a quiet install, no TensorFlow C++ logs unless asked for (here and in the
model server), no ipykernel TCP warning from ``irkit run``, and progress in a log as one line per
finished step and config instead of a carriage-return bar."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from faults_helpers import run_cli, wait_for, write_notebook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FAKES = HERE.parent / "backends" / "local"
# absl-formatted lines (I0000 00:00:17.. 123 port.cc:153] ...), absl's notice, and what they say
NATIVE = re.compile(r"^[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|absl::InitializeLog|oneDNN custom operations|"
                    r"cpu_feature_guard", re.M)


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment of a new user's shell: none of the test suite's TF_CPP_MIN_LOG_LEVEL."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "IRKIT_LOG_LEVEL")}
    env.update(extra)
    return env


@pytest.mark.slow
def test_building_the_package_prints_no_setuptools_warning(tmp_path):
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "irkit", tmp_path / "irkit", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                           "-w", "dist", "-v"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines()
                if re.search(r"Warning|deprecated|absent from the .packages. configuration", line)]
    assert not warnings, "\n".join(warnings)
    import zipfile

    (wheel,) = (tmp_path / "dist").glob("irkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "irkit/data/instances.json" in names and "irkit/py.typed" in names
    assert "irkit/widgets/app.py" in names and "irkit/load/locustfile.py" in names


@pytest.mark.slow
@pytest.mark.parametrize("how", ["default", "--verbose", "IRKIT_LOG_LEVEL=info"])
def test_tensorflow_logs_only_when_asked(how):
    args = ["predict", "--weights", "none", "--top", "1"]
    env = quiet_env()
    if how == "--verbose":
        args = ["--verbose", *args]
    elif how != "default":
        key, _, value = how.partition("=")
        env[key] = value
    done = run_cli(args, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    if how == "default":
        assert not NATIVE.search(done.stderr), done.stderr
        assert "Traceback" not in done.stderr
    else:
        assert NATIVE.search(done.stderr), done.stderr  # they come back


@pytest.mark.slow
@pytest.mark.parametrize("loud", [False, True])
def test_the_model_server_process_is_quiet_too(loud, tmp_path, tiny_model_tarball):
    """What ServerProcess runs for a job (and ``irkit serve``): quiet unless IRKIT_LOG_LEVEL asks."""
    port_file = tmp_path / "port"
    env = quiet_env(**({"IRKIT_LOG_LEVEL": "debug"} if loud else {}))
    with open(tmp_path / "server.err", "wb") as err:
        server = subprocess.Popen([sys.executable, "-m", "irkit.serve", str(tiny_model_tarball), "--port", "0",
                                   "--port-file", str(port_file)], stderr=err, stdout=subprocess.DEVNULL, env=env)
    try:
        port = wait_for(lambda: port_file.is_file() and port_file.read_text().strip(), 120, what="the port")
        wait_for(lambda: _ok(f"http://127.0.0.1:{port}/ping"), 120, 0.5, what="/ping")
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 130
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    text = (tmp_path / "server.err").read_text(errors="replace")
    assert bool(NATIVE.search(text)) == loud, text
    assert "Traceback" not in text


def _ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_run_prints_no_ipykernel_tcp_warning(tmp_path):
    notebook = write_notebook(tmp_path / "hello.ipynb", "print('hello')")
    done = run_cli(["run", str(notebook), "--out", str(tmp_path / "runs")], timeout=300, cwd=tmp_path,
                   env=quiet_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert "without encryption" not in done.stderr + done.stdout
    assert "WARNING" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not [p for p in tmp_path.iterdir() if "ipc" in p.name]  # the kernel's sockets are not left here


def test_progress_in_a_log_is_one_line_per_step_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(FAKES), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("IRKIT_LOCAL_SERVER_FACTORY", "faults_plugins:FakeServer")
    monkeypatch.setenv("IRKIT_LOCAL_LOAD_FN", "faults_plugins:fast_load")
    monkeypatch.setenv("IRKIT_TEST_FAST_LOAD_STEPS", "4")
    payload = tmp_path / "payload.json"
    payload.write_text("[[[0.0]]]")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not read by the fake server")
    spec = tmp_path / "lines.yaml"
    spec.write_text(yaml.safe_dump({
        "job_name": "lines", "hyperparameter_ranges": [{"instance_types": ["local.cpu1"],
                                                         "OMP_NUM_THREADS": ["1", "2"]}],
        "stairs": {"duration_in_seconds": 1, "number_of_steps": 4, "users_per_step": 1},
    }))
    done = run_cli(["recommend", str(spec), "--model", str(model), "--payload", str(payload)], timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    steps = [line for line in lines if re.search(r"OMP_NUM_THREADS=\d step \d: \d users, [\d.]+ req/s", line)]
    assert len(steps) == 2 * 4 and len(set(steps)) == len(steps), done.stderr  # each step once
    configs = [line for line in lines if re.match(r"configs: \d/2 done: local\.cpu1", line)]
    assert [c.split()[1] for c in configs] == ["1/2", "2/2"] and all("COMPLETED" in c for c in configs)


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_a_terminal_gets_the_bar_a_log_gets_lines():
    from irkit.backends.local.progress import BarProgress, LineProgress, make_progress

    assert isinstance(make_progress(2, _Stream(tty=False)), LineProgress)
    bar = make_progress(2, _Stream(tty=True))
    assert isinstance(bar, BarProgress)
    bar.close()
