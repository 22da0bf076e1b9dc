"""How ``LocalBackend.wait`` shows progress: a live bar on a terminal or in Jupyter, lines in a log.

On a terminal (the stream is a TTY) and in a Jupyter kernel, a tqdm bar is redrawn at each poll.
Anywhere else (a log file, CI, a pipe) a bar would be a carriage-return line per poll, so
:class:`LineProgress` prints one line per finished step (a load level) and one per finished config.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from irkit import states


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def step_line(step: dict[str, Any]) -> str:
    """``local.cpu1 step 2: 3 users, 41.2 req/s, p95 88 ms, 0 errors``."""
    rate = f"{step['target_rps']:g} req/s offered" if step.get("target_rps") is not None else \
        f"{step.get('users')} users"
    return (f"  {step.get('config_id')} step {step.get('step')}: {rate}, {step.get('rps') or 0:.1f} req/s, "
            f"p95 {step.get('p95_ms') or 0:.0f} ms, {step.get('errors') or 0} errors")


def _step_key(step: dict[str, Any]) -> tuple[Any, Any]:
    return step.get("config_id"), step.get("step_index", step.get("step"))


class BarProgress:
    """A tqdm bar of configs done, its postfix the running config's latest step."""

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=max(total, 1), desc="configs", unit="config", leave=True)

    def update(self, status: Any, configs: list[dict[str, Any]]) -> None:  # noqa: ARG002
        self.bar.n = status.done
        self.bar.set_postfix_str(status.message[:90], refresh=True)

    def close(self) -> None:
        self.bar.close()


class LineProgress:
    """One line per step as it finishes and one per config as it ends; nothing in between."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total, self.stream = total, stream or sys.stderr
        self.steps_seen: set[tuple[str, Any]] = set()
        self.configs_done: set[str] = set()
        self.started = False

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def update(self, status: Any, configs: list[dict[str, Any]]) -> None:
        if not self.started:
            self.started = True
            # configs finished before this wait (a resumed job) are not announced again
            self.configs_done = {c["config_id"] for c in configs if states.is_terminal(c["status"])}
            self.steps_seen = {_step_key(s) for s in status.steps if s.get("config_id") in self.configs_done}
            self._print(f"configs: {len(self.configs_done)}/{self.total} done")
        for step in status.steps:
            key = _step_key(step)
            if key not in self.steps_seen:
                self.steps_seen.add(key)
                self._print(step_line(step))
        for config in configs:
            if config["config_id"] not in self.configs_done and states.is_terminal(config["status"]):
                self.configs_done.add(config["config_id"])
                reason = f" - {config['failure_reason']}" if config.get("failure_reason") and \
                    config["status"] != states.COMPLETED else ""
                self._print(f"configs: {len(self.configs_done)}/{self.total} done: {config['config_id']} "
                            f"{config['status']}{reason}")

    def close(self) -> None:
        pass


def make_progress(total: int, stream: IO[str] | None = None) -> BarProgress | LineProgress:
    """A bar on a terminal or in Jupyter; lines when the output goes to a log."""
    stream = stream or sys.stderr
    if in_kernel() or is_tty(stream):
        return BarProgress(total)
    return LineProgress(total, stream)
