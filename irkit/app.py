"""Serve the right-size app (``notebooks/app.ipynb``) with Voila, for people who do not code.

Voila shows the notebook's widgets without its code: sources stripped, no traceback on the page,
bound to 127.0.0.1, and idle kernels culled so page loads do not pile kernels up.

    irkit app --port 8866 --no-browser
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from irkit.errors import IrkitError

APP_NOTEBOOK_ENV = "IRKIT_APP_NOTEBOOK"
DEFAULT_PORT = 8866
HOST = "127.0.0.1"
CULL_IDLE_TIMEOUT_S = 900  # a kernel idle this long is shut down (each page load starts one)
CULL_INTERVAL_S = 60
STOP_GRACE_S = 10.0  # Voila's own shutdown (its kernels included) before what is left is killed


def app_notebook() -> Path:
    """``$IRKIT_APP_NOTEBOOK`` or the checkout's ``notebooks/app.ipynb``."""
    path = Path(
        os.environ.get(APP_NOTEBOOK_ENV)
        or Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
    )
    if not path.is_file():
        raise IrkitError(f"app notebook not found: {path} (set {APP_NOTEBOOK_ENV} to its path)")
    return path


def voila_command(
    notebook: str | os.PathLike[str] | None = None,
    *,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    cull_idle_timeout_s: int = CULL_IDLE_TIMEOUT_S,
) -> list[str]:
    """The Voila command line irkit runs."""
    path = Path(notebook) if notebook else app_notebook()
    return [
        sys.executable,
        "-m",
        "voila",
        str(path),
        f"--Voila.ip={HOST}",
        f"--Voila.port={int(port)}",
        "--Voila.port_retries=0",
        f"--Voila.open_browser={open_browser}",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle_timeout_s)}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}",
        "--MappingKernelManager.cull_connected=True",
        "--MappingKernelManager.cull_busy=False",
    ]


def app_environment(model: str | None = None, payload: str | None = None) -> dict[str, str]:
    """The kernel's environment: the app's prepared model/payload paths when given."""
    env = dict(os.environ)
    if model:
        env["IRKIT_APP_MODEL"] = str(Path(model).resolve())
    if payload:
        env["IRKIT_APP_PAYLOAD"] = str(Path(payload).resolve())
    return env


def serve_app(
    notebook: str | os.PathLike[str] | None = None,
    *,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    model: str | None = None,
    payload: str | None = None,
) -> int:
    """Run Voila in the foreground until it exits (returns its exit code) or Ctrl-C/SIGTERM.

    On Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt) Voila and every kernel it
    started are stopped, then KeyboardInterrupt is raised again (``irkit app`` exits 130).
    Voila runs in its own session, so a terminal's Ctrl-C reaches irkit only, and irkit stops it.
    """
    from irkit._lazy import optional_import

    optional_import("voila")  # a missing Voila says which extra to install
    command = voila_command(notebook, port=port, open_browser=open_browser)
    print(f"irkit app: serving {command[3]} at http://{HOST}:{port}/ (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(command, env=app_environment(model, payload), start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_tree(proc)
        raise


def stop_tree(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM ``proc`` (Voila shuts its kernels down), then kill whatever of its tree is left."""
    import psutil

    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        tree = []
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(tree, timeout=1.0)
    for child in alive:  # kernels Voila did not shut down (they run in their own sessions)
        try:
            child.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)
