"""target_models in the job spec, and the popularity sampler's distribution."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from irkit.errors import SpecError
from irkit.spec import JobSpec, TargetModels
from irkit.spec.popularity import Popularity, distribution_weights, target_label

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel

MODELS = ["a.tar.gz", "b.tar.gz", "c.tar.gz", "d.tar.gz"]
DRAWS = 20_000
ROLE = "arn:aws:iam::123456789012:role/Irkit"


def _spec(**target_models):
    return JobSpec.from_dict({"supported_instance_types": ["local.cpu1"], "target_models": target_models})


def _chi_square(counts: Counter, probabilities: dict[str, float], draws: int) -> float:
    return sum((counts[name] - p * draws) ** 2 / (p * draws) for name, p in probabilities.items())


# chi-square critical values at p = 0.001 for k-1 degrees of freedom
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27}


def test_round_trips_through_yaml(tmp_path):
    spec = _spec(models=["a", "b.tar.gz"], distribution="zipf", exponent=1.5, containers=["host-1"])
    assert spec.target_models == TargetModels(("a.tar.gz", "b.tar.gz"), "zipf", 1.5, (), ("host-1",))
    import yaml

    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    again = JobSpec.from_file(path)
    assert again == spec
    assert again.to_dict()["target_models"]["exponent"] == 1.5


def test_weights_imply_the_weights_distribution():
    spec = _spec(models=["a", "b"], weights=[3, 1])
    assert spec.target_models.distribution == "weights"
    assert Popularity.from_spec(spec.target_models).probabilities() == {"a.tar.gz": 0.75, "b.tar.gz": 0.25}


@pytest.mark.parametrize(
    ("target_models", "field"),
    [
        ({"models": ["a"], "colour": "red"}, "target_models.colour"),
        ({"models": ["a", "b"], "distribution": "weights", "weights": [1]}, "target_models.weights"),
        ({"models": ["a"], "distribution": "zipf", "exponent": 0}, "target_models.exponent"),
        ({"models": ["a"], "distribution": "zipf", "exponent": -1}, "target_models.exponent"),
        ({"models": ["a"], "distribution": "pareto"}, "target_models.distribution"),
        ({"models": []}, "target_models.models"),
        ({"models": ["a", "a.tar.gz"]}, "target_models.models[1]"),
        ({"models": ["../etc/passwd"]}, "target_models.models[0]"),
        ({"containers": ["bad host"]}, "target_models.containers[0]"),
        ({"models": ["a", "b"], "distribution": "zipf", "weights": [1, 2]}, "target_models.weights"),
        ({"models": ["a", "b"], "weights": [0, 0]}, "target_models.weights"),
    ],
)
def test_invalid_target_models_name_the_field(target_models, field):
    with pytest.raises(SpecError) as info:
        _spec(**target_models)
    assert info.value.field == field


def test_to_request_rejects_multi_model_and_points_to_endpoint_benchmarks():
    spec = _spec(models=["a"]).replace(supported_instance_types=("ml.c5.xlarge",), job_name="j1")
    with pytest.raises(SpecError) as info:
        spec.to_request(model_name="m", role_arn=ROLE)
    assert info.value.field == "target_models"
    assert "--endpoint-name" in str(info.value) and "multi-model" in str(info.value)
    # without target_models the same spec renders
    assert spec.replace(target_models=None).to_request(model_name="m", role_arn=ROLE)["JobName"] == "j1"


def test_local_validation_accepts_target_models():
    assert _spec(models=["a"]).validate("local").target_models.models == ("a.tar.gz",)


@pytest.mark.parametrize("distribution", ["uniform", "zipf", "weights"])
def test_sampler_matches_probabilities(distribution):
    extra = {"weights": [5, 1, 3, 1]} if distribution == "weights" else {}
    pop = Popularity.from_spec({"models": MODELS, "distribution": distribution, "exponent": 1.2, **extra})
    probabilities = pop.probabilities()
    assert math.isclose(sum(probabilities.values()), 1.0)
    pick = pop.sampler(seed=11)
    counts = Counter(pick()[0] for _ in range(DRAWS))
    assert set(counts) == set(MODELS)
    assert _chi_square(counts, probabilities, DRAWS) < CHI2_999[3]


def test_zipf_orders_models_by_rank_and_steepens_with_exponent():
    mild = Popularity.from_spec({"models": MODELS, "distribution": "zipf", "exponent": 0.5}).probabilities()
    steep = Popularity.from_spec({"models": MODELS, "distribution": "zipf", "exponent": 2.0}).probabilities()
    for p in (mild, steep):
        values = [p[m] for m in MODELS]
        assert values == sorted(values, reverse=True)
    assert steep["a.tar.gz"] > mild["a.tar.gz"]
    assert math.isclose(steep["a.tar.gz"] / steep["b.tar.gz"], 2.0**2.0)
    pick = Popularity.from_spec({"models": MODELS, "distribution": "zipf"}).sampler(3)
    counts = Counter(pick()[0] for _ in range(DRAWS))
    assert counts["a.tar.gz"] > counts["b.tar.gz"] > counts["c.tar.gz"] > counts["d.tar.gz"]


def test_sampler_is_deterministic_per_seed():
    pop = Popularity.from_spec({"models": MODELS, "distribution": "zipf"})
    first = [pop.sampler(5)() for _ in range(1)]
    a, b, c = pop.sampler(5), pop.sampler(5), pop.sampler(6)
    seq_a = [a() for _ in range(200)]
    assert seq_a == [b() for _ in range(200)]
    assert seq_a != [c() for _ in range(200)]
    assert first[0] == seq_a[0]


def test_containers_spread_uniformly_and_alone_they_carry_the_popularity():
    both = Popularity.from_spec({"models": ["a", "b"], "containers": ["h1", "h2"], "weights": [1, 0]})
    pick = both.sampler(1)
    draws = [pick() for _ in range(DRAWS)]
    assert {m for m, _ in draws} == {"a.tar.gz"}
    hosts = Counter(c for _, c in draws)
    assert _chi_square(hosts, {"h1": 0.5, "h2": 0.5}, DRAWS) < CHI2_999[1]
    only = Popularity.from_spec({"containers": ["h1", "h2", "h3"], "distribution": "zipf"})
    assert list(only.probabilities()) == ["h1", "h2", "h3"]
    model, container = only.sampler(2)()
    assert model is None and container in {"h1", "h2", "h3"}


def test_distribution_weights_and_labels():
    assert distribution_weights("uniform", 3) == (1.0, 1.0, 1.0)
    with pytest.raises(SpecError):
        distribution_weights("weights", 2, weights=[1.0])
    assert target_label("a.tar.gz", None) == "a.tar.gz"
    assert target_label(None, "h1") == "h1"
    assert target_label("a.tar.gz", "h1") == "h1/a.tar.gz"
