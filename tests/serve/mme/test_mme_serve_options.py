"""``irkit serve`` options for multi-model and multi-container endpoints: checked before anything starts."""

from __future__ import annotations

import pytest

from irkit.cli import main
from irkit.errors import BackendError
from irkit.serve.process import ServerProcess


@pytest.fixture(autouse=True)
def _restore_environ():
    """serve() exports settings to os.environ for its workers; keep this process's env as it was."""
    import os

    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize("argv, words", [
    (["serve"], "MODEL"),
    (["serve", "m.tar.gz", "--max-loaded", "2"], "--max-loaded"),
    (["serve", "m.tar.gz", "--memory-mb", "100"], "--memory-mb"),
    (["serve", "m.tar.gz", "--multi-model", "{dir}"], "not both"),
    (["serve", "--multi-model", "{dir}", "--container", "a=x"], "--container"),
    (["serve", "--multi-model", "{dir}/nope"], "is not a folder"),
    (["serve", "--multi-model", "{dir}", "--max-loaded", "0"], "at least 1"),
    (["serve", "--multi-model", "{dir}", "--memory-mb", "-1"], "more than 0"),
    (["serve", "--container", "a"], "HOST=MODEL"),
    (["serve", "--container", "a={dir}/missing.tar.gz"], "does not exist"),
])
def test_bad_combinations_exit_2_naming_the_option(tmp_path, capsys, argv, words):
    code = main([arg.replace("{dir}", str(tmp_path)) for arg in argv])
    err = capsys.readouterr().err
    assert code == 2 and "irkit: error:" in err and words in err


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ["--multi-model", "--max-loaded", "--memory-mb", "--container"]:
        assert option in out


def test_server_process_command_lines(tmp_path):
    mme = ServerProcess(tmp_path, multi_model=True, max_loaded=3, memory_mb=512)
    cmd = mme.command(tmp_path / "port")
    assert cmd[3:9] == ["--multi-model", str(tmp_path), "--max-loaded", "3", "--memory-mb", "512"]
    containers = ServerProcess(None, containers={"a": tmp_path / "a.tar.gz", "b": tmp_path / "b"})
    cmd = containers.command(tmp_path / "port")
    assert cmd[3:7] == ["--container", f"a={tmp_path / 'a.tar.gz'}", "--container", f"b={tmp_path / 'b'}"]
    with pytest.raises(BackendError, match="not both"):
        ServerProcess(tmp_path, containers={"a": tmp_path})
    with pytest.raises(BackendError, match="no model"):
        ServerProcess(None)
    with pytest.raises(BackendError, match="does not exist"):
        containers.start()


@pytest.mark.parametrize("name, value, words", [("IRKIT_MME_MAX_LOADED", "two", "integer"),
                                                 ("IRKIT_MME_MAX_LOADED", "0", "at least 1"),
                                                 ("IRKIT_MME_MEMORY_MB", "-5", "more than 0")])
def test_bad_limit_env_exits_2_naming_the_variable(tmp_path, capsys, monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    assert main(["serve", "--multi-model", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert name in err and words in err


def test_limits_come_from_options_else_from_the_env(tmp_path, monkeypatch):
    import argparse

    from irkit.serve import model_cache as mme
    from irkit.serve.main import export_mme_env

    monkeypatch.setenv(mme.MAX_LOADED_ENV, "3")
    monkeypatch.setenv(mme.MEMORY_MB_ENV, "256")
    args = argparse.Namespace(multi_model=str(tmp_path), max_loaded=None, memory_mb=None)
    assert export_mme_env(args, tmp_path / "work") == tmp_path.resolve()
    assert mme.cache_settings_from_env() == {"max_loaded": 3, "memory_budget_mb": 256.0}
    args = argparse.Namespace(multi_model=str(tmp_path), max_loaded=1, memory_mb=None)
    export_mme_env(args, tmp_path / "work")
    assert mme.cache_settings_from_env() == {"max_loaded": 1, "memory_budget_mb": 256.0}
