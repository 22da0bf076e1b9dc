"""Serving efficiency per runtime: what the local model server delivers against the model called in-process.

Efficiency = served img/s (8 concurrent clients, dynamic batching on, max batch 8) divided by
in-process img/s at batch 8 with the same runtime (``IRKIT_RUNTIME`` / ``IRKIT_PRECISION``: TensorFlow's
signature, or OpenVINO's compiled IR at fp32 and at bf16 where the CPU has it), on the same SavedModel
(ResNet50, random weights), in the same run. Measured for ``application/x-npy`` and for the IR example's
JSON (a bare nested list of a preprocessed 224x224x3 image, ~3 MB). Also batch-1 latency through the
server (batching off, one client) against in-process. Goals, for every runtime: >= 0.90 with npy,
>= 0.80 with JSON (the faster the runtime, the more the server's own work shows).

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--duration 30] [--workdir DIR]
        [--runtimes tensorflow,openvino,openvino-bf16] [--savedmodel DIR (a smaller model, for a smoke run)]
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

GOALS = {"npy": 0.90, "json": 0.80}
CLIENTS = 8
BATCH = 8
BATCHING_ENV = {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": str(BATCH),
                "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "20000", "SAGEMAKER_TFS_NUM_BATCH_THREADS": "1"}
# name -> the env the server gets (and the in-process host is built from)
RUNTIMES = {"tensorflow": {"IRKIT_RUNTIME": "tensorflow"},
            "openvino": {"IRKIT_RUNTIME": "openvino", "IRKIT_PRECISION": "fp32"},
            "openvino-bf16": {"IRKIT_RUNTIME": "openvino", "IRKIT_PRECISION": "bf16"}}


def default_runtimes() -> list[str]:
    from irkit.spec.runtimes import bf16_supported

    return [name for name in RUNTIMES if name != "openvino-bf16" or bf16_supported()]


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


def request_bodies(seed: int = 0, shape: tuple[int, ...] = (224, 224, 3)) -> dict[str, tuple[bytes, str]]:
    """One preprocessed image as npy and as the IR example's JSON (full-precision floats)."""
    from irkit.serve.decode import resnet50_preprocess

    pixels = np.random.default_rng(seed).integers(0, 256, size=(1, *shape)).astype(np.float32)
    image = resnet50_preprocess(pixels).astype(np.float32)
    image += np.random.default_rng(seed + 1).uniform(0, 1, size=image.shape).astype(np.float32)  # non-round digits
    buffer = io.BytesIO()
    np.save(buffer, image)
    return {"npy": (buffer.getvalue(), "application/x-npy"),
            "json": (json.dumps(image.tolist()).encode(), "application/json")}


def load_host(savedmodel: Path, runtime: str) -> Any:
    """The runtime's model in this process, built as the server builds it (same settings from the env)."""
    from irkit.serve.modelhost import find_savedmodel
    from irkit.serve.runtimes import load_host as host_for
    from irkit.serve.settings import ServerSettings

    return host_for(find_savedmodel(savedmodel), ServerSettings.from_env(RUNTIMES[runtime]))


def in_process(host: Any, seconds: float) -> dict[str, float]:
    """img/s at batch 8 and batch-1 latency (median ms) calling the model in this process."""
    dims = tuple(host.input_shape[1:]) if len(host.input_shape) == 4 else (224, 224, 3)
    batch8 = np.random.default_rng(2).normal(size=(BATCH, *dims)).astype(np.float32)
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


def measure_runtime(savedmodel: Path, runtime: str, bodies: dict[str, tuple[bytes, str]], seconds: float,
                    latency_count: int) -> dict[str, Any]:
    """One runtime's rows: in-process before and after, then served with batching on and off."""
    from irkit.serve.process import ServerProcess

    host = load_host(savedmodel, runtime)
    before = in_process(host, seconds)
    served: dict[str, dict[str, float]] = {}
    env = {**BATCHING_ENV, **RUNTIMES[runtime]}
    with ServerProcess(savedmodel, env=env) as server:
        for kind, (body, content_type) in bodies.items():
            served[kind] = closed_loop(server.url, body, content_type, CLIENTS, seconds)
            served[kind]["server_cpu"] = server.usage().cpu_percent
    with ServerProcess(savedmodel, env=RUNTIMES[runtime]) as server:  # batching off: no batch timeout in it
        for kind, (body, content_type) in bodies.items():
            served[kind]["latency_ms"] = latency_via_server(server.url, body, content_type, latency_count)
    after = in_process(host, seconds)
    del host
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
    return {"in_process_img_s_before_after": [round(before["img_s"], 2), round(after["img_s"], 2)], "rows": rows}


