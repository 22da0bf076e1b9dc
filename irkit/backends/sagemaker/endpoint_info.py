"""What an existing SageMaker endpoint runs on: DescribeEndpoint + DescribeEndpointConfig, as a value.

``describe_endpoint(sagemaker_client, name) -> EndpointDescription`` (instance type and count of each
production variant, or its serverless config), and ``runtime_client(...)``, the boto3
``sagemaker-runtime`` client the parent process uses for the pre-flight invocation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from irkit._lazy import optional_import
from irkit.backends.sagemaker.clients import error_message
from irkit.errors import BackendError

IN_SERVICE = "InService"


@dataclass(frozen=True)
class EndpointVariant:
    """One production variant: instance type and count (None for a serverless variant)."""

    variant_name: str
    instance_type: str | None
    instance_count: int
    serverless: dict[str, Any] | None = None


@dataclass(frozen=True)
class EndpointDescription:
    """An endpoint's name, status, config name and variants."""

    endpoint_name: str
    status: str
    endpoint_config_name: str
    variants: tuple[EndpointVariant, ...]

    @property
    def instance_type(self) -> str:
        """The first variant's instance type, or ``serverless``."""
        first = self.variants[0] if self.variants else None
        return (first.instance_type or "serverless") if first else "unknown"

    @property
    def instance_count(self) -> int:
        return sum(v.instance_count for v in self.variants)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["variants"] = [asdict(v) for v in self.variants]
        out["instance_type"], out["instance_count"] = self.instance_type, self.instance_count
        return out


def describe_endpoint(sagemaker: Any, endpoint_name: str) -> EndpointDescription:
    """Describe ``endpoint_name`` and its config; BackendError (naming it) when missing or not InService."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except Exception as exc:  # noqa: BLE001 - botocore ClientError and connection errors alike
        raise BackendError(f"endpoint {endpoint_name!r} (--endpoint-name) cannot be described: "
                           f"{error_message(exc)}") from exc
    status = endpoint.get("EndpointStatus", "")
    if status != IN_SERVICE:
        raise BackendError(f"endpoint {endpoint_name!r} is {status or 'in an unknown state'}, not {IN_SERVICE}; "
                           "benchmark it once it is in service")
    config_name = endpoint.get("EndpointConfigName", "")
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except Exception as exc:  # noqa: BLE001
        raise BackendError(f"endpoint config {config_name!r} of endpoint {endpoint_name!r} cannot be described: "
                           f"{error_message(exc)}") from exc
    current = {v.get("VariantName"): v for v in endpoint.get("ProductionVariants") or []}
    variants = []
    for variant in config.get("ProductionVariants") or []:
        name = variant.get("VariantName", "")
        live = current.get(name, {})
        count = live.get("CurrentInstanceCount", variant.get("InitialInstanceCount", 0))
        serverless = variant.get("ServerlessConfig")
        variants.append(EndpointVariant(name, variant.get("InstanceType"), int(count or 0),
                                        dict(serverless) if serverless else None))
    return EndpointDescription(endpoint_name, status, config_name, tuple(variants))


def endpoint_price_per_hour(description: EndpointDescription, region: str) -> float | None:
    """$/hour of all the endpoint's instances from irkit's price table; None when unknown or serverless."""
    from irkit.pricing import price

    total = 0.0
    for variant in description.variants:
        if variant.instance_type is None:
            return None
        try:
            total += price(variant.instance_type, region) * variant.instance_count
        except Exception:  # noqa: BLE001 - an unknown price leaves the cost out, never fails the benchmark
            return None
    return total


def runtime_endpoint_url(sagemaker: Any, explicit: str | None = None) -> str | None:
    """The sagemaker-runtime URL override: ``explicit``, or the SageMaker client's own when it is not AWS's.

    With moto (or any stand-in on one port) the SageMaker client's endpoint_url serves the runtime API too.
    """
    if explicit:
        return explicit
    url = getattr(getattr(sagemaker, "meta", None), "endpoint_url", None)
    if url and "amazonaws.com" not in url:
        return str(url)
    return None


def runtime_client(region: str, endpoint_url: str | None = None) -> Any:
    """A ``sagemaker-runtime`` client without retries (a pre-flight failure shows at once)."""
    boto3 = optional_import("boto3")
    botocore_config = optional_import("botocore.config")
    return boto3.session.Session().client(
        "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url,
        config=botocore_config.Config(retries={"max_attempts": 1, "mode": "standard"}))


def preflight_invoke(runtime: Any, endpoint_name: str, body: bytes, content_type: str,
                     target_model: str | None = None, target_container: str | None = None) -> dict[str, Any]:
    """One invoke_endpoint with the sample payload; BackendError naming the endpoint and target on failure."""
    kwargs: dict[str, Any] = {"EndpointName": endpoint_name, "Body": body, "ContentType": content_type,
                              "Accept": "application/json"}
    if target_model:
        kwargs["TargetModel"] = target_model
    if target_container:
        kwargs["TargetContainerHostname"] = target_container
    try:
        response = runtime.invoke_endpoint(**kwargs)
        answer = response["Body"].read()
    except Exception as exc:  # noqa: BLE001
        target = f" (target model {target_model!r})" if target_model else ""
        target += f" (target container {target_container!r})" if target_container else ""
        raise BackendError(f"pre-flight invoke_endpoint on {endpoint_name!r}{target} failed: "
                           f"{error_message(exc)}") from exc
    return {"bytes": len(answer), "content_type": response.get("ContentType")}
