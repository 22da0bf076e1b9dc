"""Headless runs: notebooks executed with papermill into a run folder, chained, gated on a baseline.

``run_notebooks(notebooks, out, parameters)`` is what ``irkit run`` calls:

1. makes ``<out>/<UTC timestamp>-<name>/`` (see :mod:`irkit.headless.folder`) and writes ``run.json``;
2. executes each notebook in order (:mod:`irkit.headless.execute`), injecting only the parameters the
   notebook declares in its ``parameters`` cell, and passes values along the walk:
   ``workdir`` (default ``<run folder>/work``) to every notebook that declares it, so 03-05 find
   the packages 02 built; ``job`` (the main job, i.e. the first, that the last earlier notebook with a job started) to 06;
3. finds the jobs each notebook started in the job store, tags them with the run
   (``meta.headless_run``), and writes their results and HTML reports into the run folder;
4. with a baseline, compares the run's last job with it (:func:`irkit.results.compare.regressions`) and
   raises :class:`~irkit.errors.RegressionError` (exit code 3) beyond ``fail_on_regression_pct``.

A failing cell raises :class:`~irkit.headless.execute.NotebookFailedError` (exit code 1) after the
manifest, the partial notebook and the finished jobs' results are written; local jobs the failed
notebook left running are stopped (their finished steps stay in the store).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irkit import states
from irkit.errors import EXIT_OK, IrkitError, RegressionError, SpecError
from irkit.headless.execute import DEFAULT_KERNEL, NotebookFailedError, execute
from irkit.headless.folder import (
    FAILED,
    INTERRUPTED,
    REGRESSED,
    RESULT_NAME,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    WORK_DIR,
    RunFolder,
    utc_iso,
)
from irkit.headless.params import RunParameters, declared_parameters
from irkit.headless.scrub import Scrubber
from irkit.store import Store

WALK_PATTERN = "0[1-6]_*.ipynb"  # the main walk 01_local_inference ... 06_results; 07 and app run on their own
ENV_NOTEBOOKS_DIR = "IRKIT_NOTEBOOKS"
CHAINED_WORKDIR = "workdir"
CHAINED_JOB = "job"
REPORT_NAME = "report.html"
EXIT_INTERRUPTED = 130  # as a shell reports SIGINT


@dataclass
class HeadlessRun:
    """A finished run: its folder, its manifest (what ``run.json`` holds) and its exit code."""

    folder: Path
    manifest: dict[str, Any]
    exit_code: int = EXIT_OK

    @property
    def job_ids(self) -> list[str]:
        return [job["job_id"] for job in self.manifest["jobs"]]


def default_notebooks_dir() -> Path:
    """``$IRKIT_NOTEBOOKS``, else ``./notebooks``, else the source checkout's ``notebooks/``."""
    env = os.environ.get(ENV_NOTEBOOKS_DIR)
    if env:
        return Path(env)
    here = Path("notebooks")
    if here.is_dir() and any(here.glob(WALK_PATTERN)):
        return here
    return Path(__file__).resolve().parents[2] / "notebooks"


