"""JobPanel: pick a backend, Run, watch live progress, Stop. Polling runs in a thread; the kernel stays free."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, message_html, readable_error

BACKEND_LABELS = {
    "local": "This machine (offline)",
    "sagemaker": "Amazon SageMaker (your AWS account)",
}
TERMINAL = ("COMPLETED", "FAILED", "STOPPED")


class JobPanel(Panel):
    """Runs the spec that ``spec_factory()`` returns on a backend and mirrors its state in traits.

    ``backend``: a backend object (anything with submit/status/stop/results) or None to use
    ``irkit.backends.get_backend(backend_name)`` at Run time. ``submit_kwargs(backend_name)`` returns the
    backend's submit options (e.g. ``model=``, ``payload=``); it runs in the worker thread, so slow
    preparation (building a model archive) does not block the kernel either.
    """

    backend_name = traitlets.Unicode("local")
    status = traitlets.Unicode("")
    done = traitlets.Int(0)
    total = traitlets.Int(0)
    message = traitlets.Unicode("")
    error = traitlets.Unicode("")
    running = traitlets.Bool(False)
    result: Any = traitlets.Dict(allow_none=True, default_value=None)
    job_name = traitlets.Unicode("")

    def __init__(
        self,
        spec_factory: Callable[[], Any],
        backend: Any = None,
        *,
        backend_name: str | None = None,
        backends: tuple[str, ...] = ("local", "sagemaker"),
        submit_kwargs: Callable[[str], Mapping[str, Any]] | Mapping[str, Any] | None = None,
        poll_s: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._spec_factory = spec_factory
        self._backend = backend
        self._submit_kwargs = submit_kwargs
        self.poll_s = poll_s
        self.handle: Any = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        if backend is not None and backend_name is None:
            backend_name = getattr(backend, "name", "local")
        self.backend_name = backend_name or "local"
        names = list(dict.fromkeys([*backends, self.backend_name]))
        self.backend_dropdown = w.Dropdown(
            options=[(BACKEND_LABELS.get(n, n), n) for n in names],
            description="Run on",
            layout=w.Layout(width="420px"),
        )
        self.run_button = w.Button(
            description="Run", icon="play", button_style="success", tooltip="Start the job"
        )
        self.stop_button = w.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            disabled=True,
            tooltip="Stop the running job",
        )
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="Configs", layout=w.Layout(width="420px")
        )
        self.status_html = w.HTML("<span style='color:#555'>Not started.</span>")
        self.error_html = w.HTML()
        self.output = w.Output(layout=w.Layout(max_height="160px", overflow="auto"))
        self.box = w.VBox(
            [
                w.HBox([self.backend_dropdown, self.run_button, self.stop_button]),
                self.progress,
                self.status_html,
                self.error_html,
                self.output,
            ]
        )
        self._link((self, "backend_name"), (self.backend_dropdown, "value"))
        self._on_click(self.run_button, lambda _b: self.run())
        self._on_click(self.stop_button, lambda _b: self.stop())
        self._observe(
            self, self._render, ["status", "done", "total", "message", "error", "running"]
        )

    # ---- actions ---------------------------------------------------------------------------
    def run(self) -> bool:
        """Check the spec now; start the job in a thread. Returns False (with a message) if it cannot start."""
        if self.running:
            return False
        self.error, self.result, self.done, self.total = "", None, 0, 0
        try:
            spec = self._spec_factory()
            if spec.job_name is None:
                spec = spec.with_job_name("app")
            spec.validate(target=self.backend_name)
            backend = self._resolve_backend()
        except Exception as exc:
            self.error = readable_error(exc)
            return False
        self._stop_requested.clear()
        self.handle, self.job_name = None, spec.job_name
        self.status, self.message, self.running = "PENDING", "starting", True
        self.output.clear_output()
        self._thread = threading.Thread(
            target=self._work, args=(backend, spec), name="irkit-job-panel", daemon=True
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the backend to stop the job (in a thread: a local stop may take seconds)."""
        self._stop_requested.set()
        self.message = "stopping"
        handle, backend = self.handle, self._backend
        if handle is not None and backend is not None:
            threading.Thread(target=self._stop_job, args=(backend, handle), daemon=True).start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the worker thread ends (for scripts and tests; widgets never need it)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- worker thread ---------------------------------------------------------------------
    def _resolve_backend(self) -> Any:
        if (
            self._backend is not None
            and getattr(self._backend, "name", self.backend_name) == self.backend_name
        ):
            return self._backend
        from irkit.backends import get_backend

        self._backend = get_backend(self.backend_name)
        return self._backend

    def _kwargs(self) -> dict[str, Any]:
        source = self._submit_kwargs
        if source is None:
            return {}
        return dict(source(self.backend_name) if callable(source) else source)

    def _work(self, backend: Any, spec: Any) -> None:
        try:
            self._log(f"preparing {spec.job_name} ({len(spec.configurations())} configurations)")
            kwargs = self._kwargs()
            if self._stop_requested.is_set():
                self.status, self.message = "STOPPED", "stopped before it started"
                return
            self.handle = backend.submit(spec, **kwargs)
            self._log(f"submitted {self.handle.job_name}")
            if self._stop_requested.is_set():
                self._stop_job(backend, self.handle)
            self._poll(backend)
        except Exception as exc:
            self.error = readable_error(exc)
            self.status = self.status if self.status in TERMINAL else "FAILED"
        finally:
            self.running = False

    def _poll(self, backend: Any) -> None:
        last_message = None
        while True:
            current = backend.status(self.handle)
            self.status, self.done, self.total = current.status, current.done, current.total
            self.message = current.message or current.status.lower()
            if self.message != last_message:
                self._log(self.message)
                last_message = self.message
            if current.status in TERMINAL:
                break
            time.sleep(self.poll_s)
        result = backend.results(self.handle)
        self.result = result
        if result.get("Status") == "FAILED" or current.status == "FAILED":
            self.error = f"The job failed: {result.get('FailureReason') or current.failure_reason or 'no reason given'}"

    def _stop_job(self, backend: Any, handle: Any) -> None:
        try:
            backend.stop(handle)
        except Exception as exc:
            self.error = f"Stop failed: {readable_error(exc)}"

    def _log(self, line: str) -> None:
        self.output.append_stdout(time.strftime("%H:%M:%S ") + line + "\n")

    # ---- view ------------------------------------------------------------------------------
    def _render(self, _change: Any) -> None:
        self.run_button.disabled = self.running
        self.stop_button.disabled = not self.running
        self.backend_dropdown.disabled = self.running
        self.progress.max = max(self.total, 1)
        self.progress.value = min(self.done, self.progress.max)
        self.progress.bar_style = {
            "COMPLETED": "success",
            "FAILED": "danger",
            "STOPPED": "warning",
        }.get(self.status, "info")
        if self.status:
            count = f" ({self.done} of {self.total} configurations done)" if self.total else ""
            state = self.status.replace("_", " ").title()
            same = self.message.lower() == self.status.lower()
            detail = "" if same else f": {html.escape(self.message)}"
            self.status_html.value = f"<b>{state}</b>{count}{detail}"
        self.error_html.value = message_html(self.error)
