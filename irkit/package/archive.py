"""Tarballs, built and read safely.

Reading refuses hostile members before anything is written: absolute paths, ``..`` parts, symbolic
and hard links, devices and FIFOs. Extraction then also goes through tarfile's ``data`` filter.
Every refusal is a :class:`~irkit.errors.PackagingError` that names the archive and the member.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from irkit.errors import PackagingError

TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def is_tarball(path: str | Path) -> bool:
    return str(path).endswith(TARBALL_SUFFIXES)


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` is unsafe to extract, or None when it is a plain file or folder inside."""
    name = member.name
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "climbs out of the folder with '..'"
    if member.issym():
        return f"is a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"is a hard link (to {member.linkname!r})"
    if member.isdev():
        return "is a device or FIFO"
    if not (member.isfile() or member.isdir()):
        return "is not a regular file or folder"
    return None


def _open(tar_path: Path) -> tarfile.TarFile:
    if not tar_path.is_file():
        raise PackagingError(f"{str(tar_path)!r} does not exist or is not a file")
    try:
        return tarfile.open(tar_path)
    except (tarfile.TarError, OSError) as exc:
        raise PackagingError(f"{str(tar_path)!r} is not a readable tar archive: {exc}") from exc


def safe_members(tar_path: str | Path) -> list[tarfile.TarInfo]:
    """The archive's members, or PackagingError naming the first hostile member."""
    path = Path(tar_path)
    with _open(path) as archive:
        try:
            members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise PackagingError(f"{str(path)!r} is truncated or corrupt: {exc}") from exc
    for member in members:
        problem = member_problem(member)
        if problem:
            raise PackagingError(f"{str(path)!r}: refused member {member.name!r}: it {problem}")
    return members


def safe_extract(tar_path: str | Path, dest: str | Path) -> Path:
    """Extract ``tar_path`` into ``dest`` after refusing hostile members; returns ``dest``."""
    path, target = Path(tar_path), Path(dest)
    safe_members(path)  # refuse before writing anything
    target.mkdir(parents=True, exist_ok=True)
    with _open(path) as archive:
        try:
            archive.extractall(target, filter="data")
        except tarfile.FilterError as exc:
            raise PackagingError(f"{str(path)!r}: refused member: {exc}") from exc
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise PackagingError(f"{str(path)!r} cannot be extracted: {exc}") from exc
    return target


def read_member(tar_path: str | Path, name: str) -> bytes:
    """The bytes of one regular file in the archive (after the safety check)."""
    path = Path(tar_path)
    members = {m.name: m for m in safe_members(path)}
    member = members.get(name)
    if member is None or not member.isfile():
        raise PackagingError(f"{str(path)!r} has no file {name!r}")
    with _open(path) as archive:
        handle = archive.extractfile(member)
        if handle is None:  # pragma: no cover - isfile() members always extract
            raise PackagingError(f"{str(path)!r}: {name!r} cannot be read")
        return handle.read()


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_tarball(out_path: str | Path, entries: Mapping[str, str | Path] | Iterable[tuple[str, str | Path]]) -> Path:
    """Write a gzip tarball holding each ``(arcname, local file or folder)``; folders go in whole.

    Links inside folders are refused, so the archive always passes :func:`safe_members`.
    """
    out = Path(out_path)
    items = list(entries.items()) if isinstance(entries, Mapping) else list(entries)
    for arcname, source in items:
        src = Path(source)
        if not src.exists():
            raise PackagingError(f"cannot add {str(src)!r} to {str(out)!r}: it does not exist")
        for sub in [src, *(src.rglob("*") if src.is_dir() else [])]:
            if sub.is_symlink():
                raise PackagingError(f"cannot add {str(sub)!r} to {str(out)!r}: it is a symbolic link")
        if arcname.startswith("/") or ".." in PurePosixPath(arcname).parts:
            raise PackagingError(f"archive name {arcname!r} for {str(out)!r} must be relative, without '..'")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    # weights barely compress: gzip level 1 is as small as 9 here and several times faster
    with tarfile.open(tmp, "w:gz", compresslevel=1) as archive:
        for arcname, source in items:
            archive.add(str(source), arcname=arcname, filter=_normalized)
    tmp.replace(out)
    return out
