"""The multi-container front router over fake containers (stdlib HTTP servers): no TensorFlow needed."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mme_helpers import Client

from irkit.errors import SpecError
from irkit.serve.containers import create_router_app, parse_container_specs


class FakeContainer:
    """Answers POST with what it received; closes the connection after every ``close_every``-th answer."""

    def __init__(self, name: str, status: int = 200, close_every: int = 2) -> None:
        self.name, self.status, self.seen, self.close_every = name, status, [], close_every
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                data = json.dumps({"container": fake.name, "bytes": len(body)}).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Irkit-Model-Cache", "hit")
                self.send_header("X-Other", "dropped")
                if len(fake.seen) % fake.close_every == 0:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_app(app):
    """Serve an ASGI app on 127.0.0.1 in a thread; returns (url, stop)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


@pytest.fixture
def router():
    fakes = {"alpha": FakeContainer("alpha"), "beta": FakeContainer("beta", status=422)}
    url, stop = run_app(create_router_app({n: f.url for n, f in fakes.items()}, {"alpha": "a.tar.gz"}))
    yield Client(url), fakes
    stop()
    for fake in fakes.values():
        fake.close()


def test_routes_by_hostname_and_forwards_body_and_sagemaker_headers(router):
    client, fakes = router
    for i in range(5):  # the fake closes every second connection: the router reconnects
        status, headers, body = client.invoke(container="alpha", model="m.tar.gz", body=b"[1, 2, 3]")
        assert (status, body) == (200, {"container": "alpha", "bytes": 9}), i
        assert headers["x-irkit-container"] == "alpha" and headers["x-irkit-model-cache"] == "hit"
        assert "x-other" not in headers
    path, sent, data = fakes["alpha"].seen[-1]
    assert path == "/invocations" and data == b"[1, 2, 3]"
    assert sent["x-amzn-sagemaker-target-model"] == "m.tar.gz" and sent["content-type"] == "application/json"
    assert fakes["beta"].seen == []
    status, headers, body = client.invoke(container="beta")
    assert status == 422 and body["container"] == "beta"  # the container's own status passes through
    listing = client.request("GET", "/containers")[2]["containers"]
    assert [(c["hostname"], c["model"], c["requests"]) for c in listing] == [("alpha", "a.tar.gz", 5),
                                                                           ("beta", "", 1)]


def test_missing_header_with_several_containers_is_400_and_unknown_is_404(router):
    client, fakes = router
    status, _, body = client.invoke()
    assert status == 400 and "X-Amzn-SageMaker-Target-Container-Hostname" in body["error"]
    status, _, body = client.invoke(container="gamma")
    assert status == 404 and "'gamma'" in body["error"] and "alpha" in body["error"]
    assert fakes["alpha"].seen == [] and fakes["beta"].seen == []


def test_body_over_6_mb_is_413_without_forwarding(router):
    client, fakes = router
    status, _, body = client.invoke(container="alpha", body=b"0" * (6 * 1024 * 1024 + 1))
    assert status == 413 and fakes["alpha"].seen == []


def test_one_container_needs_no_header_and_a_dead_one_is_502():
    fake = FakeContainer("solo", close_every=1)  # so a closed server means refused connections
    url, stop = run_app(create_router_app({"solo": fake.url}))
    try:
        client = Client(url)
        assert client.invoke()[2]["container"] == "solo"
        fake.close()
        status, headers, body = client.invoke()
        assert status == 502 and "'solo'" in body["error"] and headers["x-irkit-container"] == "solo"
        assert client.request("GET", "/ping")[0] == 200  # the router itself stays up
    finally:
        stop()


def test_container_specs_are_parsed_and_checked(tmp_path):
    model = tmp_path / "m.tar.gz"
    model.write_bytes(b"x")
    assert parse_container_specs([f"a={model}", f"b-2={model}"]) == {"a": model, "b-2": model}
    for bad, words in [("a", "HOST=MODEL"), (f"-a={model}", "hostname '-a'"), (f"a_b={model}", "'a_b'"),
                       ("a=missing.tar.gz", "does not exist")]:
        with pytest.raises(SpecError, match=words) as caught:
            parse_container_specs([bad])
        assert caught.value.field == "--container"
    with pytest.raises(SpecError, match="twice"):
        parse_container_specs([f"a={model}", f"a={model}"])
