"""The job history: list, show, compare and import jobs, on top of the shared job store.

The history is ``irkit.store.Store`` (one SQLite file in ``IRKIT_HOME``, the same one the local
backend writes while it runs), so every local run and every recorded or imported SageMaker job is
here, and scheduled runs build a trend (``trend()``, ``charts.history_trend``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irkit import states
from irkit.errors import BackendError
from irkit.results.frame import (
    CONFIG,
    CREATED,
    JOB_ID,
    MAX_INVOCATIONS,
    MODEL_LATENCY_MS,
    ResultError,
    backend_of,
    read_result_file,
    to_frame,
)
from irkit.results.metrics import COST_PER_MILLION, derived_value
from irkit.results.ranking import recommend
from irkit.store import Store

if TYPE_CHECKING:
    import pandas as pd

LIST_COLUMNS = ("job_id", "job_name", "backend", "status", "created", "configs", "best_config",
                "best_max_invocations", "best_latency_ms", "best_cost_per_million")
IMPORTED_FROM = "imported_from"  # meta key: the file path, or "sagemaker" for a fetched job


def _store(store: Store | str | os.PathLike[str] | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _epoch(iso: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return None


def _best(result: dict[str, Any] | None) -> dict[str, Any]:
    """The recommendation of a result, ranked with ``DEFAULT_IMPORTANCES`` (what `jobs list` shows)."""
    if not result or not result.get("InferenceRecommendations"):
        return {}
    ranked = recommend(to_frame(result))
    if ranked.empty:
        return {}
    top = ranked.iloc[0].to_dict()
    return {
        "configs": len(ranked),
        "best_config": top[CONFIG],
        "best_max_invocations": top[MAX_INVOCATIONS],
        "best_latency_ms": top[MODEL_LATENCY_MS],
        "best_cost_per_million": derived_value(top, COST_PER_MILLION),
    }


def list_jobs(
    store: Store | str | None = None, *, name: str | None = None, backend: str | None = None
) -> pd.DataFrame:
    """Every job, newest first: id, name, backend, status, created, and its recommendation.

    The ``best_*`` columns are ``ranking.recommend``'s pick with ``DEFAULT_IMPORTANCES``, the same one
    ``irkit jobs show``, ``irkit report`` and the app show for the job.
    """
    import pandas as pd

    rows = []
    for job in _store(store).list_jobs(name=name, backend=backend):
        rows.append({
            "job_id": job["job_id"], "job_name": job["job_name"], "backend": job["backend"],
            "status": job["status"], "created": _iso(job["created_at"]),
            "configs": 0, **_best(job["result"]),
        })
    return pd.DataFrame(rows, columns=list(LIST_COLUMNS))


def show(ref: str, store: Store | str | None = None) -> dict[str, Any]:
    """One job's store row (spec, status, meta, result), by id, name or ``latest``."""
    return _store(store).get_job(ref)


def load(ref: str, store: Store | str | None = None) -> dict[str, Any]:
    """A job's Describe-shaped result from the history, by id, name or ``latest``."""
    return _store(store).result(ref)


def compare(a: str, b: str, store: Store | str | None = None) -> pd.DataFrame:
    """``irkit.results.compare.compare`` of two jobs of the history (``a`` is the baseline)."""
    from irkit.results.compare import compare as compare_results

    s = _store(store)
    return compare_results(s.result(a), s.result(b))


def import_result(
    source: str | os.PathLike[str] | dict[str, Any],
    store: Store | str | None = None,
    *,
    backend: Any = None,
) -> str:
    """Record a finished job in the history and return its job id.

    ``source`` is a saved Describe response (a ``.json`` path or the dict), or a SageMaker job
    name, fetched with the SageMaker backend's ``results`` (``backend`` overrides the backend,
    e.g. one built with stubbed clients). Importing the same job again (same JobArn and
    CreationTime) updates its row instead of adding one.
    """
    s = _store(store)
    if isinstance(source, dict):
        result, origin = dict(source), "dict"
    elif Path(source).suffix.lower() == ".json" or Path(source).is_file():
        result, origin = read_result_file(source), str(source)
    else:
        result, origin = fetch_sagemaker_result(str(source), store=s, backend=backend), "sagemaker"
    if not result.get("JobName"):
        raise ResultError(f"{origin}: the result has no JobName")
    status = result.get("Status", states.COMPLETED)
    if status not in states.ALL:
        raise ResultError(f"{origin}: Status {status!r} is not one of {', '.join(states.ALL)}")
    existing = _find_same_job(s, result)
    if existing is None:
        meta = {"job_arn": result.get("JobArn"), IMPORTED_FROM: origin}
        existing = s.create_job(result["JobName"], backend_of(result), None, status=status, meta=meta,
                                created_at=_epoch(result.get("CreationTime")))
    s.save_result(existing, result)
    return existing


