"""The public IR ResNet50 example's Default and Advanced jobs, as irkit spec files would hold them."""

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/resnet50-tf/1"
PAYLOAD = "s3://sagemaker-us-east-1-123456789012/inference-recommender/payload.tar.gz"

DEFAULT_SPEC = {
    "job_name": "resnet50-default",
    "framework": "TENSORFLOW",
    "sample_payload_url": PAYLOAD,
    "supported_content_types": ["application/json"],
    "supported_instance_types": ["ml.c5.xlarge", "ml.c5.2xlarge", "ml.m5.xlarge", "ml.m5.2xlarge"],
}

ADVANCED_SPEC = {
    "job_name": "resnet50-advanced",
    "framework": "TENSORFLOW",
    "sample_payload_url": PAYLOAD,
    "supported_content_types": ["application/json"],
    "job_duration_in_seconds": 7200,
    "hyperparameter_ranges": [
        {"instance_types": ["ml.c5.xlarge", "ml.c5.2xlarge"], "OMP_NUM_THREADS": ["1", "2", "4"]},
    ],
    "phases": [
        {"duration_in_seconds": 120, "initial_number_of_users": 2, "spawn_rate": 2},
        {"duration_in_seconds": 120, "initial_number_of_users": 6, "spawn_rate": 2},
    ],
    "max_invocations": 1000,
    "model_latency_thresholds": [{"percentile": "P95", "value_in_milliseconds": 100}],
    "max_tests": 10,
    "max_parallel_tests": 2,
}

DEFAULT_REQUEST = {
    "JobName": "resnet50-default",
    "JobType": "Default",
    "RoleArn": ROLE,
    "InputConfig": {
        "ModelPackageVersionArn": PACKAGE_ARN,
        "ContainerConfig": {
            "Domain": "MACHINE_LEARNING",
            "Task": "OTHER",
            "Framework": "TENSORFLOW",
            "PayloadConfig": {
                "SamplePayloadUrl": PAYLOAD,
                "SupportedContentTypes": ["application/json"],
            },
            "SupportedInstanceTypes": [
                "ml.c5.xlarge",
                "ml.c5.2xlarge",
                "ml.m5.xlarge",
                "ml.m5.2xlarge",
            ],
        },
    },
}

_OMP = {"CategoricalParameterRanges": [{"Name": "OMP_NUM_THREADS", "Value": ["1", "2", "4"]}]}
ADVANCED_REQUEST = {
    "JobName": "resnet50-advanced",
    "JobType": "Advanced",
    "RoleArn": ROLE,
    "InputConfig": {
        "ModelPackageVersionArn": PACKAGE_ARN,
        "JobDurationInSeconds": 7200,
        "ContainerConfig": {
            "Domain": "MACHINE_LEARNING",
            "Task": "OTHER",
            "Framework": "TENSORFLOW",
            "PayloadConfig": {
                "SamplePayloadUrl": PAYLOAD,
                "SupportedContentTypes": ["application/json"],
            },
        },
        "TrafficPattern": {
            "TrafficType": "PHASES",
            "Phases": [
                {"DurationInSeconds": 120, "InitialNumberOfUsers": 2, "SpawnRate": 2},
                {"DurationInSeconds": 120, "InitialNumberOfUsers": 6, "SpawnRate": 2},
            ],
        },
        "ResourceLimit": {"MaxNumberOfTests": 10, "MaxParallelOfTests": 2},
        "EndpointConfigurations": [
            {"InstanceType": "ml.c5.xlarge", "EnvironmentParameterRanges": _OMP},
            {"InstanceType": "ml.c5.2xlarge", "EnvironmentParameterRanges": _OMP},
        ],
    },
    "StoppingConditions": {
        "MaxInvocations": 1000,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
    },
}
