"""Rebuild irkit's pricing table from the AWS Pricing API (ServiceCode AmazonSageMaker, Hosting)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from irkit.backends.sagemaker.clients import AwsClients, error_message
from irkit.errors import BackendError

SERVICE_CODE = "AmazonSageMaker"
COMPONENT = "Hosting"


def _filters(region: str, instance_type: str) -> list[dict[str, str]]:
    return [
        {"Type": "TERM_MATCH", "Field": "component", "Value": COMPONENT},
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
    ]


def on_demand_usd(price_item: str | dict[str, Any]) -> float | None:
    """The hourly on-demand USD price in one PriceList entry (a JSON string), if any."""
    item = json.loads(price_item) if isinstance(price_item, str) else price_item
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and float(usd) > 0:
                return float(usd)
    return None


def fetch_price(clients: AwsClients, instance_type: str, region: str) -> float | None:
    """$/hour for real-time hosting of ``instance_type`` in ``region``; None if the API has none."""
    if clients.pricing is None:
        raise BackendError("the pricing client is missing from AwsClients")
    kwargs: dict[str, Any] = {
        "ServiceCode": SERVICE_CODE,
        "Filters": _filters(region, instance_type),
        "FormatVersion": "aws_v1",
    }
    prices: list[float] = []
    while True:
        try:
            page = clients.pricing.get_products(**kwargs)
        except Exception as exc:
            raise BackendError(
                f"Pricing GetProducts for {instance_type} in {region} failed: {error_message(exc)}"
            ) from exc
        prices.extend(
            p for p in (on_demand_usd(item) for item in page.get("PriceList", [])) if p is not None
        )
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return min(prices) if prices else None


def build_pricing_document(
    clients: AwsClients,
    instance_types: Iterable[str],
    regions: Iterable[str],
    today: dt.date | None = None,
) -> dict[str, Any]:
    """A pricing.json document for the given instance types and regions, with source and date."""
    table: dict[str, dict[str, float]] = {}
    missing: list[str] = []
    for region in regions:
        table[region] = {}
        for instance_type in instance_types:
            cost = fetch_price(clients, instance_type, region)
            if cost is None:
                missing.append(f"{region}/{instance_type}")
            else:
                table[region][instance_type] = cost
    return {
        "source": f"AWS Pricing API GetProducts (ServiceCode {SERVICE_CODE}, component={COMPONENT}, "
        "on-demand USD per instance-hour)",
        "date": (today or dt.date.today()).isoformat(),
        "currency": "USD",
        "unit": "per instance-hour",
        "regions": table,
        "missing": missing,
    }
