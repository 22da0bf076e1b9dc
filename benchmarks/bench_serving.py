"""Serving efficiency: what the local model server delivers against the model called in-process.

Efficiency = served img/s (8 concurrent clients, dynamic batching on, max batch 8) divided by
in-process ``tf.function`` img/s at batch 8, on the same SavedModel (ResNet50, random weights), in
the same run. Measured for ``application/x-npy`` and for the IR example's JSON (a bare nested list
of a preprocessed 224x224x3 image, ~3 MB). Also batch-1 latency through the server (batching off,
one client) against in-process. Goals: >= 0.85 with npy, >= 0.70 with JSON.

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--duration 30] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

GOALS = {"npy": 0.85, "json": 0.70}
CLIENTS = 8
BATCH = 8
BATCHING_ENV = {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": str(BATCH),
                "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "20000", "SAGEMAKER_TFS_NUM_BATCH_THREADS": "1"}


def export_resnet50(workdir: Path) -> Path:
    """``workdir/resnet50/1`` with random weights (nothing is downloaded); reused when present."""
    root = workdir / "resnet50"
    if (root / "1" / "saved_model.pb").is_file():
        return root
    import keras

    from irkit.package.build import export_savedmodel

    model = keras.applications.ResNet50(weights=None)
    export_savedmodel(model, root, version=1)
    return root


def request_bodies(seed: int = 0) -> dict[str, tuple[bytes, str]]:
    """One preprocessed image as npy and as the IR example's JSON (full-precision floats)."""
    from irkit.serve.decode import resnet50_preprocess

    pixels = np.random.default_rng(seed).integers(0, 256, size=(1, 224, 224, 3)).astype(np.float32)
    image = resnet50_preprocess(pixels).astype(np.float32)
    image += np.random.default_rng(seed + 1).uniform(0, 1, size=image.shape).astype(np.float32)  # non-round digits
    buffer = io.BytesIO()
    np.save(buffer, image)
    return {"npy": (buffer.getvalue(), "application/x-npy"),
            "json": (json.dumps(image.tolist()).encode(), "application/json")}


def in_process(savedmodel: Path, seconds: float) -> dict[str, float]:
    """img/s at batch 8 and batch-1 latency (median ms) calling the signature in this process."""
    from irkit.serve.modelhost import ModelHost, find_savedmodel

    host = ModelHost(find_savedmodel(savedmodel))
    batch8 = np.random.default_rng(2).normal(size=(BATCH, 224, 224, 3)).astype(np.float32)
    one = batch8[:1].copy()
    for _ in range(2):
        host.predict(batch8)
        host.predict(one)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or calls < 3:
        host.predict(batch8)
        calls += 1
    img_s = calls * BATCH / (time.perf_counter() - started)
    latencies = []
    for _ in range(max(5, int(seconds))):
        t0 = time.perf_counter()
        host.predict(one)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"img_s": img_s, "latency_ms": statistics.median(latencies)}


def connect(url: str) -> http.client.HTTPConnection:
    """A keep-alive connection with TCP_NODELAY, as urllib3 (Locust) sets it: http.client sends the
    headers and a large body in two writes, and Nagle + delayed ACK would add ~40 ms to each call."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def closed_loop(url: str, body: bytes, content_type: str, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads sending back to back on keep-alive connections; completions in the window."""
    start_at = time.perf_counter() + 1.0 + 0.5 * clients  # warm-up: every client sends before the window
    end_at = start_at + seconds
    done: list[tuple[float, int]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = connect(url)
        try:
            while time.perf_counter() < end_at:
                conn.request("POST", "/invocations", body=body, headers={"Content-Type": content_type})
                response = conn.getresponse()
                response.read()
                finished = time.perf_counter()
                with lock:
                    if response.status != 200:
                        errors.append(str(response.status))
                    elif start_at <= finished <= end_at:
                        done.append((finished, int(response.getheader("X-Irkit-Batch-Rows") or 1)))
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return {"img_s": len(done) / seconds, "mean_batch": statistics.mean(r for _, r in done) if done else 0.0}


def latency_via_server(url: str, body: bytes, content_type: str, count: int) -> float:
    conn = connect(url)
    times = []
    try:
        for i in range(count + 2):
            t0 = time.perf_counter()
            conn.request("POST", "/invocations", body=body, headers={"Content-Type": content_type})
            conn.getresponse().read()
            if i >= 2:
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    return statistics.median(times)


def measure(savedmodel: Path, seconds: float, latency_count: int) -> dict[str, Any]:
    from irkit.serve.process import ServerProcess

    bodies = request_bodies()
    before = in_process(savedmodel, seconds)
    served: dict[str, dict[str, float]] = {}
    with ServerProcess(savedmodel, env=BATCHING_ENV) as server:
        for kind, (body, content_type) in bodies.items():
            served[kind] = closed_loop(server.url, body, content_type, CLIENTS, seconds)
            served[kind]["server_cpu"] = server.usage().cpu_percent
    with ServerProcess(savedmodel) as server:  # batching off: batch-1 latency has no batch timeout in it
        for kind, (body, content_type) in bodies.items():
            served[kind]["latency_ms"] = latency_via_server(server.url, body, content_type, latency_count)
    after = in_process(savedmodel, seconds)
    reference = (before["img_s"] + after["img_s"]) / 2
    latency = (before["latency_ms"] + after["latency_ms"]) / 2
    rows = {}
    for kind, figures in served.items():
        rows[kind] = {
            "body_bytes": len(bodies[kind][0]),
            "served_img_s": round(figures["img_s"], 2),
            "in_process_img_s": round(reference, 2),
            "efficiency": round(figures["img_s"] / reference, 3),
            "goal": GOALS[kind],
            "mean_batch": round(figures["mean_batch"], 2),
            "server_cpu_percent": figures["server_cpu"],
            "server_latency_ms": round(figures["latency_ms"], 1),
            "in_process_latency_ms": round(latency, 1),
        }
    return {"in_process_img_s_before_after": [round(before["img_s"], 2), round(after["img_s"], 2)],
            "seconds_per_window": seconds, "clients": CLIENTS, "batching_env": BATCHING_ENV, "rows": rows}


def table(result: dict[str, Any]) -> str:
    lines = ["| body | size | served img/s | in-process img/s (b=8) | efficiency | goal | mean batch | "
             "batch-1 ms server | batch-1 ms in-process |", "|---|---|---|---|---|---|---|---|---|"]
    for kind, row in result["rows"].items():
        mark = "ok" if row["efficiency"] >= row["goal"] else "below"
        lines.append(f"| {kind} | {row['body_bytes'] / 1e6:.2f} MB | {row['served_img_s']:.2f} | "
                     f"{row['in_process_img_s']:.2f} | {row['efficiency']:.2f} | >= {row['goal']:.2f} ({mark}) | "
                     f"{row['mean_batch']:.1f} | {row['server_latency_ms']:.1f} | {row['in_process_latency_ms']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows (smoke check)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measurement window (default 30)")
    parser.add_argument("--workdir", help="keep the exported ResNet50 here (default: a temporary folder)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    seconds = args.duration or (8.0 if args.quick else 30.0)
    with tempfile.TemporaryDirectory(prefix="irkit-bench-serving-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        savedmodel = export_resnet50(workdir)
        result = measure(savedmodel, seconds, latency_count=5 if args.quick else 20)
    print(table(result))
    print(f"\nin-process img/s before/after the server runs: {result['in_process_img_s_before_after']}; "
          f"{CLIENTS} clients, {seconds:.0f} s windows, env {BATCHING_ENV}", flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
