"""SageMakerBackend's job calls against Stubber: submit, paginated status, FAILED, throttling, interrupt."""

from __future__ import annotations

import pytest
from ir_examples import ADVANCED_REQUEST, ADVANCED_SPEC, PACKAGE_ARN
from sm_helpers import ROLE, describe_response, recommendation, step

from irkit import states
from irkit.backends import JobHandle
from irkit.backends.sagemaker import AwsClients, SageMakerBackend
from irkit.errors import BackendError, JobFailedError, SpecError
from irkit.store import Store


def _backend(client, **kwargs) -> SageMakerBackend:
    sleeps: list[float] = []
    backend = SageMakerBackend(
        AwsClients(sagemaker=client), store=Store(), poll_s=5, sleep=sleeps.append, **kwargs
    )
    backend.sleeps = sleeps  # type: ignore[attr-defined]
    return backend


def _submit(backend, stubber, spec=ADVANCED_SPEC, request=ADVANCED_REQUEST):
    stubber.add_response("create_inference_recommendations_job", {"JobArn": "arn:job"}, request)
    return backend.submit(spec, model_package_version_arn=PACKAGE_ARN, role_arn=ROLE)


def test_submit_sends_the_rendered_request_and_records_the_job(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    seen = []
    stubber.add_response(
        "create_inference_recommendations_job", {"JobArn": "arn:job"}, ADVANCED_REQUEST
    )
    handle = backend.submit(
        ADVANCED_SPEC, model_package_version_arn=PACKAGE_ARN, role_arn=ROLE, preflight=seen.append
    )
    assert handle.job_name == "resnet50-advanced" and handle.extra["job_arn"] == "arn:job"
    assert seen and seen[0].job_name == "resnet50-advanced"
    job = backend.store.get_job(handle.job_id)
    assert job["backend"] == "sagemaker" and job["status"] == states.PENDING
    assert job["meta"]["request"] == ADVANCED_REQUEST


def test_failing_preflight_stops_before_any_call(ir_stub):
    client, _ = ir_stub

    def reject(spec):
        raise BackendError("the model rejected the sample payload")

    with pytest.raises(BackendError, match="sample payload"):
        _backend(client).submit(
            ADVANCED_SPEC, model_package_version_arn=PACKAGE_ARN, role_arn=ROLE, preflight=reject
        )


def test_invalid_spec_is_refused_before_any_call(ir_stub):
    client, _ = ir_stub
    with pytest.raises(SpecError) as err:
        _backend(client).submit(
            {**ADVANCED_SPEC, "max_tests": 0}, model_package_version_arn=PACKAGE_ARN, role_arn=ROLE
        )
    assert err.value.field == "max_tests"


def test_status_follows_step_pages(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    handle = _submit(backend, stubber)
    name = handle.job_name
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(name, "IN_PROGRESS"),
        {"JobName": name},
    )
    stubber.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step(name, "COMPLETED"), step(name, "IN_PROGRESS")], "NextToken": "page2"},
        {"JobName": name},
    )
    stubber.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step(name, "FAILED", "ml.c5.2xlarge")]},
        {"JobName": name, "NextToken": "page2"},
    )
    current = backend.status(handle)
    assert (current.status, current.done, current.total) == ("IN_PROGRESS", 2, 3)
    assert (
        current.steps[2]["InferenceBenchmark"]["EndpointConfiguration"]["InstanceType"]
        == "ml.c5.2xlarge"
    )
    assert backend.store.get_job(handle.job_id)["status"] == states.IN_PROGRESS


def _poll(stubber, name, status, **kw):
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(name, status, **kw),
        {"JobName": name},
    )
    stubber.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step(name, "COMPLETED")]},
        {"JobName": name},
    )


def test_failed_job_surfaces_failure_reason(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    handle = _submit(backend, stubber)
    name = handle.job_name
    _poll(stubber, name, "IN_PROGRESS")
    reason = "Payload is invalid: model returned 400 for application/json"
    _poll(stubber, name, "FAILED", failure_reason=reason)
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(name, "FAILED", failure_reason=reason),
        {"JobName": name},
    )
    with pytest.raises(JobFailedError) as err:
        backend.wait(handle, progress=False)
    assert err.value.failure_reason == reason and name in str(err.value)
    job = backend.store.get_job(handle.job_id)
    assert job["status"] == states.FAILED and job["failure_reason"] == reason
    assert backend.sleeps == [5]


