"""Execute one notebook with papermill, writing a scrubbed copy cell by cell.

papermill saves the executed notebook after every cell (and every 30 s inside a long one). Those
saves go through a papermill I/O handler registered under ``irkit-scrubbed://``, which runs the
notebook's JSON through a :class:`~irkit.headless.scrub.Scrubber` before it touches the disk. So injected
parameters and printed outputs never leave a credential on disk, not even in a partial notebook of
a killed run.
"""

from __future__ import annotations

import os
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
        raise NotebookFailedError(
            name, f"notebook {name} could not run: {type(exc).__name__}: {scrubber.text(str(exc))}; "
                  f"executed notebook: {local}",
            ename=type(exc).__name__, evalue=scrubber.text(str(exc)),
        ) from exc
    finally:
        _scrubbers.pop(local, None)
