"""``SageMakerBackend``: submit, status, wait, stop and results for Inference Recommender jobs.

backend = SageMakerBackend()                      # default boto3 clients, standard retries
backend = SageMakerBackend(clients=AwsClients(sagemaker=sm, s3=s3), store=Store(path))
handle = backend.submit(spec, model_package_version_arn=arn, role_arn=role)
result = backend.wait(handle)                     # tqdm progress; Ctrl-C asks whether to stop
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from irkit import states
from irkit.backends import JobHandle, JobStatus
from irkit.backends.sagemaker.clients import (
    DEFAULT_REGION,
    AwsClients,
    default_clients,
    error_message,
    is_throttling,
)
from irkit.backends.sagemaker.deploy import (
    deploy_recommendation,
    find_recommendation,
    scaling_recommendation,
)
from irkit.backends.sagemaker.model_setup import (
    ModelSetup,
    ModelSetupPlan,
    plan_model_setup,
    prepare_model,
)
from irkit.backends.sagemaker.request_check import validate_request
from irkit.backends.sagemaker.results import json_safe
from irkit.errors import BackendError, JobFailedError
from irkit.spec import JobSpec, load_spec
from irkit.store import JobNotFoundError, Store

DEFAULT_POLL_S = 30.0
MAX_THROTTLE_BACKOFF_S = 120.0
FINISHED_STEP_STATES = frozenset({states.COMPLETED, states.FAILED, states.STOPPED})


class SageMakerBackend:
    """Inference Recommender on SageMaker.

    Args:
        clients: an ``AwsClients`` (sagemaker, s3, pricing clients); built from the default boto3
            session with standard retries on first use when omitted.
        region: region for the default clients.
        store: the job store jobs are recorded in (default: ``Store()`` under IRKIT_HOME).
        poll_s: seconds between polls in ``wait``.
        ask: ``ask(question) -> answer`` used when Ctrl-C interrupts a wait (default: ``input``);
            when it cannot ask (no terminal, papermill), the job is stopped.
        sleep: the sleep function (tests pass a fake one).
    """

    name = "sagemaker"

    def __init__(
        self,
        clients: AwsClients | None = None,
        *,
        region: str | None = None,
        store: Store | None = None,
        poll_s: float = DEFAULT_POLL_S,
        ask: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clients = clients
        self._region = region
        self._store = store
        self.poll_s = poll_s
        self._ask = ask
        self._sleep = sleep

    @property
    def clients(self) -> AwsClients:
        if self._clients is None:
            self._clients = default_clients(self._region)
        return self._clients

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store()
        return self._store

    # ---- submit ----------------------------------------------------------------------------
    def render(
        self,
        spec: JobSpec | dict[str, Any] | str,
        *,
        model_package_version_arn: str | None = None,
        model_name: str | None = None,
        role_arn: str,
    ) -> dict[str, Any]:
        """The CreateInferenceRecommendationsJob request, checked against the service model."""
        spec = load_spec(spec).with_job_name()
        request = spec.to_request(
            model_name=model_name,
            model_package_version_arn=model_package_version_arn,
            role_arn=role_arn,
        )
        return validate_request(request)

    def submit(
        self,
        spec: JobSpec | dict[str, Any] | str,
        *,
        model_package_version_arn: str | None = None,
        model_name: str | None = None,
        role_arn: str,
        preflight: Callable[[JobSpec], Any] | None = None,
    ) -> JobHandle:
        """Validate, run ``preflight(spec)`` if given, create the job, and record it in the store."""
        spec = load_spec(spec).with_job_name()
        request = self.render(
            spec,
            model_package_version_arn=model_package_version_arn,
            model_name=model_name,
            role_arn=role_arn,
        )
        if preflight is not None:
            preflight(spec)
        try:
            response = self.clients.sagemaker.create_inference_recommendations_job(**request)
        except Exception as exc:
            raise BackendError(
                f"CreateInferenceRecommendationsJob {spec.job_name} failed: {error_message(exc)}"
            ) from exc
        job_arn = response.get("JobArn", "")
        job_name = request["JobName"]
        job_id = self.store.create_job(
            job_name,
            self.name,
            spec.to_dict(),
            status=states.PENDING,
            meta={"job_arn": job_arn, "region": self.clients.region, "request": request},
        )
        return JobHandle(self.name, job_name, job_id, extra={"job_arn": job_arn})

    # ---- observe ---------------------------------------------------------------------------
    def describe(self, handle: JobHandle) -> dict[str, Any]:
        try:
            return self.clients.sagemaker.describe_inference_recommendations_job(
                JobName=handle.job_name
            )
        except Exception as exc:
            if is_throttling(exc):
                raise
            raise BackendError(
                f"DescribeInferenceRecommendationsJob {handle.job_name} failed: "
                f"{error_message(exc)}"
            ) from exc

    def steps(self, handle: JobHandle) -> list[dict[str, Any]]:
        """Every ListInferenceRecommendationsJobSteps entry, following NextToken."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"JobName": handle.job_name}
        while True:
            page = self.clients.sagemaker.list_inference_recommendations_job_steps(**kwargs)
            out.extend(page.get("Steps", []))
            token = page.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token

    def status(self, handle: JobHandle) -> JobStatus:
        described = self.describe(handle)
        steps = [json_safe(s) for s in self.steps(handle)]
        done = sum(1 for s in steps if s.get("Status") in FINISHED_STEP_STATES)
        status = described.get("Status", states.PENDING)
        self._record_status(handle, status, described.get("FailureReason"))
        return JobStatus(
            status=status,
            failure_reason=described.get("FailureReason"),
            done=done,
            total=len(steps),
            steps=tuple(steps),
            message=f"{handle.job_name}: {status}",
        )

    def wait(
        self, handle: JobHandle, *, poll_s: float | None = None, progress: bool = True
    ) -> dict[str, Any]:
        """Poll until the job ends; return its result. FAILED raises JobFailedError with FailureReason.

        Throttling never fails a wait: the poll backs off and tries again. Ctrl-C asks whether to
        stop the job (stops it when no one can answer) and then re-raises KeyboardInterrupt.
        """
        interval = self.poll_s if poll_s is None else poll_s
        bar = _progress_bar(handle.job_name) if progress else None
        backoff = interval
        try:
            while True:
                try:
                    current = self.status(handle)
                except Exception as exc:
                    if not is_throttling(exc):
                        raise
                    backoff = min(max(backoff * 2, 1.0), MAX_THROTTLE_BACKOFF_S)
                    self._sleep(backoff)
                    continue
                backoff = interval
                if bar is not None:
                    bar.total = max(current.total, 1)
                    bar.n = current.done
                    bar.set_postfix_str(current.status)
                    bar.refresh()
                if states.is_terminal(current.status):
                    break
                self._sleep(interval)
        except KeyboardInterrupt:
            self._on_interrupt(handle)
            raise
        finally:
            if bar is not None:
                bar.close()
        result = self.results(handle)
        if result.get("Status") == states.FAILED:
            raise JobFailedError(handle.job_name, result.get("FailureReason"))
        return result

    def results(self, handle: JobHandle) -> dict[str, Any]:
        """The Describe response as is (datetimes as ISO strings), saved in the store when final."""
        result = json_safe(self._retry_throttled(lambda: self.describe(handle)))
        result.pop("ResponseMetadata", None)
        if states.is_terminal(result.get("Status", "")):
            try:
                self.store.save_result(handle.job_id, result)
            except JobNotFoundError:
                pass
        return result

    def stop(self, handle: JobHandle) -> None:
        try:
            self.clients.sagemaker.stop_inference_recommendations_job(JobName=handle.job_name)
        except Exception as exc:
            raise BackendError(
                f"StopInferenceRecommendationsJob {handle.job_name} failed: {error_message(exc)}"
            ) from exc
        self._record_status(handle, states.STOPPING, None)

    # ---- model setup (notebook 03) --------------------------------------------------------
    def upload_file(self, path: Any, bucket: str, key: str | None = None) -> str:
        """Upload a local file to s3://bucket/key and return its URI (run folders use it too)."""
        from irkit.backends.sagemaker.registry import upload_file

        return upload_file(self.clients, path, bucket, key)

    def plan_model_setup(
        self, spec: JobSpec | dict[str, Any] | str, **kwargs: Any
    ) -> ModelSetupPlan:
        """The uploads and registry requests, computed offline (see model_setup.plan_model_setup)."""
        kwargs.setdefault(
            "region", self._clients.region if self._clients else (self._region or DEFAULT_REGION)
        )
        return plan_model_setup(spec, **kwargs)

    def prepare_model(self, plan: ModelSetupPlan) -> ModelSetup:
        """Upload, CreateModel, and register a model package version."""
        return prepare_model(self.clients, plan)

    # ---- deploy ----------------------------------------------------------------------------
    def deploy(
        self,
        recommendation_id: str,
        *,
        job: JobHandle | str | None = None,
        endpoint_name: str | None = None,
        role_arn: str | None = None,
    ) -> dict[str, str]:
        """Create the Model (with the recommendation's env), EndpointConfig and Endpoint.

        ``job`` is a handle or job name/id in the store; by default every stored SageMaker result
        is searched for ``recommendation_id``. Returns the names created.
        """
        result = self._result_holding(recommendation_id, job)
        return deploy_recommendation(
            self.clients, result, recommendation_id, endpoint_name=endpoint_name, role_arn=role_arn
        )

    def get_scaling_recommendation(
        self,
        job: JobHandle | str,
        *,
        recommendation_id: str | None = None,
        endpoint_name: str | None = None,
        target_cpu_utilization_per_core: int | None = None,
        min_invocations_per_minute: int | None = None,
        max_invocations_per_minute: int | None = None,
    ) -> dict[str, Any]:
        """GetScalingConfigurationRecommendation for a finished job (JSON-safe response)."""
        job_name = job.job_name if isinstance(job, JobHandle) else job
        return json_safe(
            scaling_recommendation(
                self.clients,
                job_name,
                recommendation_id=recommendation_id,
                endpoint_name=endpoint_name,
                target_cpu_utilization_per_core=target_cpu_utilization_per_core,
                min_invocations_per_minute=min_invocations_per_minute,
                max_invocations_per_minute=max_invocations_per_minute,
            )
        )

    # ---- helpers ---------------------------------------------------------------------------
    def _result_holding(
        self, recommendation_id: str, job: JobHandle | str | None
    ) -> dict[str, Any]:
        if isinstance(job, JobHandle):
            return self.results(job)
        if isinstance(job, str):
            return self.store.result(job)
        for row in self.store.list_jobs(backend=self.name):
            result = row.get("result")
            if result and find_recommendation(result, recommendation_id, missing_ok=True):
                return result
        raise BackendError(
            f"recommendation {recommendation_id!r} is in no stored SageMaker job result; "
            "pass job= to deploy"
        )

    def _retry_throttled(self, call: Callable[[], Any]) -> Any:
        delay = max(self.poll_s, 1.0)
        while True:
            try:
                return call()
            except Exception as exc:
                if not is_throttling(exc):
                    raise
                self._sleep(delay)
                delay = min(delay * 2, MAX_THROTTLE_BACKOFF_S)

    def _record_status(self, handle: JobHandle, status: str, failure_reason: str | None) -> None:
        status = status if status in states.ALL else states.STOPPED
        try:
            self.store.set_status(handle.job_id, status, failure_reason)
        except JobNotFoundError:
            pass

    def _on_interrupt(self, handle: JobHandle) -> None:
        question = f"\nStop SageMaker job {handle.job_name}? It keeps running (and billing) otherwise. [y/N] "
        ask = self._ask or (input if _can_prompt() else None)
        answer = "y"
        if ask is not None:
            try:
                answer = ask(question)
            except (EOFError, OSError, RuntimeError, KeyboardInterrupt, NotImplementedError) as exc:
                answer = "y" if not isinstance(exc, KeyboardInterrupt) else "n"
            except Exception:  # e.g. ipykernel's StdinNotImplementedError under papermill
                answer = "y"
        if answer.strip().lower() in ("y", "yes"):
            self.stop(handle)
            print(f"irkit: stopping SageMaker job {handle.job_name}", file=sys.stderr)
        else:
            print(
                f"irkit: job {handle.job_name} keeps running; irkit.jobs.wait(handle) resumes waiting",
                file=sys.stderr,
            )


def _can_prompt() -> bool:
    """A terminal, or a Jupyter kernel whose front end accepts input (papermill's does not)."""
    if "ipykernel" in sys.modules:
        try:
            from IPython import get_ipython

            kernel = getattr(get_ipython(), "kernel", None)
            return bool(getattr(kernel, "_allow_stdin", False))
        except Exception:
            return False
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:
        return False


def _progress_bar(job_name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=1, desc=job_name, unit="step", leave=True)
