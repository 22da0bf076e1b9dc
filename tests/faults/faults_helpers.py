"""Helpers for the fault tests: real irkit processes (found again by their mark: tests/helpers_process.py).

(Not named conftest: several test folders have one, and ``from conftest import`` gets whichever came first.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def wait_for(predicate, timeout_s: float = 60.0, every_s: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _default_sigint() -> None:
    # a shell's background job starts with SIGINT ignored, and Python then keeps it ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Cli:
    """``python -m irkit ARGS`` as a real process, its output in files."""

    def __init__(self, args: list[str], folder: Path, name: str = "cli", env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.out_path, self.err_path = folder / f"{name}.out", folder / f"{name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            # its own process group, as a shell gives a foreground command: ctrl_c() signals the group
            self.process = subprocess.Popen([sys.executable, "-m", "irkit", *args], stdout=out, stderr=err,
                                            stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                            cwd=cwd, preexec_fn=_default_sigint, start_new_session=True)

    def ctrl_c(self) -> None:
        """What a terminal's Ctrl-C does: SIGINT to the foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def terminate(self) -> None:
        """``kill PID``: SIGTERM to the command alone."""
        self.process.send_signal(signal.SIGTERM)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"irkit did not exit in {timeout} s; stderr:\n{self.err[-3000:]}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path, *cells: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def run_cli(args: list[str], timeout: float = 120.0, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irkit", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)
