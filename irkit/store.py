"""The job store and history: one SQLite file shared by both backends and every process.

Tables:
- ``jobs``: one row per job run (local or SageMaker), with its spec, status and final result.
- ``configs``: one row per (instance type x env combination) of a job, with its recommendation.
- ``steps``: the per-step load curve of a config, written as soon as the step finishes.

Every write commits at once (WAL mode, busy timeout), so a killed job keeps its finished steps
and two processes can write to the same file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from irkit import states
from irkit.errors import IrkitError
from irkit.paths import default_db_path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's write to finish

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    job_name TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    spec_json TEXT,
    result_json TEXT,
    meta_json TEXT,
    pid INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_name ON jobs (job_name, created_at);
CREATE TABLE IF NOT EXISTS configs (
    job_id TEXT NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    config_id TEXT NOT NULL,
    instance_type TEXT NOT NULL,
    env_json TEXT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    recommendation_json TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (job_id, config_id)
);
CREATE TABLE IF NOT EXISTS steps (
    job_id TEXT NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    config_id TEXT NOT NULL,
    step_index INTEGER NOT NULL,
    step_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (job_id, config_id, step_index)
);
"""


class JobNotFoundError(IrkitError):
    """No job matches the given id or name."""


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Store:
    """The SQLite job store. ``path`` defaults to ``$IRKIT_HOME/irkit.db``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            # executescript() would COMMIT the open transaction; run the statements one by one.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: IMMEDIATE (the write lock up front, waiting up to ``BUSY_TIMEOUT_S`` for
        it) for writes; a plain snapshot for reads, which in WAL mode neither waits for writers nor
        holds them up (``irkit jobs list`` in a loop beside running jobs)."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # ---- jobs -------------------------------------------------------------------------------
    def create_job(
        self,
        job_name: str,
        backend: str,
        spec: dict[str, Any] | None = None,
        *,
        status: str = states.PENDING,
        meta: dict[str, Any] | None = None,
        job_id: str | None = None,
        created_at: float | None = None,
    ) -> str:
        """Insert a job and return its id: ``job_name``, or ``job_name-N`` when that is taken.

        ``created_at`` (epoch seconds) defaults to now; an imported job passes its CreationTime.
        """
        now = time.time()
        with self._connect() as db:
            if job_id is None:
                job_id = job_name
                n = 1
                while db.execute("SELECT 1 FROM jobs WHERE job_id=?", (job_id,)).fetchone():
                    n += 1
                    job_id = f"{job_name}-{n}"
            db.execute(
                "INSERT INTO jobs (job_id, job_name, backend, status, spec_json, meta_json,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                (job_id, job_name, backend, status, _dumps(spec), _dumps(meta or {}),
                 now if created_at is None else created_at, now),
            )
        return job_id

    def set_status(
        self, job_id: str, status: str, failure_reason: str | None = None, *, pid: int | None = None
    ) -> None:
        if status not in states.ALL:
            raise ValueError(f"unknown job status {status!r}")
        with self._connect() as db:
            cur = db.execute(
                "UPDATE jobs SET status=?, failure_reason=COALESCE(?, failure_reason),"
                " pid=COALESCE(?, pid), updated_at=? WHERE job_id=?",
                (status, failure_reason, pid, time.time(), job_id),
            )
            if cur.rowcount == 0:
                raise JobNotFoundError(f"no job {job_id!r} in {self.path}")

    def set_pid(self, job_id: str, pid: int) -> None:
        """Record the process running a job (its status is left as it is)."""
        with self._connect() as db:
            cur = db.execute("UPDATE jobs SET pid=?, updated_at=? WHERE job_id=?", (pid, time.time(), job_id))
            if cur.rowcount == 0:
                raise JobNotFoundError(f"no job {job_id!r} in {self.path}")

    def update_meta(self, job_id: str, **meta: Any) -> None:
        with self._connect() as db:
            row = db.execute("SELECT meta_json FROM jobs WHERE job_id=?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no job {job_id!r} in {self.path}")
            merged = {**(_loads(row["meta_json"]) or {}), **meta}
            db.execute(
                "UPDATE jobs SET meta_json=?, updated_at=? WHERE job_id=?",
                (_dumps(merged), time.time(), job_id),
            )

    def save_result(self, job_id: str, result: dict[str, Any]) -> None:
        """Store the job's final Describe-shaped result and take its Status from it."""
        status = result.get("Status", states.COMPLETED)
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET result_json=?, status=?, failure_reason=?, updated_at=?"
                " WHERE job_id=?",
                (_dumps(result), status, result.get("FailureReason"), time.time(), job_id),
            )

    def get_job(self, ref: str) -> dict[str, Any]:
        """A job by id, by name (the newest run of that name), or ``latest``."""
        with self._connect(write=False) as db:
            if ref == "latest":
                row = db.execute("SELECT * FROM jobs ORDER BY created_at DESC LIMIT 1").fetchone()
            else:
                row = db.execute("SELECT * FROM jobs WHERE job_id=?", (ref,)).fetchone()
                if row is None:
                    row = db.execute(
                        "SELECT * FROM jobs WHERE job_name=? ORDER BY created_at DESC LIMIT 1",
                        (ref,),
                    ).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {ref!r} in {self.path} (see `irkit jobs list`)")
        return _job_dict(row)

    def list_jobs(self, *, name: str | None = None, backend: str | None = None) -> list[dict[str, Any]]:
        """All jobs, newest first, optionally filtered by job name or backend."""
        sql, args = "SELECT * FROM jobs WHERE 1=1", []
        if name:
            sql += " AND job_name=?"
            args.append(name)
        if backend:
            sql += " AND backend=?"
            args.append(backend)
        with self._connect(write=False) as db:
            rows = db.execute(sql + " ORDER BY created_at DESC", args).fetchall()
        return [_job_dict(r) for r in rows]

    def result(self, ref: str) -> dict[str, Any]:
        job = self.get_job(ref)
        if job["result"] is None:
            raise JobNotFoundError(f"job {job['job_id']!r} has no result yet (status {job['status']})")
        return job["result"]

    def delete_job(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE job_id=?", (job_id,))

    # ---- configs and steps ------------------------------------------------------------------
    def upsert_config(
        self,
        job_id: str,
        config_id: str,
        instance_type: str,
        env: dict[str, str],
        status: str,
        *,
        recommendation: dict[str, Any] | None = None,
        failure_reason: str | None = None,
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO configs (job_id, config_id, instance_type, env_json, status,"
                " failure_reason, recommendation_json, updated_at) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(job_id, config_id) DO UPDATE SET status=excluded.status,"
                " failure_reason=excluded.failure_reason,"
                " recommendation_json=excluded.recommendation_json, updated_at=excluded.updated_at",
                (
                    job_id, config_id, instance_type, _dumps(env), status, failure_reason,
                    _dumps(recommendation) if recommendation is not None else None, time.time(),
                ),
            )

    def configs(self, job_id: str) -> list[dict[str, Any]]:
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT * FROM configs WHERE job_id=? ORDER BY rowid", (job_id,)
            ).fetchall()
        return [
            {
                "config_id": r["config_id"],
                "instance_type": r["instance_type"],
                "env": _loads(r["env_json"]),
                "status": r["status"],
                "failure_reason": r["failure_reason"],
                "recommendation": _loads(r["recommendation_json"]),
            }
            for r in rows
        ]

    def finished_configs(self, job_id: str) -> set[str]:
        """Config ids that reached a terminal state: a resumed job skips these."""
        return {c["config_id"] for c in self.configs(job_id) if states.is_terminal(c["status"])}

    def add_step(self, job_id: str, config_id: str, step_index: int, step: dict[str, Any]) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO steps (job_id, config_id, step_index, step_json, created_at)"
                " VALUES (?,?,?,?,?)",
                (job_id, config_id, step_index, _dumps(step), time.time()),
            )

    def delete_steps(self, job_id: str, config_id: str) -> None:
        """Forget a config's steps (a config rerun after a kill starts its curve afresh)."""
        with self._connect() as db:
            db.execute("DELETE FROM steps WHERE job_id=? AND config_id=?", (job_id, config_id))

    def steps(self, job_id: str, config_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM steps WHERE job_id=?"
        args: list[Any] = [job_id]
        if config_id is not None:
            sql += " AND config_id=?"
            args.append(config_id)
        with self._connect(write=False) as db:
            rows = db.execute(sql + " ORDER BY config_id, step_index", args).fetchall()
        return [
            {"config_id": r["config_id"], "step_index": r["step_index"], **_loads(r["step_json"])}
            for r in rows
        ]


def _job_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "job_id": row["job_id"],
        "job_name": row["job_name"],
        "backend": row["backend"],
        "status": row["status"],
        "failure_reason": row["failure_reason"],
        "spec": _loads(row["spec_json"]),
        "result": _loads(row["result_json"]),
        "meta": _loads(row["meta_json"]) or {},
        "pid": row["pid"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