def _find_same_job(store: Store, result: dict[str, Any]) -> str | None:
    arn = result.get("JobArn")
    for job in store.list_jobs(name=result["JobName"]):
        if arn and job["meta"].get("job_arn") == arn:
            return str(job["job_id"])
        stored = job.get("result") or {}
        if arn and stored.get("JobArn") == arn and stored.get("CreationTime") == result.get("CreationTime"):
            return str(job["job_id"])
    return None


def fetch_sagemaker_result(job_name: str, *, store: Store | None = None, backend: Any = None) -> dict[str, Any]:
    """DescribeInferenceRecommendationsJob through the SageMaker backend (``results``)."""
    from irkit.backends import JobHandle, get_backend

    if backend is None:
        backend = get_backend("sagemaker", store=store) if store is not None else get_backend("sagemaker")
    result = backend.results(JobHandle("sagemaker", job_name, job_name))
    if not isinstance(result, dict):
        raise BackendError(f"SageMaker job {job_name}: the backend returned no result")
    return result


def trend(
    store: Store | str | None = None, *, name: str | None = None, backend: str | None = None
) -> pd.DataFrame:
    """The ``to_frame`` rows of every finished job, oldest first (for ``charts.history_trend``).

    ``job_id`` is the store's id, so several runs of one job name stay apart; ``created`` is the
    result's CreationTime, else the time the job was recorded.
    """
    import pandas as pd

    frames = []
    for job in reversed(_store(store).list_jobs(name=name, backend=backend)):
        if not job.get("result") or job["status"] != states.COMPLETED:
            continue
        frame = to_frame(job["result"])
        frame[JOB_ID] = job["job_id"]
        frame[CREATED] = frame[CREATED].fillna(_iso(job["created_at"]) or "")
        frames.append(frame)
    if not frames:
        return to_frame({"InferenceRecommendations": []})
    return pd.concat(frames, ignore_index=True)


EXAMPLE_RESULT = "example_result.json"  # irkit/data: a short local run, for a fresh history


def example_result() -> dict[str, Any]:
    """irkit's bundled example result (a short local job on two CPU sets, with its curves)."""
    import json
    from importlib.resources import files

    return dict(json.loads(files("irkit").joinpath("data", EXAMPLE_RESULT).read_text()))


def load_or_example(
    ref: str = "latest", store: Store | str | None = None, *, backend: str | None = None
) -> dict[str, Any]:
    """The result of ``ref`` (a job id, name or ``latest``, newest finished job of ``backend``).

    When ``ref`` is ``latest`` and the history has no finished job, it says so and returns the
    bundled example result, so notebook 06 still runs on a fresh machine. A named job that is
    not there is an error.
    """
    s = _store(store)
    if ref != "latest":
        return s.result(ref)
    for job in s.list_jobs(backend=backend):
        if job.get("result") and job["status"] == states.COMPLETED:
            return dict(job["result"])
    where = f" for backend {backend!r}" if backend else ""
    print(f"irkit: the job history in {s.path} has no finished job{where}; showing the bundled "
          "example result instead (run notebook 04 or 05 to see your own).")
    return example_result()


def previous_result(result: dict[str, Any], store: Store | str | None = None) -> dict[str, Any] | None:
    """The newest finished job before ``result``: of the same job name if there is one, else any."""
    s = _store(store)
    created = _epoch(result.get("CreationTime"))
    arn = result.get("JobArn")
    candidates = [j for j in s.list_jobs() if j.get("result") and j["status"] == states.COMPLETED
                  and j["result"].get("JobArn") != arn
                  and (created is None or j["created_at"] < created)]
    same = [j for j in candidates if j["job_name"] == result.get("JobName")]
    picks = same or candidates
    return dict(picks[0]["result"]) if picks else None
