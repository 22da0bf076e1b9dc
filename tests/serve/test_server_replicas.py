"""N replicas behind a round-robin router: the router over capacity servers, CPU blocks, and for real."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from server_helpers import Client, instance_batch, npy_body

from irkit.errors import SpecError
from irkit.serve.capacity import CapacityServer
from irkit.serve.main import check_mode
from irkit.serve.replicas import create_balancer_app, split_cpus


def run_app(app):
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


def test_round_robin_over_replicas_and_a_dead_one_is_502():
    first, second = CapacityServer(slots=2, service_ms=1).start(), CapacityServer(slots=2, service_ms=1).start()
    url, stop = run_app(create_balancer_app([first.url, second.url]))
    try:
        client = Client(url)
        answered = [client.invoke(b"[[1.0]]")[1]["x-irkit-replica"] for _ in range(6)]
        assert answered == ["0", "1", "0", "1", "0", "1"]
        assert (first.served, second.served) == (3, 3)
        listing = client.request("GET", "/replicas")[2]["replicas"]
        assert [(r["index"], r["requests"]) for r in listing] == [(0, 3), (1, 3)]
        assert client.request("GET", "/ping")[2] == {"status": "ok", "replicas": 2}
    finally:
        stop()
        first.stop()
        second.stop()


def test_a_replica_that_does_not_answer_is_502_naming_it():
    alive = CapacityServer(slots=1, service_ms=1).start()
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    url, stop = run_app(create_balancer_app([alive.url, dead]))
    try:
        client = Client(url)
        answers = [client.invoke(b"[[1.0]]") for _ in range(4)]
        assert [status for status, _, _ in answers] == [200, 502, 200, 502]
        assert "replica 1" in answers[1][2]["error"] and answers[1][1]["x-irkit-replica"] == "1"
    finally:
        stop()
        alive.stop()


def test_cpu_blocks_per_replica():
    assert split_cpus([0, 1], 2) == [[0], [1]]
    assert split_cpus([0, 1, 2, 3], 2) == [[0, 1], [2, 3]]
    assert split_cpus([0, 1, 2, 3], 2, per_replica=1) == [[0], [1]]
    with pytest.raises(SpecError) as err:
        split_cpus([0, 1], 3)
    assert err.value.field == "--replicas" and "2 are available" in str(err.value)
    with pytest.raises(SpecError, match="need 4 CPUs"):
        split_cpus([0, 1, 2], 2, per_replica=2)


def test_replicas_serve_one_model_only():
    args = argparse.Namespace(model="m.tar.gz", multi_model=None, container=["a=b"], replicas=2,
                              max_loaded=None, memory_mb=None)
    with pytest.raises(SpecError) as err:
        check_mode(args)
    assert err.value.field in ("--replicas", "model")
    single = argparse.Namespace(model="m.tar.gz", multi_model=None, container=[], replicas=2,
                                max_loaded=None, memory_mb=None)
    assert check_mode(single) == "replicas"


@pytest.mark.slow
@pytest.mark.skipif(len(psutil.Process().cpu_affinity()) < 2, reason="needs 2 CPUs")
def test_two_replicas_of_a_real_model_pinned_apart_and_reaped(tiny_savedmodel):
    from irkit.serve.process import ServerProcess

    cpus = sorted(psutil.Process().cpu_affinity())[:2]
    server = ServerProcess(tiny_savedmodel, cpus=cpus, replicas=2)
    with server:
        client = Client(server.url)
        body = npy_body(instance_batch(1))
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: client.invoke(body, "application/x-npy"), range(8)))
        assert {status for status, _, _ in answers} == {200}
        assert {headers["x-irkit-replica"] for _, headers, _ in answers} == {"0", "1"}
        servers = [p for p in server.processes() if "irkit.serve" in " ".join(p.cmdline())]
        affinities = sorted(tuple(p.cpu_affinity()) for p in servers if "--replicas" not in p.cmdline())
        assert [(cpus[0],), (cpus[1],)] == sorted(set(affinities))  # each replica on its own core
        pids = [p.pid for p in server.processes()]
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
