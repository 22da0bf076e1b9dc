"""Payload decoding and env knobs, without a server: the fast JSON path agrees with the slow one."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from irkit.errors import BackendError, PayloadError
from irkit.serve import decode
from irkit.serve.settings import ServerSettings

pytestmark = pytest.mark.fast  # pure: no server, Locust or kernel


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("shape", [(1,), (3,), (2, 3), (1, 4, 5, 3), (2, 1, 1, 1)])
def test_fast_json_path_reads_shape_and_values(shape):
    array = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    body = json.dumps(array.tolist()).encode()
    fast = decode._fast_json(body)
    assert fast is not None and fast.shape == shape
    np.testing.assert_allclose(fast, array, rtol=1e-6)
    wrapped = decode.decode_json(json.dumps({"instances": array.tolist()}).encode())
    np.testing.assert_allclose(wrapped, array, rtol=1e-6)


@pytest.mark.parametrize("body", [b"[[1,2],[3]]", b"[[1,2],[3],[4,5,6]]", b"[[1,2],3]", b"[[[1,2]],[3,4]]",
                                  b"[[1],[],[2]]"])
def test_ragged_lists_are_refused_by_both_paths(body):
    assert decode._fast_json(body) is None
    with pytest.raises(PayloadError, match="rectangular"):
        decode.decode_json(body)


@pytest.mark.parametrize("body, words", [
    (b"", "empty"), (b"   ", "empty"), (b"[1,2", "not valid JSON"), (b"[NaN]", "not valid JSON"),
    (b"[1e400]", "not valid JSON"), (b"[[1,\"2\"]]", "numbers"), (b"[true, false]", "booleans"),
    (b"[]", "empty"), (b"[[]]", "empty"), (b"5", "list of instances"), (b"{\"x\": [1]}", "unknown keys"),
    (b"{\"instances\": [1], \"inputs\": [1]}", "exactly one"), (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    (b"[[1, null]]", "rectangular|numbers"), (b"[{\"a\": 1}]", "numbers"),
])
def test_bad_json_is_a_payload_error(body, words):
    with pytest.raises(PayloadError, match=words) as info:
        decode.decode_json(body)
    assert info.value.status == 400


def test_named_inputs_and_content_type_parameters():
    array = decode.decode(b'{"inputs": {"input_1": [[1, 2]]}}', "application/json; charset=utf-8")
    assert array.tolist() == [[1.0, 2.0]]
    with pytest.raises(PayloadError) as info:
        decode.decode(b"1,2", "text/csv")
    assert info.value.status == 415


def test_npy_refuses_pickles_and_non_numbers():
    assert decode.decode_npy(npy_bytes(np.ones((2, 3), np.float32))).shape == (2, 3)
    with pytest.raises(PayloadError, match="refused"):
        decode.decode_npy(npy_bytes(np.array([{"a": 1}], dtype=object)))
    with pytest.raises(PayloadError, match="finite"):
        decode.decode_npy(npy_bytes(np.array([[np.nan, 1.0]])))
    with pytest.raises(PayloadError, match="x-npy body (refused|is not a readable)"):
        decode.decode_npy(b"\x93NUMPY garbage")


def test_images_are_resized_and_preprocessed():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (255, 0, 0)).save(buffer, format="PNG")
    batch = decode.decode(buffer.getvalue(), "image/png", (8, 6))
    assert batch.shape == (1, 8, 6, 3)
    np.testing.assert_allclose(batch[0, 0, 0], [0 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-5)
    scaled = decode.decode_image(buffer.getvalue(), (8, 6), decode.image_preprocessor("scale"))
    assert scaled.max() == pytest.approx(1.0)
    with pytest.raises(PayloadError, match="cannot be decoded"):
        decode.decode(b"\xff\xd8\xff not a jpeg", "image/jpeg")
    with pytest.raises(ValueError, match="IRKIT_IMAGE_PREPROCESS"):
        decode.image_preprocessor("nope")


def test_env_knobs_use_the_container_names():
    settings = ServerSettings.from_env({"SAGEMAKER_TFS_ENABLE_BATCHING": "true", "SAGEMAKER_TFS_MAX_BATCH_SIZE": "4",
                                        "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS": "2000", "SAGEMAKER_GUNICORN_WORKERS": "3",
                                        "SAGEMAKER_TFS_INTRA_OP_PARALLELISM": "2", "TF_NUM_INTEROP_THREADS": "1"})
    assert (settings.enable_batching, settings.max_batch_size, settings.batch_timeout_micros) == (True, 4, 2000)
    assert (settings.workers, settings.intra_op_threads, settings.inter_op_threads) == (3, 2, 1)
    assert settings.thread_env() == {"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "1"}
    assert ServerSettings.from_env({}).enable_batching is False
    with pytest.raises(BackendError, match="SAGEMAKER_TFS_MAX_BATCH_SIZE"):
        ServerSettings.from_env({"SAGEMAKER_TFS_MAX_BATCH_SIZE": "0"})
    with pytest.raises(BackendError, match="SAGEMAKER_TFS_ENABLE_BATCHING"):
        ServerSettings.from_env({"SAGEMAKER_TFS_ENABLE_BATCHING": "maybe"})
