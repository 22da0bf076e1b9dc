"""Execute one notebook with papermill, writing a scrubbed copy cell by cell.

papermill saves the executed notebook after every cell (and every 30 s inside a long one). Those
saves go through a papermill I/O handler registered under ``irkit-scrubbed://``, which runs the
notebook's JSON through a :class:`~irkit.headless.scrub.Scrubber` before it touches the disk. So injected
parameters and printed outputs never leave a credential on disk, not even in a partial notebook of
a killed run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from irkit.errors import IrkitError
from irkit.headless.scrub import Scrubber

SCRUBBED_SCHEME = "irkit-scrubbed://"
DEFAULT_KERNEL = "python3"
KERNEL_START_TIMEOUT_S = 120

_scrubbers: dict[str, Scrubber] = {}  # output path -> the scrubber of the run writing it


class NotebookFailedError(IrkitError):
    """A notebook cell raised, timed out, or the kernel died. Names the notebook and the cell."""

    def __init__(self, notebook: str, message: str, *, cell_index: int | None = None,
                 execution_count: int | None = None, ename: str | None = None,
                 evalue: str | None = None, timed_out: bool = False) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.execution_count = execution_count
        self.ename = ename
        self.evalue = evalue
        self.timed_out = timed_out
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_index": self.cell_index, "execution_count": self.execution_count,
            "ename": self.ename, "evalue": self.evalue, "timed_out": self.timed_out,
            "message": str(self),
        }


class ScrubbedLocalHandler:
    """papermill I/O handler: local files, with every write scrubbed and written atomically."""

    @staticmethod
    def _local(path: str) -> str:
        return path[len(SCRUBBED_SCHEME):] if path.startswith(SCRUBBED_SCHEME) else path

    def read(self, path: str) -> str:
        return Path(self._local(path)).read_text(encoding="utf-8")

    def listdir(self, path: str) -> list[str]:
        local = self._local(path)
        return [os.path.join(local, name) for name in os.listdir(local)]

    def write(self, buf: str, path: str) -> None:
        local = self._local(path)
        text = _scrubbers.get(local, Scrubber()).text(buf.replace(SCRUBBED_SCHEME, ""))
        tmp = f"{local}.partial"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, local)

    def pretty_path(self, path: str) -> str:
        return self._local(path)


def _register_handler() -> None:
    from papermill.iorw import papermill_io

    if not any(scheme == SCRUBBED_SCHEME for scheme, _ in papermill_io._handlers):
        papermill_io.register(SCRUBBED_SCHEME, ScrubbedLocalHandler())


def _escape_braces(path: str) -> str:
    # papermill formats the output path with the parameters (str.format)
    return path.replace("{", "{{").replace("}", "}}")


def execute(
    nb: Any,
    output_path: Path,
    parameters: dict[str, Any],
    *,
    name: str,
    scrubber: Scrubber,
    kernel: str = DEFAULT_KERNEL,
    timeout_s: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Any:
    """Run ``nb`` (a NotebookNode) with ``parameters`` injected; save it scrubbed to ``output_path``.

    ``timeout_s`` limits each cell; when it runs out the kernel is interrupted (so ``irkit.wait``
    stops its job, as Ctrl-C would) and :class:`NotebookFailedError` says so.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _register_handler()
    local = str(Path(output_path).resolve())
    _scrubbers[local] = scrubber
    timeout = int(timeout_s) if timeout_s else None
    engine_kwargs: dict[str, Any] = {}
    if timeout:
        engine_kwargs = {
            "execution_timeout": timeout,
            "interrupt_on_timeout": True,
            "error_on_timeout": {
                "ename": "CellTimeoutError",
                "evalue": f"the cell ran past the {timeout} s timeout (--timeout); the kernel was interrupted",
                "traceback": [],
            },
        }
    sockets = tempfile.mkdtemp(prefix="irkit-kernel-")
    kernel_log = os.path.join(sockets, "kernel.log")
    engine_kwargs["kernel_manager_class"] = ipc_kernel_manager(os.path.join(sockets, "k"), kernel_log)
    try:
        return papermill.execute_notebook(
            nb, _escape_braces(SCRUBBED_SCHEME + local), parameters=parameters or None,
            kernel_name=kernel, language="python", progress_bar=progress, start_timeout=KERNEL_START_TIMEOUT_S,
            cwd=str(cwd) if cwd is not None else None, **engine_kwargs,
        )
    except PapermillExecutionError as exc:
        timed_out = exc.ename == "CellTimeoutError" or (bool(timeout) and exc.ename == "KeyboardInterrupt")
        what = f"timed out after {timeout} s" if timed_out else f"failed: {exc.ename}: {scrubber.text(str(exc.evalue))}"
        raise NotebookFailedError(
            name,
            f"notebook {name} {what} in cell {exc.cell_index} (In [{exc.exec_count}]); "
            f"executed notebook: {local}",
            cell_index=exc.cell_index, execution_count=exc.exec_count, ename=exc.ename,
            evalue=scrubber.text(str(exc.evalue)), timed_out=timed_out,
        ) from None
    except (RuntimeError, TimeoutError) as exc:  # DeadKernelError, kernel start failures
        tail = kernel_log_tail(kernel_log, scrubber)
        raise NotebookFailedError(
            name, f"notebook {name} could not run: {type(exc).__name__}: {scrubber.text(str(exc))}; "
                  f"executed notebook: {local}" + (f"\nthe kernel's log ends with:\n{tail}" if tail else ""),
            ename=type(exc).__name__, evalue=scrubber.text(str(exc)),
        ) from exc
    finally:
        _scrubbers.pop(local, None)
        shutil.rmtree(sockets, ignore_errors=True)


def ipc_kernel_manager(socket_prefix: str, log_path: str | None = None) -> type:
    """A kernel manager whose kernel talks over Unix sockets ``<socket_prefix>-<n>`` instead of TCP:
    nothing listens on a port, and ipykernel has no "running over TCP without encryption" warning.

    With ``log_path`` the kernel process's own stdout/stderr (not the cells' output, which the
    notebook records) go to that file instead of the terminal: TensorFlow's C++ logs and the
    kernel's shutdown noise stay out of ``irkit run``'s output. A kernel that dies is reported with
    the file's last lines.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IpcKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            return socket_prefix

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if log_path is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(log_path, "ab") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return IpcKernelManager


def kernel_log_tail(path: str, scrubber: Scrubber, lines: int = 15) -> str:
    """The end of a kernel's own log, scrubbed, without TensorFlow's import noise."""
    from irkit._lazy import is_native_noise

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip() and not is_native_noise(line)]
    return scrubber.text("\n".join(kept[-lines:]))
