"""A real multi-container endpoint: two model server processes behind the router, via ServerProcess."""

from __future__ import annotations

import psutil
import pytest
from mme_helpers import Client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_containers(tiny_model_tarball, tiny_savedmodel):
    from irkit.serve.process import ServerProcess

    server = ServerProcess(None, containers={"alpha": tiny_model_tarball, "beta": tiny_savedmodel})
    server.start(timeout=150)
    try:
        yield server, Client(server.url)
    finally:
        server.stop()


def test_each_hostname_reaches_its_own_server_process(two_containers):
    server, client = two_containers
    workers = {}
    for hostname in ["alpha", "beta", "alpha", "beta"]:
        status, headers, body = client.invoke(container=hostname)
        assert status == 200 and len(body["predictions"][0]) == 1000
        assert headers["x-irkit-container"] == hostname
        workers.setdefault(hostname, set()).add(headers["x-irkit-worker"])
    assert len(workers["alpha"]) == len(workers["beta"]) == 1
    assert workers["alpha"] != workers["beta"]  # two processes
    tree = {p.pid for p in server.processes()}
    assert {int(w) for ws in workers.values() for w in ws} <= tree  # both are children of the endpoint
    listing = {c["hostname"]: c for c in client.request("GET", "/containers")[2]["containers"]}
    assert listing["alpha"]["requests"] >= 2 and listing["beta"]["requests"] >= 2
    assert listing["alpha"]["model"].endswith("model.tar.gz")


def test_routing_errors_and_bad_input_keep_the_endpoint_up(two_containers):
    _, client = two_containers
    status, _, body = client.invoke()
    assert status == 400 and "alpha" in body["error"] and "beta" in body["error"]
    status, _, body = client.invoke(container="nosuch")
    assert status == 404 and "'nosuch'" in body["error"]
    status, headers, body = client.invoke(container="beta", body=b"{broken")
    assert status == 400 and headers["x-irkit-container"] == "beta" and body["error"]
    assert client.invoke(container="beta")[0] == 200


def test_stop_reaps_the_router_and_every_container(tiny_model_tarball):
    from irkit.serve.process import ServerProcess

    server = ServerProcess(None, containers={"one": tiny_model_tarball})
    server.start(timeout=150)
    try:
        assert Client(server.url).invoke()[0] == 200  # one container: no header needed
        tree = server.processes()
        assert len(tree) >= 2  # the router and its container
    finally:
        server.stop()
    gone, alive = psutil.wait_procs(tree, timeout=5)
    assert alive == []


def test_containers_exit_when_their_router_is_killed(tiny_model_tarball):
    import os
    import signal

    from irkit.serve.process import ServerProcess

    server = ServerProcess(None, containers={"one": tiny_model_tarball})
    server.start(timeout=150)
    try:
        router = server.process.pid
        containers = [p for p in server.processes() if p.pid != router]
        assert containers
        os.kill(router, signal.SIGKILL)  # no chance to stop its containers itself
        gone, alive = psutil.wait_procs(containers, timeout=15)
        assert alive == []
    finally:
        server.stop()