def measure(savedmodel: Path, seconds: float, latency_count: int, runtimes: list[str] | None = None) -> dict[str, Any]:
    from irkit.serve.modelhost import find_savedmodel
    from irkit.serve.runtimes import load_host as host_for
    from irkit.serve.settings import ServerSettings

    shape = host_for(find_savedmodel(savedmodel), ServerSettings.from_env(RUNTIMES["openvino"])).input_shape
    bodies = request_bodies(shape=tuple(shape[1:]) if len(shape) == 4 else (224, 224, 3))
    per_runtime = {name: measure_runtime(savedmodel, name, bodies, seconds, latency_count)
                   for name in runtimes or default_runtimes()}
    tf = per_runtime.get("tensorflow")
    speedups = {}
    if tf:  # each runtime's served and in-process img/s against TensorFlow's, in this run
        for name, figures in per_runtime.items():
            speedups[name] = {kind: {"served": round(row["served_img_s"] / tf["rows"][kind]["served_img_s"], 2),
                                     "in_process": round(row["in_process_img_s"] / tf["rows"][kind]["in_process_img_s"], 2)}
                              for kind, row in figures["rows"].items()}
    return {"seconds_per_window": seconds, "clients": CLIENTS, "batching_env": BATCHING_ENV,
            "runtimes": per_runtime, "vs_tensorflow": speedups,
            # the first runtime's rows under the old key, so earlier readers of the figures keep working
            "rows": next(iter(per_runtime.values()))["rows"]}


def table(result: dict[str, Any]) -> str:
    lines = ["| runtime | body | size | served img/s | in-process img/s (b=8) | efficiency | goal | mean batch | "
             "batch-1 ms server | batch-1 ms in-process | served vs TF | in-process vs TF |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, figures in result["runtimes"].items():
        for kind, row in figures["rows"].items():
            mark = "ok" if row["efficiency"] >= row["goal"] else "below"
            vs = result.get("vs_tensorflow", {}).get(name, {}).get(kind, {})
            lines.append(f"| {name} | {kind} | {row['body_bytes'] / 1e6:.2f} MB | {row['served_img_s']:.2f} | "
                         f"{row['in_process_img_s']:.2f} | {row['efficiency']:.2f} | >= {row['goal']:.2f} ({mark}) | "
                         f"{row['mean_batch']:.1f} | {row['server_latency_ms']:.1f} | {row['in_process_latency_ms']:.1f} | "
                         f"{vs.get('served', '-')}x | {vs.get('in_process', '-')}x |")
    return "\n".join(lines)


def report(result: dict[str, Any]) -> str:
    """The markdown table run.py records."""
    return table(result)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows (smoke check)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measurement window (default 30)")
    parser.add_argument("--workdir", help="keep the exported ResNet50 here (default: a temporary folder)")
    parser.add_argument("--runtimes", help=f"comma list of {', '.join(RUNTIMES)} (default: all this CPU runs)")
    parser.add_argument("--savedmodel", help="measure this SavedModel folder instead of ResNet50 (a smoke run "
                                             "with a small model)")
    args = parser.parse_args(argv)
    runtimes = [r.strip() for r in args.runtimes.split(",")] if args.runtimes else None
    unknown = sorted(set(runtimes or ()) - set(RUNTIMES))
    if unknown:
        parser.error(f"--runtimes: unknown {unknown}; choose from {list(RUNTIMES)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    seconds = args.duration or (8.0 if args.quick else 30.0)
    with tempfile.TemporaryDirectory(prefix="irkit-bench-serving-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        savedmodel = Path(args.savedmodel) if args.savedmodel else export_resnet50(workdir)
        result = measure(savedmodel, seconds, latency_count=5 if args.quick else 20, runtimes=runtimes)
    print(table(result))
    before_after = {name: f["in_process_img_s_before_after"] for name, f in result["runtimes"].items()}
    print(f"\nin-process img/s before/after the server runs: {before_after}; "
          f"{CLIENTS} clients, {seconds:.0f} s windows, env {BATCHING_ENV}", flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
