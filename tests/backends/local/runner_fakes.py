"""Fakes for the runner's injected parts: a server (a real HTTP server on 127.0.0.1) and a load generator."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status = 200 if self.server.accept else 400  # type: ignore[attr-defined]
        body = b'{"predictions": [[0.1]]}' if status == 200 else b'{"error": "bad payload"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class FakeServer:
    """Records how it was started; answers the pre-flight request."""

    instances: list[FakeServer] = []

    def __init__(self, model_path, port=0, env=None, cpus=None, log_path=None, accept=True):
        self.model_path, self.env, self.cpus, self.accept = model_path, env, cpus, accept
        self.started = self.stopped = False
        self.setup_time_s = 0.25
        FakeServer.instances.append(self)

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.accept = self.accept
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.started = True
        return self

    def usage(self):
        return {"cpu_percent": 42.0 * len(self.cpus or [1]), "memory_percent": 3.5}

    def stop(self):
        if self.started and not self.stopped:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.stopped = True


def capacity_load(capacity_rps=50.0, rps_per_user=20.0, base_ms=20.0, step_s=0.0):
    """A load_fn over a server of fixed capacity: rps grows with users until it levels at capacity."""
    calls = []

    def run_load(url, payload_path, content_type, traffic, *, latency_threshold_ms=None, percentile="P95",
                 open_loop=None, workers=1, on_step=None, stop_event=None, max_seconds=None, **kw):
        calls.append({"url": url, "payload_path": payload_path, "content_type": content_type, "traffic": traffic,
                      "workers": workers, "max_seconds": max_seconds, "knee": kw.get("knee"), "cpus": kw.get("cpus")})
        knee = kw.get("knee")
        steps = []
        users = 1 if knee is not None else traffic.stairs.users_per_step
        duration = 2.0 if knee is not None else traffic.stairs.duration_in_seconds
        while users is not None:
            if stop_event is not None and stop_event.is_set():
                break
            rps = min(users * rps_per_user, capacity_rps)
            latency = base_ms * max(1.0, users * rps_per_user / capacity_rps)
            step = {"step": len(steps), "users": users, "start_s": len(steps) * duration,
                    "duration_s": duration, "requests": int(rps * 10), "errors": 0,
                    "rps": rps, "p50_ms": latency * 0.8, "p90_ms": latency * 0.95, "p95_ms": latency,
                    "p99_ms": latency * 1.1, "max_ms": latency * 1.3, "goodput_rps": rps, "generator_cpu": 5.0,
                    "windows": [{"rps": rps * f, "p50_ms": latency * 0.8} for f in (0.99, 1.0, 1.01)], "stable": True}
            steps.append(step)
            if on_step is not None:
                on_step(step)
            if step_s:
                time.sleep(step_s)
            if knee is not None:
                users = knee.next_users(steps)
            else:
                k = len(steps) + 1
                users = k * traffic.stairs.users_per_step if k <= traffic.stairs.number_of_steps else None
        return SimpleNamespace(steps=steps, warnings=[], mode="closed")

    run_load.calls = calls
    return run_load


# Module-level plug-ins for the background job process (IRKIT_LOCAL_LOAD_FN=runner_fakes:slow_load).
slow_load = capacity_load(step_s=0.4)
