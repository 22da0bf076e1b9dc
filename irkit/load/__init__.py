"""The load engine both backends use.

``generator`` (run_load: Locust in a subprocess, steps streamed back), ``drive`` (drive_load: one
config's load test and its plateau), ``knee`` (where throughput levels off: MaxInvocations and ModelLatency), ``hdr`` (exact latencies
per step), ``model_tally`` (per-target tallies), ``describe`` (the DescribeInferenceRecommendationsJob
writer), ``replay`` (trace replay). Locust side, run only inside Locust and never imported by irkit:
``locustfile`` (HTTP users) and ``locust_timeline`` (what both locustfiles share). Imports no backend.
"""
