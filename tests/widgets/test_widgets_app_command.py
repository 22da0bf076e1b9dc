"""`irkit app`: the Voila command line it runs (localhost, stripped sources, no tracebacks, culling)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from irkit.app import app_environment, app_notebook, voila_command
from irkit.cli import build_parser
from irkit.errors import IrkitError


def test_voila_command_is_locked_down():
    command = voila_command(port=9123, open_browser=False)
    assert command[:3] == [sys.executable, "-m", "voila"]
    assert command[3].endswith("notebooks/app.ipynb")
    for flag in (
        "--Voila.ip=127.0.0.1",
        "--Voila.port=9123",
        "--Voila.open_browser=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
    ):
        assert flag in command
    assert any(f.startswith("--MappingKernelManager.cull_idle_timeout=") for f in command)


def test_app_notebook_override_and_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("IRKIT_APP_NOTEBOOK", str(tmp_path / "nope.ipynb"))
    with pytest.raises(IrkitError, match="nope.ipynb"):
        app_notebook()


def test_app_environment_passes_model_and_payload(tmp_path):
    env = app_environment(str(tmp_path / "m.tar.gz"), None)
    assert env["IRKIT_APP_MODEL"] == str(tmp_path / "m.tar.gz") and "IRKIT_APP_PAYLOAD" not in env


def test_cli_parses_app_options():
    args = build_parser().parse_args(["app", "--port", "9000", "--no-browser"])
    assert args.port == 9000 and args.no_browser and args.func.__name__ == "_app"


def test_import_irkit_stays_free_of_widgets():
    code = "import irkit, irkit.app, sys; print(any(m.startswith(('ipywidgets', 'voila')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
