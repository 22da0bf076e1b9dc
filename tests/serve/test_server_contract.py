"""The SageMaker container contract against a real server on 127.0.0.1, and every fuzz case:
each bad request gets a 4xx JSON error and the server still answers /ping afterwards."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
from server_helpers import image_body, instance_batch, json_list, npy_body

SIX_MB = 6 * 1024 * 1024


def test_ping_and_model_status(served):
    server, client = served
    assert server.url.startswith("http://127.0.0.1:")
    assert client.ping() == 200
    status, _, body = client.request("GET", "/v1/models/model")
    assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"


@pytest.mark.parametrize("form", ["bare", "instances", "inputs"])
def test_json_forms_give_the_same_predictions(served, form):
    _, client = served
    batch = instance_batch(2)
    doc = {"bare": json_list(batch), "instances": {"instances": json_list(batch)}, "inputs": {"inputs": json_list(batch)}}[form]
    status, headers, body = client.invoke(json.dumps(doc).encode())
    assert status == 200, body
    predictions = np.asarray(body["predictions"])
    assert predictions.shape == (2, 1000)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-4)  # softmax rows
    _, _, npy_answer = client.invoke(npy_body(batch), "application/x-npy")
    np.testing.assert_allclose(predictions, npy_answer["predictions"], rtol=1e-4, atol=1e-7)


def test_single_instance_without_batch_dimension(served):
    _, client = served
    status, _, body = client.invoke(npy_body(instance_batch(1)[0]), "application/x-npy")
    assert status == 200 and np.asarray(body["predictions"]).shape == (1, 1000)


@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_images_are_decoded_on_the_server(served, fmt, content_type):
    _, client = served
    status, _, body = client.invoke(image_body(fmt), content_type)
    assert status == 200, body
    assert np.asarray(body["predictions"]).shape == (1, 1000)


def test_tf_serving_alias(served):
    _, client = served
    batch = instance_batch(1, seed=3)
    _, _, direct = client.invoke(npy_body(batch), "application/x-npy")
    status, _, alias = client.invoke(json.dumps({"instances": json_list(batch)}).encode(),
                                     path="/v1/models/resnet50:predict")
    assert status == 200
    np.testing.assert_allclose(alias["predictions"], direct["predictions"], rtol=1e-4, atol=1e-7)


def _pickled_npy() -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


FUZZ = {
    "malformed json": (b"{not json", "application/json", 400),
    "truncated json": (json.dumps(instance_batch(1).tolist()).encode()[:5000], "application/json", 400),
    "wrong rank": (b"[[1, 2, 3]]", "application/json", 400),
    "wrong shape": (npy_body(np.zeros((1, 32, 32, 3), np.float32)), "application/x-npy", 400),
    "non numbers": (b'[["a", "b"]]', "application/json", 400),
    "nan in npy": (npy_body(np.full((1, 224, 224, 3), np.nan, np.float32)), "application/x-npy", 400),
    "infinity literal": (b"[Infinity]", "application/json", 400),
    "empty body": (b"", "application/json", 400),
    "empty batch": (b'{"instances": []}', "application/json", 400),
    "absurd nesting": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    "undecodable jpeg": (b"\xff\xd8\xff\xe0 definitely not a jpeg", "image/jpeg", 400),
    "undecodable png": (b"\x89PNG\r\n\x1a\n garbage", "image/png", 400),
    "pickled npy": (_pickled_npy(), "application/x-npy", 400),
    "string npy": (npy_body(np.array([["a"]])), "application/x-npy", 400),
    "unsupported type": (b"1,2,3", "text/csv", 415),
}


@pytest.mark.parametrize("case", sorted(FUZZ))
def test_bad_input_gets_a_json_4xx_and_the_server_stays_up(served, case):
    _, client = served
    body, content_type, expected = FUZZ[case]
    status, headers, answer = client.invoke(body, content_type)
    assert status == expected, answer
    assert headers.get("content-type", "").startswith("application/json")
    assert isinstance(answer.get("error"), str) and answer["error"]
    assert client.ping() == 200


@pytest.mark.parametrize("method, path, expected", [("GET", "/invocations", 405), ("PUT", "/ping", 405),
                                                    ("POST", "/nowhere", 404), ("GET", "/v1/models/m:predict", 405)])
def test_wrong_method_or_path(served, method, path, expected):
    _, client = served
    status, _, answer = client.request(method, path, b"[]" if method != "GET" else None)
    assert status == expected and "error" in answer
    assert client.ping() == 200


def _raw_exchange(url: str, head: bytes, chunks, read: bool = True) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer 413 and close before the whole body is sent
        if not read:
            return b""
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
        except ConnectionResetError:
            pass
        return data


def test_body_over_six_mb_by_content_length(served):
    server, client = served
    head = (f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {SIX_MB + 1}\r\n\r\n").encode()
    answer = _raw_exchange(server.url, head, [b"[" * 1000])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert client.ping() == 200


def test_body_over_six_mb_while_streaming(served):
    server, client = served
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b" " * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    answer = _raw_exchange(server.url, head, [chunk] * (SIX_MB // len(piece) + 4) + [b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert client.ping() == 200


def test_client_disconnecting_mid_body(served):
    server, client = served
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    for _ in range(3):
        _raw_exchange(server.url, head, [b"[[1, 2, 3"], read=False)
    assert client.ping() == 200
    status, _, _ = client.invoke(npy_body(instance_batch(1)), "application/x-npy")
    assert status == 200
