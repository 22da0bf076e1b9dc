"""The 03 -> 05 walk through the public API: upload, Model, register, Default job, Advanced job, results, deploy.

moto plays S3, models, the registry and endpoints; Stubber plays the IR job APIs, which moto lacks.
"""

from __future__ import annotations

import tarfile

import pytest
from ir_examples import ADVANCED_SPEC, DEFAULT_SPEC
from sm_helpers import REGION, ROLE, describe_response, one_attempt_client, recommendation, step

from irkit.backends.sagemaker import AwsClients, SageMakerBackend
from irkit.store import Store

moto = pytest.importorskip("moto")
from botocore.stub import Stubber  # noqa: E402

IR_OPERATIONS = ("inference_recommendations", "scaling_configuration_recommendation")
BUCKET = "irkit-walk-bucket"


class _SplitSageMaker:
    """IR job calls go to the Stubber-wrapped client, everything else to moto's."""

    def __init__(self, moto_client, ir_client):
        self._moto, self._ir = moto_client, ir_client

    def __getattr__(self, name):
        target = self._ir if any(op in name for op in IR_OPERATIONS) else self._moto
        return getattr(target, name)


@pytest.fixture
def aws(tmp_path):
    import boto3

    with moto.mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        moto_sm = boto3.client("sagemaker", region_name=REGION)
        ir_client = one_attempt_client("sagemaker")
        with Stubber(ir_client) as stubber:
            clients = AwsClients(
                sagemaker=_SplitSageMaker(moto_sm, ir_client), s3=s3, region=REGION
            )
            yield clients, stubber, moto_sm
            stubber.assert_no_pending_responses()


def _workdir(tmp_path):
    for name in ("model.tar.gz", "payload.tar.gz"):
        src = tmp_path / f"{name}.txt"
        src.write_text(name)
        with tarfile.open(tmp_path / name, "w:gz") as tar:
            tar.add(src, arcname=src.name)
    return tmp_path


def _run_job(backend, stubber, spec, package_arn, recs):
    plan_request = backend.render(spec, model_package_version_arn=package_arn, role_arn=ROLE)
    stubber.add_response(
        "create_inference_recommendations_job", {"JobArn": "arn:job"}, plan_request
    )
    handle = backend.submit(spec, model_package_version_arn=package_arn, role_arn=ROLE)
    name = handle.job_name
    input_config = {"ModelPackageVersionArn": package_arn}
    stubber.add_response(
        "describe_inference_recommendations_job",
        describe_response(name, "IN_PROGRESS", input_config=input_config),
        {"JobName": name},
    )
    stubber.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step(name, "IN_PROGRESS")]},
        {"JobName": name},
    )
    done = describe_response(name, "COMPLETED", recommendations=recs, input_config=input_config)
    stubber.add_response("describe_inference_recommendations_job", done, {"JobName": name})
    stubber.add_response(
        "list_inference_recommendations_job_steps",
        {"Steps": [step(name, "COMPLETED")]},
        {"JobName": name},
    )
    stubber.add_response("describe_inference_recommendations_job", done, {"JobName": name})
    return handle, backend.wait(handle, poll_s=0, progress=False)


def test_registry_to_deploy_walk(aws, tmp_path):
    clients, stubber, moto_sm = aws
    backend = SageMakerBackend(clients, store=Store(), sleep=lambda s: None)

    # 03: upload, create the Model, register a model package version
    plan = backend.plan_model_setup(
        DEFAULT_SPEC,
        workdir=_workdir(tmp_path),
        bucket=BUCKET,
        role_arn=ROLE,
        model_package_group="resnet50-walk",
        model_name="resnet50-walk-model",
    )
    assert plan.create_model_package["SamplePayloadUrl"] == f"s3://{BUCKET}/irkit/payload.tar.gz"
    setup = backend.prepare_model(plan)
    body = clients.s3.get_object(Bucket=BUCKET, Key="irkit/model.tar.gz")["Body"].read()
    assert body == (tmp_path / "model.tar.gz").read_bytes()
    assert moto_sm.describe_model(ModelName="resnet50-walk-model")["PrimaryContainer"][
        "Image"
    ].endswith("-cpu")
    package = moto_sm.describe_model_package(ModelPackageName=setup.model_package_version_arn)
    assert package["Domain"] == "COMPUTER_VISION" and package["Task"] == "IMAGE_CLASSIFICATION"
    container = package["InferenceSpecification"]["Containers"][0]
    assert (
        container["Framework"] == "TENSORFLOW" and container["ModelDataUrl"] == setup.model_data_url
    )
    assert (
        package["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"]
        == DEFAULT_SPEC["supported_instance_types"]
    )
    saved = setup.save(tmp_path / "registry.json")
    assert type(setup).load(saved) == setup
    # registering again adds a version to the existing group
    again = backend.prepare_model(plan)
    assert again.model_package_version_arn.endswith("/2")

    # 04: Default job
    default_spec = plan.spec
    handle, result = _run_job(
        backend,
        stubber,
        default_spec,
        setup.model_package_version_arn,
        [recommendation("rec-default", "ml.c5.xlarge", {})],
    )
    assert result["Status"] == "COMPLETED"
    assert backend.store.get_job(handle.job_id)["status"] == "COMPLETED"

    # 05: Advanced job (env ranges, phases, stopping conditions)
    advanced_spec = {**ADVANCED_SPEC, "sample_payload_url": setup.sample_payload_url}
    adv_handle, adv_result = _run_job(
        backend,
        stubber,
        advanced_spec,
        setup.model_package_version_arn,
        [
            recommendation("rec-omp2", "ml.c5.2xlarge", {"OMP_NUM_THREADS": "2"}),
            recommendation("rec-omp4", "ml.c5.xlarge", {"OMP_NUM_THREADS": "4"}),
        ],
    )
    assert [r["RecommendationId"] for r in adv_result["InferenceRecommendations"]] == [
        "rec-omp2",
        "rec-omp4",
    ]
    request = backend.store.get_job(adv_handle.job_id)["meta"]["request"]
    assert request["JobType"] == "Advanced"
    assert request["InputConfig"]["EndpointConfigurations"][0]["EnvironmentParameterRanges"]

    # deploy a recommendation, found in the stored results by id
    names = backend.deploy("rec-omp2", endpoint_name="resnet50-walk-endpoint")
    model = moto_sm.describe_model(ModelName=names["model_name"])
    assert model["PrimaryContainer"]["Environment"] == {"OMP_NUM_THREADS": "2"}
    assert model["PrimaryContainer"]["ModelDataUrl"] == setup.model_data_url
    config = moto_sm.describe_endpoint_config(EndpointConfigName=names["endpoint_config_name"])
    variant = config["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.2xlarge", 1)
    endpoint = moto_sm.describe_endpoint(EndpointName="resnet50-walk-endpoint")
    assert endpoint["EndpointConfigName"] == names["endpoint_config_name"]


def test_deploy_unknown_recommendation_names_it(aws):
    clients, _, _ = aws
    backend = SageMakerBackend(clients, store=Store())
    from irkit.errors import BackendError

    with pytest.raises(BackendError, match="rec-nope"):
        backend.deploy("rec-nope")
