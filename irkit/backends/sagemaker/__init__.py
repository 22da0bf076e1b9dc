"""The SageMaker backend: the only place that imports boto3, botocore or sagemaker.

Modules: ``clients`` (AwsClients, standard retries), ``request_check`` (service-model validation),
``registry`` (S3 upload, Model, model package group/version), ``backend`` (SageMakerBackend:
submit/status/wait/stop/results/deploy), ``deploy``, ``pricing_api``, ``results``.
"""

from irkit.backends.sagemaker.backend import SageMakerBackend
from irkit.backends.sagemaker.clients import AwsClients, default_clients

__all__ = ["AwsClients", "SageMakerBackend", "default_clients"]
