"""A simulated closed-loop server for the knee search's pure tests: C slots x S ms plus client overhead.

``ticks(users, level, start_s, seconds)`` produces the tick records the locustfile would write for
one level held for ``seconds`` (seeded noise on the throughput), so KneeDriver and KneeSearch run
without a server or Locust.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from irkit.load.windows import TICK_S


@dataclass
class SimServer:
    slots: int = 4
    service_ms: float = 20.0
    overhead_ms: float = 1.0  # the client's turn-around between an answer and its next request
    noise: float = 0.02  # relative sd of each tick's throughput
    errors_from: int | None = None  # from this many users on, every request fails
    seed: int = 1
    rng: random.Random = field(init=False)
    measured: list[int] = field(default_factory=list)  # users of every level driven, in order

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def capacity_rps(self) -> float:
        return self.slots / (self.service_ms / 1000.0)

    def rps(self, users: int) -> float:
        return min(users / ((self.service_ms + self.overhead_ms) / 1000.0), self.capacity_rps)

    def latency_ms(self, users: int) -> float:
        return max(self.service_ms, users / self.rps(users) * 1000.0 - self.overhead_ms)

    def ticks(self, users: int, level: int, start_s: float, seconds: float) -> list[dict]:
        out = []
        n = int(round(seconds / TICK_S))
        for k in range(n):
            begin = start_s + k * TICK_S
            rate = self.rps(users) * (1 + self.rng.gauss(0, self.noise))
            requests = max(0, int(round(rate * TICK_S)))
            latency = self.latency_ms(users)
            failing = self.errors_from is not None and users >= self.errors_from
            out.append({"tick": int(round(begin / TICK_S)), "start_s": begin, "duration_s": TICK_S,
                        "users": users, "level": level, "settled": k > 0,  # the first tick ramps
                        "requests": requests, "errors": requests if failing else 0,
                        "last_done_s": begin + TICK_S * (requests / max(rate * TICK_S, 1e-9)) - 1e-4,
                        "p50_ms": None if failing else latency, "p95_ms": None if failing else latency * 1.1,
                        "p99_ms": None if failing else latency * 1.2, "within_threshold": 0 if failing else requests,
                        "generator_cpu": 10.0})
        return out
