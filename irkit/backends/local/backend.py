"""The local backend's job lifecycle: submit to a background process, poll, wait, stop, resume.

``LocalBackend.submit`` records the job in the store and starts
``python -m irkit.backends.local.backend JOB_ID --db STORE`` in its own session; that process runs
the job (job.JobRun) and exits when it ends. Every process it starts inherits
``IRKIT_LOCAL_JOB=<job id>@<store path>``, so ``reap_job_processes`` finds and ends what a killed job
left behind. ``status``/``wait``/``results`` only read the store, as SageMaker's Describe is polled.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from irkit import states
from irkit.backends import JobHandle, JobStatus
from irkit.backends.lifecycle import DONE, job_dir, pid_alive
from irkit.backends.local.inputs import check_model, check_payload
from irkit.backends.local.job import JobRun, build_job_result, planned_configs
from irkit.errors import BackendError, JobFailedError, SpecError
from irkit.store import Store

BACKEND_NAME = "local"
JOB_MARKER_ENV = "IRKIT_LOCAL_JOB"
DEFAULT_POLL_S = 1.0
STOP_GRACE_S = 30.0  # how long stop() waits for the job to reap its servers before killing them
# Plug-ins for the job process, as ``module:attribute``: another ServerProcess-like factory or run_load.
SERVER_FACTORY_ENV = "IRKIT_LOCAL_SERVER_FACTORY"
LOAD_FN_ENV = "IRKIT_LOCAL_LOAD_FN"
_PROCESSES: dict[str, subprocess.Popen[bytes]] = {}  # job processes this Python process started


def job_marker(store: Store, job_id: str) -> str:
    return f"{job_id}@{store.path}"


def runner_alive(job: dict[str, Any]) -> bool:
    """True while a job's runner process (``job["pid"]``) runs; a pid reused by another process
    (one without this job's ``IRKIT_LOCAL_JOB`` marker) counts as gone."""
    if not pid_alive(job.get("pid")):
        return False
    import psutil

    try:
        marker = psutil.Process(job["pid"]).environ().get(JOB_MARKER_ENV)
    except psutil.AccessDenied:
        return True  # cannot tell: assume it is ours
    except psutil.Error:
        return False
    return marker is not None and marker.partition("@")[0] == job["job_id"]


def refresh_jobs(store: Store) -> list[str]:
    """Mark every local job of ``store`` whose runner died FAILED (or STOPPED), as ``status`` does;
    returns their ids. ``irkit jobs list`` and ``jobs show`` call it, so a dead job never reads
    IN_PROGRESS there."""
    backend = LocalBackend(store)
    changed = []
    for job in store.list_jobs(backend=BACKEND_NAME):
        if not states.is_terminal(job["status"]) and job["pid"] and not runner_alive(job):
            if states.is_terminal(backend.refresh(job["job_id"])["status"]):
                changed.append(job["job_id"])
    return changed


def endpoint_base_url(url: str) -> str:
    """A server's base URL from what people paste: ``http://h:p``, ``http://h:p/`` or ``http://h:p/invocations``."""
    base = url.strip().rstrip("/")
    if base.endswith("/invocations"):
        base = base[: -len("/invocations")].rstrip("/")
    return base


def job_processes(marker: str, exclude: int | None = None) -> list[Any]:
    """Live processes that carry ``IRKIT_LOCAL_JOB=marker``: the job process and all it started."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid in (exclude, os.getpid()):
            continue
        try:
            if proc.environ().get(JOB_MARKER_ENV) == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def reap_job_processes(marker: str, exclude: int | None = None, timeout: float = 5.0) -> int:
    """Terminate, then kill, every process of a job; returns how many there were."""
    import psutil

    procs = job_processes(marker, exclude)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    return len(procs)


class LocalBackend:
    """Right-size jobs on this machine: ``local.cpuN`` servers and Locust load, results in the store."""

    name = BACKEND_NAME

    def __init__(self, store: Store | str | os.PathLike[str] | None = None) -> None:
        self.store = store if isinstance(store, Store) else Store(store)

    # ---- submit / resume --------------------------------------------------------------------
    def submit(self, spec: Any, *, model: str | os.PathLike[str] | None = None,
               payload: str | os.PathLike[str] | None = None, endpoint_url: str | None = None,
               workers: int = 0, seed: int = 0, **unused: Any) -> JobHandle:
        """Record the job and start it in a background process; returns at once.

        ``seed`` seeds the multi-model target sampler (``target_models``), so a run can be repeated.

        ``model``: model.tar.gz or SavedModel folder (not needed with ``endpoint_url``).
        ``payload``: payload.tar.gz or one payload file; defaults to the spec's ``sample_payload_url``
        (a local path or file:// URL).
        """
        from irkit.spec import load_spec

        if unused:
            raise SpecError(sorted(unused)[0], f"is not an option of the local backend's submit ({sorted(unused)})")
        spec = load_spec(spec)
        if not endpoint_url:
            spec.validate(target="local")
        if spec.job_name is None:
            spec = spec.with_job_name()
        payload = payload or spec.sample_payload_url
        if not payload:
            raise SpecError("sample_payload_url", "the local backend needs a sample payload (or pass payload=)")
        if not endpoint_url:
            if model is None:
                raise SpecError("model", "the local backend needs the model (model.tar.gz or SavedModel folder): "
                                         "pass model= / --model")
            if not Path(model).exists():
                raise SpecError("model", f"{str(model)!r} does not exist")
            if not os.environ.get(SERVER_FACTORY_ENV):  # a plugged-in server reads the model its own way
                check_model(model)
            if spec.target_models is not None:
                from irkit.backends.local.runner import check_target_folder

                check_target_folder(spec.target_models, model)
        from irkit.package.payload import local_path

        check_payload(local_path(os.fspath(payload)), tuple(spec.supported_content_types or ()),
                      own_server=not endpoint_url)
        meta = {
            "model_path": str(Path(model).resolve()) if model else None,
            "payload_path": str(local_path(os.fspath(payload)).resolve()),
            "endpoint_url": endpoint_base_url(endpoint_url) if endpoint_url else None,
            "endpoint_name": spec.endpoints[0] if endpoint_url and spec.endpoints else None,
            "workers": int(workers),
            "seed": int(seed),
            "load_mode": "open" if spec.open_loop is not None else "closed",
        }
        job_id = self.store.create_job(spec.job_name, BACKEND_NAME, spec.to_dict(), meta=meta)
        for config_id, instance_type, env in planned_configs(spec, meta):
            self.store.upsert_config(job_id, config_id, instance_type, env, states.PENDING)
        return self._start(job_id, spec.job_name)

    def resume(self, ref: str) -> JobHandle:
        """Continue a killed, stopped or failed job from its finished configs."""
        job = self.store.get_job(ref)
        if job["backend"] != BACKEND_NAME:
            raise BackendError(f"job {job['job_id']!r} ran on {job['backend']}; only local jobs resume")
        if runner_alive(job) and not states.is_terminal(job["status"]):
            raise BackendError(f"job {job['job_id']!r} is still running (pid {job['pid']})")
        if job["status"] == states.COMPLETED and all(c["status"] in DONE for c in self.store.configs(job["job_id"])):
            return JobHandle(BACKEND_NAME, job["job_name"], job["job_id"])
        reap_job_processes(job_marker(self.store, job["job_id"]))
        # pid 0 until _start records the new runner: refresh_jobs must not take the old dead pid
        # of a PENDING job for a runner that died
        self.store.set_status(job["job_id"], states.PENDING, pid=0)
        return self._start(job["job_id"], job["job_name"])

    def _start(self, job_id: str, job_name: str) -> JobHandle:
        log_path = job_dir(self.store, job_id) / "job.log"
        env = {**os.environ, JOB_MARKER_ENV: job_marker(self.store, job_id), "PYTHONUNBUFFERED": "1"}
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "irkit.backends.local.backend", job_id, "--db", str(self.store.path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        _PROCESSES[job_id] = proc
        self.store.set_pid(job_id, proc.pid)  # the status stays PENDING, or IN_PROGRESS if the runner was quick
        return JobHandle(BACKEND_NAME, job_name, job_id, {"pid": proc.pid, "log": str(log_path)})

    # ---- status / wait / results ------------------------------------------------------------
    def refresh(self, handle: JobHandle | str) -> dict[str, Any]:
        """The job's store row, after marking it FAILED (STOPPED if it was stopping) when its runner
        process died without finishing; what that runner left is reaped."""
        job = self.store.get_job(handle.job_id if isinstance(handle, JobHandle) else handle)
        proc = _PROCESSES.get(job["job_id"])
        if proc is not None:
            proc.poll()  # reap our own exited child so it does not linger as a zombie
        if not states.is_terminal(job["status"]) and job["pid"] and not runner_alive(job):
            job = self.store.get_job(job["job_id"])  # it may have just finished
            if not states.is_terminal(job["status"]):
                reap_job_processes(job_marker(self.store, job["job_id"]))
                JobRun(self.store, job["job_id"]).process_died(
                    f"the job process (pid {job['pid']}) ended without finishing; "
                    f"`irkit recommend --resume {job['job_id']}` continues it")
                job = self.store.get_job(job["job_id"])
        return job

    def status(self, handle: JobHandle | str) -> JobStatus:
        job = self.refresh(handle)
        configs = self.store.configs(job["job_id"])
        done = sum(1 for c in configs if states.is_terminal(c["status"]))
        running = [c["config_id"] for c in configs if c["status"] == states.IN_PROGRESS]
        steps = self.store.steps(job["job_id"])
        message = f"testing {', '.join(running)}" if running else job["status"].lower()
        current = [s for s in steps if s.get("config_id") in running]  # not the previous config's last step
        if current:
            last = current[-1]
            message += f" | step {last.get('step')}: {last.get('users')} users, {last.get('rps', 0):.1f} req/s, " \
                       f"p95 {last.get('p95_ms') or 0:.0f} ms"
        return JobStatus(job["status"], job["failure_reason"], done, len(configs), tuple(steps), message)

    def results(self, handle: JobHandle | str) -> dict[str, Any]:
        """The Describe-shaped result: final once the job ended, a live view before."""
        job = self.refresh(handle)
        if job["result"] is not None and states.is_terminal(job["status"]):
            return job["result"]
        return build_job_result(self.store, job["job_id"])

    def wait(self, handle: JobHandle | str, *, poll_s: float | None = None, progress: bool = True,
             timeout_s: float | None = None) -> dict[str, Any]:
        """Poll until the job ends, with progress (a bar on a terminal or in Jupyter, else one line per
        finished step and config: backends/local/progress.py); Ctrl-C stops the job (no orphans) and re-raises."""
        poll = DEFAULT_POLL_S if poll_s is None else poll_s
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        job_id = handle.job_id if isinstance(handle, JobHandle) else self.store.get_job(handle)["job_id"]
        bar = None
        try:
            while True:
                current = self.status(handle)
                if progress:
                    if bar is None:
                        from irkit.backends.local.progress import make_progress

                        bar = make_progress(current.total)
                    bar.update(current, self.store.configs(job_id))
                if states.is_terminal(current.status):
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise BackendError(f"job {self.refresh(handle)['job_id']!r} still {current.status} after {timeout_s} s")
                time.sleep(poll)
        except KeyboardInterrupt:
            self.stop(handle)
            raise
        finally:
            if bar is not None:
                bar.close()
        proc = _PROCESSES.pop(self.refresh(handle)["job_id"], None)
        if proc is not None:  # the job saved its result; let its process finish reaping and exit
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        result = self.results(handle)
        if result["Status"] == states.FAILED:
            raise JobFailedError(result["JobName"], result.get("FailureReason"))
        return result

    # ---- stop ---------------------------------------------------------------------------------
    def stop(self, handle: JobHandle | str, *, grace_s: float = STOP_GRACE_S) -> None:
        """STOPPING, then SIGTERM the job process; it stops its tests and ends STOPPED. Nothing is left."""
        job = self.refresh(handle)
        if states.is_terminal(job["status"]):
            return
        self.store.set_status(job["job_id"], states.STOPPING)
        pid = job["pid"]
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            end = time.monotonic() + grace_s
            while pid_alive(pid) and time.monotonic() < end:
                proc = _PROCESSES.get(job["job_id"])
                if proc is not None:
                    proc.poll()
                time.sleep(0.1)
        reap_job_processes(job_marker(self.store, job["job_id"]))
        proc = _PROCESSES.pop(job["job_id"], None)
        if proc is not None:
            proc.wait(timeout=5)
        job = self.store.get_job(job["job_id"])
        if not states.is_terminal(job["status"]):
            self.store.save_result(job["job_id"], build_job_result(
                self.store, job["job_id"], status=states.STOPPED, finished_at=time.time()))

    def validate_plan(self, answer: Any, trace: Any, *, job: JobHandle | str | None = None,
                      model: str | os.PathLike[str] | None = None, payload: str | os.PathLike[str] | None = None,
                      **kwargs: Any) -> Any:
        """Replay ``trace`` against ``answer``'s chosen plan (``irkit plan --validate``; docs/plan.md).

        ``answer`` is ``irkit.results.plan.plan_fleet``'s; ``job`` (a handle or ref in this store)
        supplies the model and payload the job served, unless ``model``/``payload`` are given.
        ``kwargs`` go to ``irkit.backends.local.validate.validate_plan`` (``time_scale``, ``full_scale``,
        ``endpoint_url``, ``workers``). Returns its ``Validation``.
        """
        from irkit.backends.local.validate import replay_inputs, validate_plan

        row = self.refresh(job) if job is not None else None
        if row is not None and (model is None or payload is None):
            known_model, known_payload = replay_inputs(row.get("result") or {}, row)
            model, payload = model or known_model, payload or known_payload
        prices = ((row or {}).get("spec") or {}).get("instance_prices")
        return validate_plan(answer, trace, model=model, payload=payload, prices=prices, **kwargs)


def _plugin(env_name: str) -> Any:
    """A ``module:attribute`` named by ``env_name`` (a test double or another server), or None."""
    ref = os.environ.get(env_name)
    if not ref:
        return None
    import importlib

    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _main(argv: list[str] | None = None) -> int:
    """The background job process: run one job, stop cleanly on SIGTERM/SIGINT, reap what it started."""
    parser = argparse.ArgumentParser(prog="python -m irkit.backends.local.backend")
    parser.add_argument("job_id")
    parser.add_argument("--db", required=True, help="the job store's SQLite file")
    args = parser.parse_args(argv)
    store = Store(args.db)
    os.environ.setdefault(JOB_MARKER_ENV, job_marker(store, args.job_id))
    run = JobRun(store, args.job_id, server_factory=_plugin(SERVER_FACTORY_ENV), load_fn=_plugin(LOAD_FN_ENV))

    def on_signal(signum: int, _frame: Any) -> None:
        print(f"signal {signum}: stopping", flush=True)
        run.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        result = run.run()
        print(f"job {args.job_id} ended {result['Status']}", flush=True)
    except BaseException as exc:
        store.set_status(args.job_id, states.FAILED, f"job process error: {exc!r}")
        raise
    finally:
        reap_job_processes(job_marker(store, args.job_id), exclude=os.getpid())
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through submit()
    sys.exit(_main())