def test_throttling_never_fails_a_wait(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    handle = _submit(backend, stubber)
    name = handle.job_name
    stubber.add_client_error(
        "describe_inference_recommendations_job", "ThrottlingException", "Rate exceeded", 400
    )
    stubber.add_client_error(
        "describe_inference_recommendations_job", "ThrottlingException", "Rate exceeded", 400
    )
    _poll(stubber, name, "IN_PROGRESS")
    _poll(
        stubber,
        name,
        "COMPLETED",
        recommendations=[recommendation("rec-1", "ml.c5.xlarge", {"OMP_NUM_THREADS": "2"})],
    )
    stubber.add_client_error(
        "describe_inference_recommendations_job", "ThrottlingException", "Rate exceeded", 400
    )
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(
            name,
            "COMPLETED",
            recommendations=[recommendation("rec-1", "ml.c5.xlarge", {"OMP_NUM_THREADS": "2"})],
        ),
        {"JobName": name},
    )
    result = backend.wait(handle, progress=False)
    assert result["Status"] == "COMPLETED"
    assert result["CreationTime"] == "2026-01-02T03:04:05+00:00"  # datetimes are ISO strings
    assert result["InferenceRecommendations"][0]["RecommendationId"] == "rec-1"
    assert "ResponseMetadata" not in result
    assert backend.sleeps[:2] == [10, 20]  # backed off, then polled normally
    assert backend.store.result(handle.job_id)["Status"] == "COMPLETED"


def test_other_errors_fail_the_wait(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    handle = JobHandle("sagemaker", "missing-job", "missing-job")
    stubber.add_client_error(
        "describe_inference_recommendations_job", "ResourceNotFound", "no such job", 400
    )
    with pytest.raises(BackendError, match="ResourceNotFound"):
        backend.wait(handle, progress=False)


@pytest.mark.parametrize(
    "answer,stopped",
    [("y", True), ("n", False), (None, True)],
    ids=["answers-yes", "answers-no", "cannot-ask"],
)
def test_interrupt_asks_whether_to_stop(ir_stub, answer, stopped):
    client, stubber = ir_stub
    questions = []

    def ask(question):
        questions.append(question)
        if answer is None:
            raise EOFError  # no one to answer: the job is stopped
        return answer

    backend = _backend(client, ask=ask)
    handle = _submit(backend, stubber)
    name = handle.job_name
    _poll(stubber, name, "IN_PROGRESS")

    def interrupt(seconds):
        raise KeyboardInterrupt

    backend._sleep = interrupt
    if stopped:
        stubber.add_response("stop_inference_recommendations_job", {}, {"JobName": name})
    with pytest.raises(KeyboardInterrupt):
        backend.wait(handle, progress=False)
    assert name in questions[0]
    expected = states.STOPPING if stopped else states.IN_PROGRESS
    assert backend.store.get_job(handle.job_id)["status"] == expected


def test_non_interactive_interrupt_stops_the_job(ir_stub, monkeypatch):
    client, stubber = ir_stub
    backend = _backend(client)
    monkeypatch.setattr("irkit.backends.sagemaker.backend._can_prompt", lambda: False)
    handle = _submit(backend, stubber)
    _poll(stubber, handle.job_name, "IN_PROGRESS")
    backend._sleep = lambda s: (_ for _ in ()).throw(KeyboardInterrupt())
    stubber.add_response("stop_inference_recommendations_job", {}, {"JobName": handle.job_name})
    with pytest.raises(KeyboardInterrupt):
        backend.wait(handle, progress=False)
    assert backend.store.get_job(handle.job_id)["status"] == states.STOPPING


def test_wait_shows_progress(ir_stub, capsys):
    client, stubber = ir_stub
    backend = _backend(client)
    handle = _submit(backend, stubber)
    recs = [recommendation("rec-1", "ml.c5.xlarge", {})]
    _poll(stubber, handle.job_name, "COMPLETED", recommendations=recs)
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(handle.job_name, "COMPLETED", recommendations=recs),
        {"JobName": handle.job_name},
    )
    backend.wait(handle, progress=True)
    assert handle.job_name in capsys.readouterr().err


def test_scaling_recommendation(ir_stub):
    client, stubber = ir_stub
    backend = _backend(client)
    stubber.add_response(
        "get_scaling_configuration_recommendation",
        {
            "InferenceRecommendationsJobName": "job-1",
            "RecommendationId": "rec-1",
            "DynamicScalingConfiguration": {"MinCapacity": 1, "MaxCapacity": 3},
        },
        {
            "InferenceRecommendationsJobName": "job-1",
            "RecommendationId": "rec-1",
            "ScalingPolicyObjective": {
                "MinInvocationsPerMinute": 10,
                "MaxInvocationsPerMinute": 600,
            },
        },
    )
    out = backend.get_scaling_recommendation(
        "job-1",
        recommendation_id="rec-1",
        min_invocations_per_minute=10,
        max_invocations_per_minute=600,
    )
    assert out["DynamicScalingConfiguration"]["MaxCapacity"] == 3
