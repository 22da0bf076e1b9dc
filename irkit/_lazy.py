"""Lazy imports of optional, heavy dependencies with an actionable message, and TensorFlow's
import kept quiet (its C++ logs) unless ``--verbose`` or ``IRKIT_LOG_LEVEL`` asks for them."""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from irkit.errors import MissingDependencyError

# module -> (pip extra or package, what it is needed for)
_HINTS = {
    "tensorflow": ("irkit", "the ResNet50 model and the local model server"),
    "boto3": ("irkit[aws]", "the SageMaker backend"),
    "botocore": ("irkit[aws]", "the SageMaker backend"),
    "sagemaker": ("irkit[aws]", "the SageMaker backend"),
    "altair": ("irkit", "charts"),
    "vl_convert": ("irkit", "PNG charts"),
    "voila": ("irkit[app]", "the Voila app"),
    "papermill": ("irkit", "headless notebook runs"),
}


def optional_import(name: str) -> ModuleType:
    """Import ``name`` or raise MissingDependencyError saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra, purpose = _HINTS.get(top, (top, "this feature"))
        raise MissingDependencyError(
            f"{top} is needed for {purpose} but is not installed: pip install '{extra}'"
        ) from exc


# ---- TensorFlow's native (C++/absl) logs ------------------------------------------------------
LOG_LEVEL_ENV = "IRKIT_LOG_LEVEL"  # debug or info: TensorFlow's C++ logs are shown (as with --verbose)
TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"
_LOUD_LEVELS = ("debug", "info")
# What TensorFlow's import prints on stderr whatever TF_CPP_MIN_LOG_LEVEL says (oneDNN, absl):
# absl's "before InitializeLog" notice and absl-formatted I/W/E lines ("I0000 00:00:17.. 123 port.cc:153] ...").
_NATIVE_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:.]+\s+\d+ [\w./+-]+:\d+\] .*)$"
)


def is_native_noise(line: str | bytes) -> bool:
    """True for the TensorFlow/absl log lines :func:`quiet_native_logs` keeps out."""
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else line
    return bool(_NATIVE_NOISE.match(raw.rstrip(b"\r\n")))


def native_logs_wanted() -> bool:
    """True when ``$IRKIT_LOG_LEVEL`` is debug or info (``--verbose`` sets it)."""
    return os.environ.get(LOG_LEVEL_ENV, "").strip().lower() in _LOUD_LEVELS


def quiet_native_logs(verbose: bool = False) -> bool:
    """Keep TensorFlow's C++ logs out of this process's stderr and its children's; True when quieted.

    ``verbose`` (``--verbose``) or ``IRKIT_LOG_LEVEL=debug|info`` keep them, here and in the
    processes irkit starts (the model server, the job process), which inherit the setting.
    """
    if verbose:
        os.environ[LOG_LEVEL_ENV] = "debug"
    if native_logs_wanted():
        os.environ.setdefault(TF_LOG_ENV, "0")  # so a child's own default (2) does not hide them
        return False
    os.environ.setdefault(TF_LOG_ENV, "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder("tensorflow"))
    return True


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """Collect what is written to file descriptor 2 inside the block; write back all but the noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not is_native_noise(line)]
            if kept:
                os.write(2, b"".join(kept))


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Runs the first import of one top-level module inside :func:`filtered_native_stderr`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # one import only; the real finders do the finding
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with filtered_native_stderr():
            self.loader.exec_module(module)
