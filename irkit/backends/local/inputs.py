"""Check a local job's files before it is submitted, so a broken file is a one-line usage error
(exit 2) naming the file, not a job that fails later inside its runner.

- the model: a model.tar.gz must read to its end (a truncated download fails here) and hold a
  ``saved_model.pb``; a folder is checked by the server as it loads;
- the payload: a payload.tar.gz must read to its end and hold at least one sample file.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from irkit.errors import PackagingError, SpecError
from irkit.package.archive import is_tarball, safe_members
from irkit.package.layout import CONTENT_TYPES_BY_SUFFIX


def _members(path: Path, field: str) -> list[Any]:
    try:
        return safe_members(path)
    except PackagingError as exc:
        raise SpecError(field, str(exc)) from None


def check_model(model: str | os.PathLike[str], field: str = "model") -> None:
    """SpecError naming ``field`` and the file when a model archive is truncated, corrupt or empty."""
    path = Path(model)
    if not path.is_file() or not is_tarball(path):
        return
    names = [m.name for m in _members(path, field) if m.isfile()]
    if not any(PurePosixPath(name).name == "saved_model.pb" for name in names):
        found = ", ".join(sorted(names)[:5]) or "nothing"
        raise SpecError(field, f"{str(path)!r} holds no saved_model.pb (a SavedModel, as `irkit package` "
                               f"writes it); found: {found}")


def check_payload(payload: str | os.PathLike[str], content_types: tuple[str, ...] = (), *,
                  own_server: bool = True, field: str = "payload") -> None:
    """SpecError naming ``field`` and the file when a payload archive is unreadable or has no sample.

    A sample is a file with a suffix irkit's server decodes (.json, .npy, .jpg/.jpeg, .png). For
    another server (``own_server=False``) any file counts once ``content_types`` say what it is.
    """
    path = Path(payload)
    if not path.is_file() or not is_tarball(path):
        return
    files = sorted(m.name for m in _members(path, field)
                   if m.isfile() and not PurePosixPath(m.name).name.startswith("."))
    samples = [name for name in files if PurePosixPath(name).suffix.lower() in CONTENT_TYPES_BY_SUFFIX]
    if samples or (files and content_types and not own_server):
        return
    found = f"; it holds only {', '.join(files[:5])}" if files else " (it is empty)"
    raise SpecError(field, f"{str(path)!r} holds no sample: put at least one payload file in it (sample.json, "
                           f"sample.npy, sample.jpg or sample.png; `irkit package` writes one){found}")
