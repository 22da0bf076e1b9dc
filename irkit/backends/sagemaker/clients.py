"""The AWS clients the SageMaker backend uses, built with botocore's standard retry mode.

Every function in this package takes its clients from an ``AwsClients`` value, so tests inject moto
or Stubber-wrapped clients and nothing else ever reaches AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irkit._lazy import optional_import

DEFAULT_REGION = "us-east-1"
# The Pricing API is served from a few regions only; us-east-1 answers for every region's prices.
PRICING_API_REGION = "us-east-1"
RETRY_CONFIG = {"mode": "standard", "max_attempts": 10}


@dataclass
class AwsClients:
    """boto3 clients for SageMaker, S3 and (optionally) the Pricing API, plus their region."""

    sagemaker: Any
    s3: Any = None
    pricing: Any = None
    region: str = DEFAULT_REGION


def client_config() -> Any:
    """botocore Config with standard retries (throttling is retried with backoff)."""
    botocore_config = optional_import("botocore.config")
    return botocore_config.Config(retries=dict(RETRY_CONFIG))


def default_clients(region: str | None = None, session: Any = None) -> AwsClients:
    """Clients from the default boto3 session (or ``session``), region from it unless given."""
    boto3 = optional_import("boto3")
    session = session or boto3.session.Session()
    region = region or session.region_name or DEFAULT_REGION
    config = client_config()
    return AwsClients(
        sagemaker=session.client("sagemaker", region_name=region, config=config),
        s3=session.client("s3", region_name=region, config=config),
        pricing=session.client("pricing", region_name=PRICING_API_REGION, config=config),
        region=region,
    )


def is_throttling(exc: BaseException) -> bool:
    """True for the error codes botocore's retry mode treats as throttling."""
    exceptions = optional_import("botocore.exceptions")
    if isinstance(exc, exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return code in {
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "RequestThrottledException",
            "TooManyRequestsException",
            "ProvisionedThroughputExceededException",
            "TransactionInProgressException",
            "RequestLimitExceeded",
            "BandwidthLimitExceeded",
            "LimitExceededException",
            "RequestThrottled",
            "SlowDown",
            "EC2ThrottledException",
        }
    return isinstance(exc, (exceptions.ConnectionError, exceptions.ReadTimeoutError))


def error_message(exc: BaseException) -> str:
    """``Code: Message`` for a botocore ClientError, str(exc) otherwise."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}"
    return str(exc)
