"""Model popularity for multi-model load: uniform, Zipf or explicit weights, as a pure seeded sampler.

    pop = Popularity.from_spec(spec.target_models)
    pop.probabilities()          # {"a.tar.gz": 0.55, "b.tar.gz": 0.24, ...}
    pick = pop.sampler(seed=7)
    model, container = pick()    # the same sequence for the same seed

Zipf ranks the names in the order they are listed: rank r (1-based) has weight 1 / r**exponent.
With both models and containers, the popularity ranks the models and each request goes to a
container picked uniformly; with containers only, it ranks the containers. Standard library only,
so Locust processes use it without numpy.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from irkit.errors import SpecError

Target = tuple[str | None, str | None]  # (model file name | None, container hostname | None)


@dataclass(frozen=True)
class Popularity:
    """Probabilities over ``names`` (the models, else the containers) plus the containers to spread over."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    containers: tuple[str, ...] = ()
    names_are_models: bool = True

    @classmethod
    def from_spec(cls, target_models: Any) -> Popularity:
        """From a ``TargetModels`` (or its file-form mapping)."""
        from irkit.spec.targets import TargetModels

        tm = TargetModels.from_value("target_models", target_models)
        names = tm.ranked
        return cls(names, distribution_weights(tm.distribution, len(names), tm.exponent, tm.weights),
                   tm.containers if tm.models else (), bool(tm.models))

    def probabilities(self) -> dict[str, float]:
        """Each ranked name's share of requests (sums to 1), in listed order."""
        total = float(sum(self.weights))
        return {name: w / total for name, w in zip(self.names, self.weights, strict=True)}

    def sampler(self, seed: int | None = 0) -> Callable[[], Target]:
        """A callable returning the next ``(model, container)``; deterministic for a given seed."""
        rng = random.Random(seed)
        cumulative = list(itertools.accumulate(self.weights))
        total = cumulative[-1]
        names, containers, models = self.names, self.containers, self.names_are_models

        def pick() -> Target:
            name = names[min(bisect.bisect_right(cumulative, rng.random() * total), len(names) - 1)]
            if not models:
                return None, name
            return name, (containers[rng.randrange(len(containers))] if containers else None)

        return pick

    def expected_counts(self, requests: int) -> dict[str, float]:
        """How many of ``requests`` each name should get on average."""
        return {name: p * requests for name, p in self.probabilities().items()}


def distribution_weights(distribution: str, count: int, exponent: float = 1.2,
                         weights: Sequence[float] = ()) -> tuple[float, ...]:
    """Unnormalised weights for ``count`` ranked names."""
    if count < 1:
        raise SpecError("target_models.models", "give at least one model (or containers)")
    if distribution == "uniform":
        return (1.0,) * count
    if distribution == "zipf":
        if exponent <= 0:
            raise SpecError("target_models.exponent", f"must be > 0, got {exponent}")
        return tuple(1.0 / (rank**exponent) for rank in range(1, count + 1))
    if distribution == "weights":
        if len(weights) != count or sum(weights) <= 0 or min(weights) < 0:
            raise SpecError("target_models.weights", f"needs {count} non-negative values, not all zero")
        return tuple(float(w) for w in weights)
    raise SpecError("target_models.distribution", f"must be one of uniform, zipf, weights, got {distribution!r}")


def target_label(model: str | None, container: str | None) -> str:
    """How a target is named in results and charts: the model, the container, or ``container/model``."""
    if model and container:
        return f"{container}/{model}"
    return model or container or "(default)"
