"""Small files tests build: a gzip tarball from ``{member name: bytes}`` (tests/faults, tests/serve)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def write_tarball(path: Path, files: dict[str, bytes]) -> Path:
    """``path`` as a .tar.gz holding ``files`` (regular members, in the order given)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
