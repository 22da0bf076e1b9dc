"""ServerProcess for real: dynamic batching merges concurrent requests, workers > 1, CPU pinning,
usage sampling, no orphans after stop, start failures with the log's tail; preflight; irkit serve."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest
from helpers_files import write_tarball
from server_helpers import Client, instance_batch, npy_body

from irkit.errors import BackendError
from irkit.serve.preflight import preflight
from irkit.serve.process import ServerProcess

BATCHING = {"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": "8",
            "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "300000", "SAGEMAKER_TFS_NUM_BATCH_THREADS": "1"}


def test_batching_merges_concurrent_requests_and_splits_answers(tiny_savedmodel):
    bodies = [instance_batch(1 + i % 2, seed=i) for i in range(8)]  # 12 rows in 8 requests
    with ServerProcess(tiny_savedmodel, env=BATCHING) as server:
        client = Client(server.url)
        barrier = threading.Barrier(len(bodies))

        def send(batch):
            barrier.wait()
            return client.invoke(npy_body(batch), "application/x-npy")

        with ThreadPoolExecutor(len(bodies)) as pool:
            answers = list(pool.map(send, bodies))
        assert all(status == 200 for status, _, _ in answers)
        rows_per_call = [int(headers["x-irkit-batch-rows"]) for _, headers, _ in answers]
        assert max(rows_per_call) > 2  # some requests shared a model call
        _, _, stats = client.request("GET", "/stats")
        assert stats["batching"]["requests"] == 8 and stats["batching"]["rows"] == 12
        assert stats["batching"]["batches"] < 8 and stats["batching"]["largest_batch"] <= 8
        for batch, (_, _, answer) in zip(bodies, answers, strict=True):  # each got its own rows back
            _, _, alone = client.invoke(npy_body(batch), "application/x-npy")
            assert np.asarray(answer["predictions"]).shape == (batch.shape[0], 1000)
            np.testing.assert_allclose(answer["predictions"], alone["predictions"], rtol=1e-4, atol=1e-6)


def test_workers_are_pinned_and_share_the_socket_and_stop_leaves_no_orphans(tiny_savedmodel):
    cpu = sorted(psutil.Process().cpu_affinity())[0]
    server = ServerProcess(tiny_savedmodel, env={"SAGEMAKER_GUNICORN_WORKERS": "2"}, cpus=[cpu])
    with server:
        tree = server.processes()
        assert len(tree) >= 3  # supervisor + 2 workers
        assert all(proc.cpu_affinity() == [cpu] for proc in tree)
        client = Client(server.url)
        seen: set[str] = set()
        with ThreadPoolExecutor(8) as pool:
            for _ in range(10):
                answers = list(pool.map(lambda _: client.invoke(npy_body(instance_batch(1)), "application/x-npy"),
                                        range(8)))
                seen |= {headers["x-irkit-worker"] for _, headers, _ in answers}
                if len(seen) >= 2:
                    break
        assert len(seen) == 2, seen
        usage = server.usage(interval=0.3)
        assert 0 <= usage.cpu_percent <= 100 and usage.memory_percent > 0
        pids = [proc.pid for proc in server.processes()]
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert server.process.returncode is not None


def test_usage_sees_the_cpu_of_a_busy_server(served):
    server, client = served
    server.usage()  # start a new averaging window
    stop = threading.Event()

    def load():
        while not stop.is_set():
            client.invoke(npy_body(instance_batch(4)), "application/x-npy")

    thread = threading.Thread(target=load)
    thread.start()
    try:
        busy = server.usage(interval=1.0)
    finally:
        stop.set()
        thread.join()
    assert busy.cpu_percent > 1.0
    since_last = server.usage()
    assert since_last.cpu_percent >= 0


def test_usage_sees_another_process_on_the_servers_core(tiny_savedmodel):
    import subprocess
    import sys

    cpu = sorted(psutil.Process().cpu_affinity())[-1]
    with ServerProcess(tiny_savedmodel, cpus=[cpu]) as server:
        server.usage()
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            psutil.Process(hog.pid).cpu_affinity([cpu])
            usage = server.usage(interval=1.0)
        finally:
            hog.kill()
            hog.wait()
    assert usage.cores == 1 and usage.cpu_percent < 20  # the idle server itself
    assert usage.cores_busy_percent - usage.cpu_percent > 50  # the busy loop, seen on the server's core
    assert 0 <= usage.steal_percent <= 100


def test_stop_on_exception_inside_the_context(tiny_savedmodel):
    with pytest.raises(RuntimeError), ServerProcess(tiny_savedmodel) as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_a_server_that_dies_during_start_raises_with_its_log(tmp_path):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(BackendError, match="holds no saved_model.pb") as info:
        ServerProcess(empty).start(timeout=60)
    assert "exited with code" in str(info.value)


def test_a_bad_env_knob_is_named(tiny_savedmodel):
    with pytest.raises(BackendError, match="SAGEMAKER_TFS_MAX_BATCH_SIZE"):
        ServerProcess(tiny_savedmodel, env={"SAGEMAKER_TFS_MAX_BATCH_SIZE": "lots"}).start(timeout=60)



def test_preflight_checks_every_sample(tiny_model_tarball, resnet_payload_tarball):
    report = preflight(tiny_model_tarball, resnet_payload_tarball)
    assert report["setup_time_s"] > 0 and report["samples"]
    assert all(s["status"] == 200 and s["prediction_shape"] == [1, 1000] for s in report["samples"])


def test_preflight_names_the_failing_sample(tiny_savedmodel, tmp_path):
    payload = write_tarball(tmp_path / "payload.tar.gz", {
        "a-good.npy": npy_body(instance_batch(1)),
        "b-wrong.npy": npy_body(np.zeros((1, 10, 10, 3), np.float32)),
    })
    with pytest.raises(BackendError, match="b-wrong.npy"):
        preflight(tiny_savedmodel, payload)


def test_irkit_serve_reports_a_missing_model(tmp_path, capsys):
    from irkit.cli import main

    assert main(["serve", str(tmp_path / "missing.tar.gz"), "--port", "0"]) != 0
    assert "missing.tar.gz" in capsys.readouterr().err


def test_listening_socket_lets_asyncio_set_tcp_nodelay():
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; without it every answer
    waited ~40 ms for a delayed ACK."""
    import socket

    from irkit.serve.hosting import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