def walk_notebooks(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """The numbered notebooks of the walk (01 -> 06), in order."""
    folder = Path(directory) if directory is not None else default_notebooks_dir()
    found = sorted(folder.glob(WALK_PATTERN))
    if not found:
        raise SpecError("--all", f"no numbered notebooks ({WALK_PATTERN}) in {folder}; pass --notebooks-dir")
    return found


def resolve_baseline(store: Store, ref: str) -> dict[str, Any] | None:
    """The baseline job: ``latest`` is the newest COMPLETED job with a result (None when there is none)."""
    if ref == "latest":
        done = [j for j in store.list_jobs() if j["status"] == states.COMPLETED and j["result"]]
        return done[0] if done else None
    job = store.get_job(ref)
    if not job["result"]:
        raise IrkitError(f"--baseline {ref}: job {job['job_id']} has no result (status {job['status']})")
    return job


def _load(path: Path) -> Any:
    import nbformat

    if not path.is_file():
        raise SpecError("NOTEBOOK", f"{path} does not exist")
    return nbformat.read(path, as_version=4)


def _plan(paths: Sequence[Path], params: RunParameters) -> list[tuple[Path, Any, dict[str, Any] | None]]:
    """Load the notebooks and check that every common parameter is declared by one of them."""
    notebooks = [(p, _load(p)) for p in paths]
    plan = [(p, nb, declared_parameters(nb)) for p, nb in notebooks]
    declaring = [d for _, _, d in plan if d is not None]
    if declaring:
        known: set[str] = set().union(*declaring)
        for name in params.common:
            if name not in known:
                raise SpecError(f"-p {name}", "is not a parameter of any notebook in this run "
                                f"(they declare: {', '.join(sorted(known))})")
    return plan


def _inject(stem: str, declared: dict[str, Any] | None, params: RunParameters,
            chained: dict[str, Any]) -> dict[str, Any]:
    own = params.by_notebook.get(stem, {})
    if declared is None:  # no parameters cell: papermill injects at the top
        return {**params.common, **own}
    values = {k: v for k, v in chained.items() if k in declared}
    values.update({k: v for k, v in params.common.items() if k in declared})
    values.update(own)
    return values


def run_notebooks(
    notebooks: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    parameters: RunParameters | Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    kernel: str = DEFAULT_KERNEL,
    timeout_s: float | None = None,
    baseline: str | None = None,
    fail_on_regression_pct: float | None = None,
    store: Store | None = None,
    cwd: str | os.PathLike[str] | None = None,
    progress: bool = False,
    uploader: Any = None,
    environ: Mapping[str, str] | None = None,
) -> HeadlessRun:
    """Execute ``notebooks`` in order into a new run folder under ``out``; see the module docstring.

    ``parameters``: a :class:`RunParameters` or a plain mapping for every notebook. With
    ``fail_on_regression_pct`` and no ``baseline``, the baseline is ``latest``.
    """
    params = parameters if isinstance(parameters, RunParameters) else RunParameters(dict(parameters or {}))
    paths = [Path(p) for p in notebooks]
    if not paths:
        raise SpecError("NOTEBOOK", "give at least one notebook, or --all")
    if fail_on_regression_pct is not None and fail_on_regression_pct < 0:
        raise SpecError("--fail-on-regression", f"must be a percentage >= 0, got {fail_on_regression_pct}")
    store = store or Store()
    plan = _plan(paths, params)
    if fail_on_regression_pct is not None and baseline is None:
        baseline = "latest"
    baseline_job = resolve_baseline(store, baseline) if baseline else None

    scrubber = Scrubber.for_run(params.everything(), environ)
    run_name = name or (paths[0].stem if len(paths) == 1 else f"{paths[0].stem[:2]}-to-{paths[-1].stem}")
    folder = RunFolder(out, run_name, scrubber)
    started = time.monotonic()
    manifest: dict[str, Any] = {
        "run_id": folder.run_id, "status": RUNNING, "folder": str(folder.path), "out": str(out),
        "uploaded_to": folder.remote_uri, "started_at": utc_iso(), "finished_at": None,
        "duration_s": None, "kernel": kernel, "timeout_s": timeout_s, "pid": os.getpid(),
        "parameters": params.everything(), "notebooks": [], "jobs": [], "warnings": [],
        "baseline": None if not baseline else {
            "ref": baseline, "job_id": baseline_job["job_id"] if baseline_job else None,
            "fail_on_regression_pct": fail_on_regression_pct,
        },
        "exit_code": None,
    }
    folder.write_manifest(manifest)
    chained: dict[str, Any] = {CHAINED_WORKDIR: str(folder.path / WORK_DIR)}
    run = HeadlessRun(folder.path, manifest)
    error: BaseException | None = None
    try:
        for path, nb, declared in plan:
            job_id = _run_one(path, nb, declared, params, chained, folder, manifest, store, kernel,
                              timeout_s, cwd, progress)
            if job_id:
                chained[CHAINED_JOB] = job_id
        _finish_jobs(folder, manifest, store, headline=chained.get(CHAINED_JOB))
        if baseline:
            _check_baseline(folder, manifest, store, baseline_job, fail_on_regression_pct)
        manifest["status"] = SUCCEEDED
    except NotebookFailedError as exc:
        manifest["status"] = TIMED_OUT if exc.timed_out else FAILED
        error = exc
    except RegressionError as exc:
        manifest["status"] = REGRESSED
        error = exc
    except IrkitError as exc:
        manifest["status"] = FAILED
        manifest["error"] = str(exc)
        error = exc
    except BaseException as exc:  # KeyboardInterrupt, SIGTERM turned into one by the CLI
        manifest["status"] = INTERRUPTED
        manifest["error"] = f"{type(exc).__name__}: {exc}"
        error = exc
    finally:
        if manifest["status"] not in (SUCCEEDED, REGRESSED):
            _stop_leftover_jobs(manifest, store)
            try:  # the jobs that did finish still get their result and report
                _finish_jobs(folder, manifest, store, headline=chained.get(CHAINED_JOB))
            except Exception as exc:
                manifest["warnings"].append(f"could not save job results: {type(exc).__name__}: {exc}")
        manifest["finished_at"] = utc_iso()
        manifest["duration_s"] = round(time.monotonic() - started, 3)
        manifest["exit_code"] = getattr(error, "exit_code", EXIT_INTERRUPTED if error else EXIT_OK)
        run.exit_code = manifest["exit_code"]
        folder.write_manifest(manifest)
        if folder.is_s3:
            try:
                manifest["uploaded_to"] = folder.upload(uploader)
            except Exception as exc:  # never hide the run's own error behind an upload error
                print(f"irkit: warning: upload of {folder.path} failed: {exc}", file=sys.stderr)
                error = error or exc
    if error is not None:
        raise error
    return run


def _run_one(path: Path, nb: Any, declared: dict[str, Any] | None, params: RunParameters,
             chained: dict[str, Any], folder: RunFolder, manifest: dict[str, Any], store: Store,
             kernel: str, timeout_s: float | None, cwd: Any, progress: bool) -> str | None:
    """Execute one notebook, record it and its jobs; return the id of its main job.

    A notebook's main job is the first one it starts; later ones are side studies (05's runtime
    axis), so 06 and the run's headline result follow the main job, not the newest.
    """
    stem = path.stem
    injected = _inject(stem, declared, params, chained)
    if CHAINED_WORKDIR in injected:
        Path(injected[CHAINED_WORKDIR]).mkdir(parents=True, exist_ok=True)
    output = folder.path / path.name
    entry: dict[str, Any] = {
        "name": stem, "input": str(path.resolve()), "output": path.name, "parameters": injected,
        "status": RUNNING, "started_at": utc_iso(), "finished_at": None, "duration_s": None,
        "jobs": [], "error": None,
    }
    manifest["notebooks"].append(entry)
    folder.write_manifest(manifest)
    before = {j["job_id"] for j in store.list_jobs()}
    started = time.monotonic()
    try:
        execute(nb, output, injected, name=path.name, scrubber=folder.scrubber, kernel=kernel,
                timeout_s=timeout_s, cwd=cwd, progress=progress)
        entry["status"] = SUCCEEDED
    except NotebookFailedError as exc:
        entry["status"] = TIMED_OUT if exc.timed_out else FAILED
        entry["error"] = exc.to_dict()
        raise
    except BaseException:
        entry["status"] = INTERRUPTED
        raise
    finally:
        entry["finished_at"] = utc_iso()
        entry["duration_s"] = round(time.monotonic() - started, 3)
        new = sorted((j for j in store.list_jobs() if j["job_id"] not in before), key=lambda j: j["created_at"])
        for job in new:
            entry["jobs"].append(job["job_id"])
            manifest["jobs"].append({"job_id": job["job_id"], "job_name": job["job_name"],
                                     "backend": job["backend"], "status": job["status"], "notebook": stem})
            store.update_meta(job["job_id"], headless_run=folder.run_id, run_folder=str(folder.path),
                              notebook=stem)
        folder.write_manifest(manifest)
    return new[0]["job_id"] if new else None


def _finish_jobs(folder: RunFolder, manifest: dict[str, Any], store: Store, headline: str | None = None) -> None:
    """Refresh each job's status; write its result and report; the headline job (the main job of
    the last notebook that started one; else the last job with a result) also at the top.

    Paths in the manifest are relative to the run folder, so an uploaded copy stays consistent.
    """
    last: dict[str, Any] | None = None
    for record in manifest["jobs"]:
        job = store.get_job(record["job_id"])
        record["status"] = job["status"]
        if not job["result"]:
            continue
        job_dir = folder.job_dir(job["job_id"]).relative_to(folder.path)
        record["result"] = folder.write_json(job_dir / RESULT_NAME, job["result"]).relative_to(folder.path).as_posix()
        record["report"] = _write_report(folder, job["result"], job_dir, store, manifest)
        if last is None or last["job_id"] != headline:
            last = record
    if last is not None:
        manifest["job_id"] = last["job_id"]
        manifest["result"] = RESULT_NAME
        shutil.copyfile(folder.path / last["result"], folder.path / RESULT_NAME)
        if last["report"]:
            shutil.copyfile(folder.path / last["report"], folder.path / REPORT_NAME)
            manifest["report"] = REPORT_NAME
    folder.write_manifest(manifest)


def _write_report(folder: RunFolder, result: dict[str, Any], where: Path, store: Store,
                  manifest: dict[str, Any]) -> str | None:
    try:
        from irkit.results.report import write_report

        path = Path(write_report(result, folder.path / where, png=False, store=store))
    except Exception as exc:  # a report is a convenience: never fail the run over it
        manifest["warnings"].append(f"no report for {result.get('JobName')}: {type(exc).__name__}: {exc}")
        return None
    folder.scrub_file(path)
    return path.relative_to(folder.path).as_posix()


def _check_baseline(folder: RunFolder, manifest: dict[str, Any], store: Store,
                    baseline_job: dict[str, Any] | None, pct: float | None) -> None:
    from irkit.results.compare import compare, regressions

    check = manifest["baseline"]
    if baseline_job is None:
        check["status"] = "no-baseline"
        manifest["warnings"].append(f"--baseline {check['ref']}: no completed job in {store.path} yet; nothing compared")
        return
    current_id = manifest.get("job_id")
    if current_id is None:
        raise IrkitError("--baseline: the run finished no job with a result to compare with the baseline")
    current = store.get_job(current_id)["result"]
    table = compare(baseline_job["result"], current)
    folder.write_text("compare.csv", table.to_csv(index=False))
    check["current_job_id"] = current_id
    check["compare"] = "compare.csv"
    if pct is None:
        check["status"] = "compared"
        return
    found = regressions(baseline_job["result"], current, pct)
    check["regressions"] = [{"config": r.config, "metric": r.metric, "delta_pct": r.delta_pct,
                             "message": r.message} for r in found]
    check["status"] = "regressed" if found else "passed"
    if found:
        lines = "\n".join(f"  {r.message}" for r in found)
        raise RegressionError(f"{len(found)} regression(s) beyond {pct:g}% against baseline "
                              f"{baseline_job['job_id']} (job {current_id}); run folder {folder.path}:\n{lines}")


def _stop_leftover_jobs(manifest: dict[str, Any], store: Store) -> None:
    """Stop local jobs a failed or interrupted notebook left running (finished steps stay)."""
    for record in manifest["jobs"]:
        try:
            job = store.get_job(record["job_id"])
            if states.is_terminal(job["status"]):
                continue
            if job["backend"] == "local":
                from irkit.backends import get_backend

                get_backend("local", store=store).stop(job["job_id"])
                record["status"] = store.get_job(job["job_id"])["status"]
            else:
                manifest["warnings"].append(f"job {job['job_id']} ({job['backend']}) is still {job['status']}")
        except Exception as exc:
            manifest["warnings"].append(f"could not stop job {record['job_id']}: {type(exc).__name__}: {exc}")
