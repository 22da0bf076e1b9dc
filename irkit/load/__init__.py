"""The load engine both backends use.

``generator`` (run_load: Locust in a subprocess, steps streamed back), ``locustfile`` (run only by
Locust, never imported), ``hdr`` (exact latencies per step), ``model_tally`` (per-target tallies),
``knee`` (where MaxInvocations is read), ``describe`` (the DescribeInferenceRecommendationsJob writer).
Imports no backend, and never locust.
"""
