"""Pricing refresh (Stubber on the Pricing API) and the spec/pricing CLI commands."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber
from ir_examples import ADVANCED_REQUEST, ADVANCED_SPEC, PACKAGE_ARN
from sm_helpers import ROLE, one_attempt_client

from irkit.backends.sagemaker import AwsClients
from irkit.backends.sagemaker.pricing_api import build_pricing_document, fetch_price
from irkit.cli import main


def _price_item(instance_type: str, usd: str) -> str:
    return json.dumps(
        {
            "product": {"attributes": {"instanceName": instance_type, "component": "Hosting"}},
            "terms": {
                "OnDemand": {
                    "T1": {"priceDimensions": {"D1": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


def _expect(stubber, instance_type, region, items, token=None, next_token=None):
    params = {
        "ServiceCode": "AmazonSageMaker",
        "FormatVersion": "aws_v1",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        ],
    }
    if token:
        params["NextToken"] = token
    response = {"PriceList": items, "FormatVersion": "aws_v1"}
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("get_products", response, params)


@pytest.fixture
def pricing_stub():
    client = one_attempt_client("pricing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_fetch_price_pages_and_picks_the_on_demand_rate(pricing_stub):
    client, stubber = pricing_stub
    _expect(
        stubber,
        "ml.c5.xlarge",
        "eu-west-1",
        [_price_item("ml.c5.xlarge", "0.0000000000")],
        next_token="p2",
    )
    _expect(
        stubber,
        "ml.c5.xlarge",
        "eu-west-1",
        [_price_item("ml.c5.xlarge", "0.2280000000")],
        token="p2",
    )
    assert (
        fetch_price(AwsClients(sagemaker=None, pricing=client), "ml.c5.xlarge", "eu-west-1")
        == 0.228
    )


def test_refresh_command_writes_a_dated_sourced_table(pricing_stub, tmp_path, monkeypatch, capsys):
    client, stubber = pricing_stub
    _expect(stubber, "ml.c5.xlarge", "us-east-1", [_price_item("ml.c5.xlarge", "0.2040000000")])
    _expect(stubber, "ml.g5.xlarge", "us-east-1", [])
    monkeypatch.setattr(
        "irkit.backends.sagemaker.clients.default_clients",
        lambda region=None: AwsClients(sagemaker=None, pricing=client, region=region),
    )
    out = tmp_path / "pricing.json"
    code = main(
        [
            "pricing",
            "refresh",
            "--instance-type",
            "ml.c5.xlarge",
            "--instance-type",
            "ml.g5.xlarge",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    document = json.loads(out.read_text())
    assert document["regions"]["us-east-1"]["ml.c5.xlarge"] == 0.204
    assert document["regions"]["us-east-1"]["ml.m5.large"] == 0.115  # kept from the previous table
    assert document["missing"] == ["us-east-1/ml.g5.xlarge"] and "Pricing API" in document["source"]
    assert document["date"]
    # irkit uses the refreshed file when IRKIT_PRICING_FILE points at it
    monkeypatch.setenv("IRKIT_PRICING_FILE", str(out))
    from irkit.pricing import price

    assert price("ml.c5.xlarge") == 0.204
    assert "1 prices" in capsys.readouterr().out


def test_build_document_for_two_regions(pricing_stub):
    client, stubber = pricing_stub
    _expect(stubber, "ml.m5.large", "us-east-1", [_price_item("ml.m5.large", "0.115")])
    _expect(stubber, "ml.m5.large", "us-west-2", [_price_item("ml.m5.large", "0.115")])
    doc = build_pricing_document(
        AwsClients(sagemaker=None, pricing=client), ["ml.m5.large"], ["us-east-1", "us-west-2"]
    )
    assert set(doc["regions"]) == {"us-east-1", "us-west-2"} and doc["missing"] == []


def test_pricing_show_lists_catalog_and_local_estimates(capsys):
    assert main(["pricing", "show", "--local"]) == 0
    out = capsys.readouterr().out
    assert "ml.c5.xlarge" in out and "local.cpu1" in out and "(estimate)" in out
    assert main(["pricing", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] and any(r["instance_type"] == "ml.inf2.xlarge" for r in data["instances"])


def _spec_file(tmp_path, spec):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_spec_render_prints_the_request(tmp_path, capsys):
    code = main(
        [
            "spec",
            "render",
            _spec_file(tmp_path, ADVANCED_SPEC),
            "--model-package-version-arn",
            PACKAGE_ARN,
            "--role-arn",
            ROLE,
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == ADVANCED_REQUEST


@pytest.mark.parametrize(
    "change,field",
    [
        (
            {
                "phases": [
                    {"duration_in_seconds": 30, "initial_number_of_users": 1, "spawn_rate": 1}
                ]
            },
            "phases[0].duration_in_seconds",
        ),
        ({"max_parallel": 2}, "max_parallel"),
        (
            {"model_latency_thresholds": [{"percentile": "P90", "value_in_milliseconds": 10}]},
            "model_latency_thresholds[0].percentile",
        ),
    ],
)
def test_spec_render_exits_2_naming_the_field(tmp_path, capsys, change, field):
    code = main(
        [
            "spec",
            "render",
            _spec_file(tmp_path, {**ADVANCED_SPEC, **change}),
            "--model-name",
            "m",
            "--role-arn",
            ROLE,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"irkit: error: {field}:")


def test_spec_render_requires_a_model_target(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["spec", "render", _spec_file(tmp_path, ADVANCED_SPEC), "--role-arn", ROLE])
    assert exit_info.value.code == 2


def test_spec_check_lists_configurations(tmp_path, capsys):
    spec = {
        "job_name": "local",
        "hyperparameter_ranges": [{"instance_types": ["local.cpu1"], "OMP_NUM_THREADS": [1, 2]}],
    }
    assert main(["spec", "check", _spec_file(tmp_path, spec), "--target", "local"]) == 0
    out = capsys.readouterr().out
    assert "local.cpu1 OMP_NUM_THREADS=1" in out and "local.cpu1 OMP_NUM_THREADS=2" in out
    assert main(["spec", "check", _spec_file(tmp_path, spec), "--target", "sagemaker"]) == 2


def test_refresh_default_output_is_used_from_then_on(pricing_stub, monkeypatch, _irkit_home):
    client, stubber = pricing_stub
    _expect(stubber, "ml.c5.large", "us-east-1", [_price_item("ml.c5.large", "0.5")])
    monkeypatch.setattr(
        "irkit.backends.sagemaker.clients.default_clients",
        lambda region=None: AwsClients(sagemaker=None, pricing=client, region=region),
    )
    from irkit.pricing import price, pricing_path

    assert price("ml.c5.large") != 0.5  # the shipped snapshot
    assert main(["pricing", "refresh", "--instance-type", "ml.c5.large"]) == 0
    assert pricing_path() == _irkit_home / "pricing.json"
    assert price("ml.c5.large") == 0.5
    assert price("ml.g5.xlarge") > 0  # not refreshed, kept
