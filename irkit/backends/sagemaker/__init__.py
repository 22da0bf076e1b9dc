"""The SageMaker backend: the only place that imports boto3, botocore or sagemaker.

Modules: ``clients`` (AwsClients, standard retries), ``request_check`` (service-model validation),
``registry`` (S3 upload, Model, model package group/version), ``backend`` (SageMakerBackend:
submit/status/wait/stop/results/deploy), ``deploy``, ``pricing_api``, ``results``, and the benchmark
of an existing endpoint: ``endpoint_bench`` (benchmark_endpoint), ``endpoint_info`` (describe, pre-flight),
``endpoint_models`` (per-model rows), ``runtime_locustfile`` (run by Locust only, never imported).
"""

from irkit.backends.sagemaker.backend import SageMakerBackend
from irkit.backends.sagemaker.clients import AwsClients, default_clients
from irkit.backends.sagemaker.endpoint_bench import benchmark_endpoint, endpoint_benchmark_result

__all__ = ["AwsClients", "SageMakerBackend", "benchmark_endpoint", "default_clients", "endpoint_benchmark_result"]
