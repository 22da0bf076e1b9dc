"""The sample payload a local job sends: from ``payload.tar.gz`` (path or ``file://`` URL) to one file.

The runner sends one file's bytes as the body of every request, with the spec's content type
(the first of ``supported_content_types``) or one guessed from the file's extension.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from irkit.errors import PackagingError
from irkit.package.layout import CONTENT_TYPES_BY_SUFFIX


def local_path(url: str | Path) -> Path:
    """A local path from a path or ``file://`` URL; other schemes are an error naming the URL."""
    text = str(url)
    if text.startswith("file://"):
        return Path(unquote(urlparse(text).path))
    if "://" in text:
        raise PackagingError(f"sample_payload_url {text!r}: the local backend reads local paths or file:// URLs")
    return Path(text).expanduser()


def guess_content_type(path: Path) -> str:
    return CONTENT_TYPES_BY_SUFFIX.get(path.suffix.lower(), "application/json")


def extract_payload(source: str | Path, dest: Path) -> Path:
    """The first payload file in ``source`` (a .tar.gz or a plain file), extracted safely into ``dest``."""
    path = local_path(source)
    if not path.is_file():
        raise PackagingError(f"sample payload {str(path)!r} does not exist (sample_payload_url / --payload)")
    if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return path
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path) as archive:
            members = sorted(
                (m for m in archive.getmembers() if m.isfile() and not Path(m.name).name.startswith(".")),
                key=lambda m: m.name,
            )
            if not members:
                raise PackagingError(f"payload archive {str(path)!r} holds no payload file")
            member = members[0]
            archive.extract(member, dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise PackagingError(f"payload archive {str(path)!r} cannot be read: {exc}") from exc
    return dest / member.name
