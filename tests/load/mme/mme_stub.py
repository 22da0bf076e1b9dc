"""A stub multi-model server for the Locust-side tests: SageMaker's routing header and irkit's cache headers.

``MmeStub(models, max_loaded, load_ms, service_ms)``: a request for a model not loaded waits
``load_ms`` (a cold load, LRU eviction past ``max_loaded``) and answers ``X-Irkit-Model-Cache: miss``
plus ``X-Irkit-Model-Load-Ms``; a loaded model answers ``hit`` after ``service_ms``. Unknown -> 404.
It counts what it answered per model, so the tests can compare the load generator's tallies with it.
Binds 127.0.0.1; one load at a time, as the real server does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TARGET = "X-Amzn-SageMaker-Target-Model"


class MmeStub:
    def __init__(self, models: list[str], max_loaded: int = 2, load_ms: float = 40.0, service_ms: float = 3.0,
                 broken: tuple[str, ...] = ()) -> None:
        self.models, self.max_loaded, self.broken = list(models), max_loaded, set(broken)
        self.load_s, self.service_s = load_ms / 1000.0, service_ms / 1000.0
        self.loaded: OrderedDict[str, None] = OrderedDict()
        self.lock = threading.Lock()
        self.load_lock = threading.Lock()
        self.answers: Counter[tuple[str, str]] = Counter()  # (model, hit|miss|error) -> count
        self.loads: Counter[str] = Counter()
        self.evictions: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(200, {"status": "ok"}, {})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body, headers = stub.invoke(self.headers.get(TARGET, ""))
                self._answer(status, body, headers)

            def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # Locust drops its connections at the end of a run

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def invoke(self, name: str) -> tuple[int, Any, dict[str, str]]:
        if name not in self.models:
            with self.lock:
                self.answers[(name, "error")] += 1
            return 404, {"error": f"model {name!r} not found"}, {}
        if name in self.broken:
            with self.lock:
                self.answers[(name, "error")] += 1
            return 500, {"error": f"model {name!r} failed to load"}, {"X-Irkit-Model-Cache": "miss"}
        headers = {"X-Irkit-Model-Cache": "hit"}
        with self.lock:
            hit = name in self.loaded
            if hit:
                self.loaded.move_to_end(name)
        if not hit:
            headers = {"X-Irkit-Model-Cache": "miss"}
            with self.load_lock:
                with self.lock:
                    loaded_meanwhile = name in self.loaded
                if not loaded_meanwhile:
                    started = time.perf_counter()
                    time.sleep(self.load_s)
                    with self.lock:
                        self.loaded[name] = None
                        self.loads[name] += 1
                        while len(self.loaded) > self.max_loaded:
                            self.evictions.append(self.loaded.popitem(last=False)[0])
                    headers["X-Irkit-Model-Load-Ms"] = f"{(time.perf_counter() - started) * 1000:.3f}"
        time.sleep(self.service_s)
        with self.lock:
            self.answers[(name, headers["X-Irkit-Model-Cache"])] += 1
        return 200, {"predictions": [[0.0]]}, headers

    def __enter__(self) -> MmeStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
