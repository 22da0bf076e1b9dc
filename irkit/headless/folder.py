"""The folder a headless run leaves behind, and its ``run.json`` manifest.

Layout of ``<out>/<UTC timestamp>-<name>/``::

    run.json                 manifest: parameters, status, per-notebook timings and errors, jobs,
                             baseline check, exit code (rewritten after every step, so a killed run
                             still says how far it got)
    01_local_inference.ipynb executed notebooks (written cell by cell by papermill, scrubbed)
    ...
    result.json, report.html the last job's Describe-shaped result and its HTML report
    jobs/<job id>/           result.json and report.html of every job the run started
    compare.csv              the baseline comparison, when a baseline was given
    work/                    the default ``workdir`` handed to the notebooks (model.tar.gz ...)

Everything written here goes through a :class:`~irkit.headless.scrub.Scrubber`. For an ``s3://`` output the
folder is staged under ``$IRKIT_HOME/runs/`` and uploaded at the end (also after a failure) through
the SageMaker backend (the only place that imports boto3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from irkit.errors import SpecError
from irkit.headless.scrub import Scrubber
from irkit.paths import irkit_home

MANIFEST_NAME = "run.json"
RESULT_NAME = "result.json"
JOBS_DIR = "jobs"
WORK_DIR = "work"
S3_PREFIX = "s3://"
STAGING_DIR = "runs"

# run statuses written to run.json
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
INTERRUPTED = "interrupted"
REGRESSED = "regressed"


def utc_stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def utc_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at the ends)."""
    rest = uri[len(S3_PREFIX):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise SpecError("--out", f"{uri!r} names no bucket (expected s3://bucket/prefix)")
    return bucket, prefix.strip("/")


class RunFolder:
    """A timestamped run folder under ``out`` (a local folder or ``s3://bucket/prefix``)."""

    def __init__(self, out: str | os.PathLike[str], name: str, scrubber: Scrubber | None = None) -> None:
        self.out = str(out)
        self.scrubber = scrubber or Scrubber()
        self.is_s3 = self.out.startswith(S3_PREFIX)
        base = irkit_home() / STAGING_DIR if self.is_s3 else Path(self.out).expanduser()
        if self.is_s3:
            split_s3(self.out)  # fail early on a malformed URI
        base.mkdir(parents=True, exist_ok=True)
        stem = f"{utc_stamp()}-{name}"
        path, n = base / stem, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = base / f"{stem}-{n}"
        self.path = path.resolve()
        self.run_id = self.path.name

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def remote_uri(self) -> str | None:
        if not self.is_s3:
            return None
        bucket, prefix = split_s3(self.out)
        return f"{S3_PREFIX}{bucket}/{prefix + '/' if prefix else ''}{self.run_id}"

    def job_dir(self, job_id: str) -> Path:
        path = self.path / JOBS_DIR / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_text(self, relative: str | Path, text: str) -> Path:
        """Write scrubbed text atomically (a reader never sees half a file)."""
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.scrubber.text(text), encoding="utf-8")
        os.replace(tmp, target)
        return target

    def write_json(self, relative: str | Path, value: Any) -> Path:
        return self.write_text(relative, json.dumps(self.scrubber.value(value), indent=2, default=str) + "\n")

    def write_manifest(self, manifest: dict[str, Any]) -> Path:
        return self.write_json(MANIFEST_NAME, manifest)

    def scrub_file(self, path: Path) -> None:
        """Scrub a file another writer produced (an HTML report) in place."""
        text = path.read_text(encoding="utf-8")
        clean = self.scrubber.text(text)
        if clean != text:
            path.write_text(clean, encoding="utf-8")

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))

    def upload(self, uploader: Callable[[Path, str, str], Any] | None = None) -> str | None:
        """Copy the folder to ``s3://bucket/prefix/<run id>/``; return that URI (None when local).

        ``uploader(local_path, bucket, key)`` defaults to the SageMaker backend's ``upload_file``.
        """
        if not self.is_s3:
            return None
        bucket, prefix = split_s3(self.out)
        if uploader is None:
            uploader = _sagemaker_uploader()
        for file in self.files():
            key = "/".join(p for p in (prefix, self.run_id, file.relative_to(self.path).as_posix()) if p)
            uploader(file, bucket, key)
        return self.remote_uri


def _sagemaker_uploader() -> Callable[[Path, str, str], Any]:
    from irkit.backends import get_backend  # the registry: the core never imports a backend itself

    backend: Any = get_backend("sagemaker")
    return lambda path, bucket, key: backend.upload_file(path, bucket, key)
