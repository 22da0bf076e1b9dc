"""Hostile tarballs are refused, naming the member, by safe_extract, inspect and the CLI."""

from __future__ import annotations

import io
import tarfile

import pytest

from irkit.cli import main
from irkit.errors import PackagingError
from irkit.package import build as packaging
from irkit.package.archive import build_tarball, safe_extract, safe_members


def _tar_with(path, member: tarfile.TarInfo, data: bytes = b"x"):
    with tarfile.open(path, "w:gz") as archive:
        ok = tarfile.TarInfo("1/ok.txt")
        ok.size = 2
        archive.addfile(ok, io.BytesIO(b"ok"))
        if member.isfile():
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        else:
            archive.addfile(member)
    return path


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


HOSTILE = {
    "dotdot": (_member("../evil.txt"), "'..'"),
    "nested-dotdot": (_member("1/../../evil.txt"), "'..'"),
    "absolute": (_member("/tmp/evil.txt"), "absolute path"),
    "symlink": (_member("1/link", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
    "hardlink": (_member("1/hard", tarfile.LNKTYPE, "1/ok.txt"), "hard link"),
    "device": (_member("1/dev", tarfile.CHRTYPE), "device"),
    "fifo": (_member("1/fifo", tarfile.FIFOTYPE), "device or FIFO"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_member_is_refused_by_name_before_anything_is_written(case, tmp_path):
    member, reason = HOSTILE[case]
    tar = _tar_with(tmp_path / "model.tar.gz", member)
    dest = tmp_path / "dest"
    with pytest.raises(PackagingError) as caught:
        safe_extract(tar, dest)
    assert member.name in str(caught.value) and reason in str(caught.value)
    assert not dest.exists()  # refused before extraction started
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "hardlink"])
def test_inspect_and_cli_report_a_hostile_tarball(case, tmp_path, capsys):
    member, _ = HOSTILE[case]
    tar = _tar_with(tmp_path / "payload.tar.gz", member)
    report = packaging.inspect(tar)
    assert not report.valid and member.name in report.problems[0]
    assert main(["inspect", str(tar)]) == 1
    assert member.name in capsys.readouterr().err


def test_safe_tarball_extracts(tmp_path):
    src = tmp_path / "f.txt"
    src.write_text("hello")
    tar = build_tarball(tmp_path / "t.tar.gz", [("a/f.txt", src)])
    assert [m.name for m in safe_members(tar)] == ["a/f.txt"]
    assert (safe_extract(tar, tmp_path / "out") / "a" / "f.txt").read_text() == "hello"


def test_builder_refuses_symlinks_and_climbing_names(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "link").symlink_to("/etc/passwd")
    with pytest.raises(PackagingError, match="symbolic link"):
        build_tarball(tmp_path / "t.tar.gz", [("d", tmp_path / "d")])
    (tmp_path / "f").write_text("x")
    with pytest.raises(PackagingError, match=r"\.\."):
        build_tarball(tmp_path / "t.tar.gz", [("../f", tmp_path / "f")])


def test_not_a_tarball_is_a_packaging_error(tmp_path):
    junk = tmp_path / "model.tar.gz"
    junk.write_bytes(b"not a tar")
    with pytest.raises(PackagingError, match="model.tar.gz"):
        safe_members(junk)
    assert not packaging.inspect(junk).valid
