"""A tiny server of known capacity for tests and benchmarks: C slots x S ms, with an optional stall.

It speaks the SageMaker container contract's minimum (``GET /ping``, ``POST /invocations``) and
serves at most ``slots`` requests at once, each taking ``service_ms``; the rest queue. Saturated, it
does exactly ``slots / (service_ms / 1000)`` req/s, so a load generator can be checked against it.
With ``stall_at_s``/``stall_s``, every request in progress or arriving during
``[first request + stall_at_s, + stall_s)`` is held until the stall ends: a frozen server.

In-process: ``with CapacityServer(slots=4, service_ms=20) as server: server.url``.
Standalone: ``python -m irkit.serve.capacity --slots 4 --service-ms 20 --port 8080``.
Threads and ``time.sleep`` (nanosleep) keep the service time within ~0.1 ms; binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import heapq
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = json.dumps({"predictions": [[0.0]]}).encode()
MAX_BODY_BYTES = 6 * 1024 * 1024


class _Capacity:
    """C slots in virtual time: each request gets the slot that frees first, so thread jitter never
    shifts the schedule. A request arriving at t on a slot free at f is answered at max(t, f) + S;
    saturated, each slot starts its next request the instant the last one ends: exactly C/S req/s."""

    def __init__(self, slots: int, service_ms: float, stall_at_s: float | None, stall_s: float) -> None:
        if slots < 1 or service_ms < 0:
            raise ValueError("slots must be >= 1 and service_ms >= 0")
        self.free_at = [0.0] * slots  # a heap of the times each slot becomes free
        self.service_s = service_ms / 1000.0
        self.stall_at_s, self.stall_s = stall_at_s, stall_s
        self.first_request: float | None = None
        self.lock = threading.Lock()
        self.served = 0

    def serve(self, arrived: float) -> None:
        """Hold the calling thread until the scheduled answer time of a request that ``arrived`` then."""
        with self.lock:
            now = arrived
            if self.first_request is None:
                self.first_request = now
            start = max(now, heapq.heappop(self.free_at))
            finish = self._stalled(start, start + self.service_s)
            heapq.heappush(self.free_at, finish)
        delay = finish - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        with self.lock:
            self.served += 1

    def _stalled(self, start: float, finish: float) -> float:
        """The finish time once the stall window (if any) froze the server."""
        if self.stall_at_s is None or self.first_request is None or self.stall_s <= 0:
            return finish
        frozen_from = self.first_request + self.stall_at_s
        frozen_to = frozen_from + self.stall_s
        if frozen_from <= start < frozen_to:  # arrived during the stall: served after it
            return frozen_to + (finish - start)
        if start < frozen_from < finish:  # in progress when it began: frozen for its length
            return finish + self.stall_s
        return finish


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Locust's FastHttpUser expects
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms to every answer
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def parse_request(self) -> bool:
        self.arrived = time.perf_counter()  # service time counts from the request line, not after parsing
        return super().parse_request()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/ping":
            self._answer(200, b"{}")
        else:
            self._answer(404, b'{"error": "not found"}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._answer(413, b'{"error": "body over 6 MB"}')
            return
        self.rfile.read(length)
        if self.path != "/invocations":
            self._answer(404, b'{"error": "not found"}')
            return
        self.server.capacity.serve(self.arrived)
        self._answer(200, ANSWER)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    capacity: _Capacity

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a load generator being stopped) is normal here: stay quiet."""


class CapacityServer:
    """``slots`` x ``service_ms`` on 127.0.0.1 in a background thread; ``url`` once started."""

    def __init__(self, slots: int = 1, service_ms: float = 10.0, *, stall_at_s: float | None = None,
                 stall_s: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.capacity = _Capacity(slots, service_ms, stall_at_s, stall_s)
        self.slots, self.service_ms = slots, service_ms
        self.host, self.port = host, port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def capacity_rps(self) -> float:
        """Saturated throughput, req/s: slots / service time."""
        return self.slots / (self.service_ms / 1000.0)

    @property
    def served(self) -> int:
        return self.capacity.served

    def start(self) -> CapacityServer:
        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self._httpd.capacity = self.capacity
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="capacity-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> CapacityServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m irkit.serve.capacity",
                                     description="A server of known capacity: SLOTS x SERVICE_MS.")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--service-ms", type=float, default=10.0)
    parser.add_argument("--stall-at-s", type=float, default=None, help="seconds after the first request")
    parser.add_argument("--stall-s", type=float, default=0.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    server = CapacityServer(args.slots, args.service_ms, stall_at_s=args.stall_at_s, stall_s=args.stall_s,
                            host=args.host, port=args.port).start()
    print(f"capacity server: {args.slots} slots x {args.service_ms} ms at {server.url} "
          f"({server.capacity_rps:.1f} req/s saturated)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
