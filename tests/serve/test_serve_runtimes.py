"""IRKIT_RUNTIME=openvino serves the same model.tar.gz with the same contract, and stays close to
TensorFlow on a model trained in the test (tests/patch_model.py), so agreement means something."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from server_helpers import Client, npy_body

from irkit.errors import BackendError, PackagingError
from irkit.serve import fidelity, runtimes
from irkit.serve.modelhost import ModelHost, resolve_savedmodel
from irkit.serve.process import ServerProcess
from irkit.spec.runtimes import bf16_supported

pytestmark = pytest.mark.slow
needs_bf16 = pytest.mark.skipif(not bf16_supported(), reason="this CPU has no AVX512_BF16/AMX")


def _payload_rows(payload_tarball) -> np.ndarray:
    with tarfile.open(payload_tarball) as archive:
        return np.load(io.BytesIO(archive.extractfile("sample.npy").read()))


@pytest.fixture(scope="module")
def savedmodel(patch_model, tmp_path_factory):
    return resolve_savedmodel(patch_model[0], extract_to=tmp_path_factory.mktemp("patch-extracted"))


def test_the_model_learned_something(patch_model):
    assert patch_model[2] >= 0.6  # held-out accuracy over 8 classes (chance: 0.125)


def test_openvino_fp32_matches_tensorflow_in_process(patch_model, savedmodel, tmp_path):
    rows = _payload_rows(patch_model[1])
    tf_host = ModelHost(savedmodel)
    ov_host = runtimes.OpenVinoHost(savedmodel, precision="fp32", root=tmp_path)
    assert (ov_host.input_name, ov_host.input_shape, ov_host.input_dtype) == \
        (tf_host.input_name, tf_host.input_shape, tf_host.input_dtype)
    assert ov_host.output_names == tf_host.output_names
    ref = tf_host.predict(tf_host.check(rows))
    got = ov_host.predict(ov_host.check(rows))
    (name,) = ref
    assert got[name].shape == ref[name].shape
    assert np.max(np.abs(got[name] - ref[name])) < 1e-4
    result = fidelity.compare({"p": ref[name]}, {"p": got[name]})
    assert result["top1_agreement"] == 1.0 and result["cosine"] > 0.99999
    one = ov_host.check(rows[0])  # one instance without the batch axis, as ModelHost takes it
    assert ov_host.predict(one)[name].shape == (1, ref[name].shape[1])


@needs_bf16
def test_openvino_bf16_is_close_and_really_bf16(patch_model, savedmodel, tmp_path):
    rows = _payload_rows(patch_model[1])
    ref = ModelHost(savedmodel).predict(rows)
    host = runtimes.OpenVinoHost(savedmodel, precision="bf16", threads=1, root=tmp_path)
    assert host.inference_precision == "bf16" and host.threads == 1
    result = fidelity.compare(ref, host.predict(rows))
    assert result["top1_agreement"] >= 0.9 and result["top5_agreement"] == 1.0
    assert 0 < result["max_abs_diff"] < 0.1  # bf16 is not fp32: the answers differ a little
    fp32 = runtimes.OpenVinoHost(savedmodel, precision="fp32", root=tmp_path)
    assert fp32.inference_precision == "f32"  # set, not the CPU's own default (bf16 where it has it)


def test_ir_is_converted_once_per_model_hash(savedmodel, tmp_path, monkeypatch):
    import shutil

    import openvino

    first = runtimes.openvino_ir(savedmodel, root=tmp_path)
    copy = shutil.copytree(savedmodel, tmp_path / "copy")  # same files elsewhere: same hash, same IR

    def refuse(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(openvino, "convert_model", refuse)
    assert runtimes.openvino_ir(copy, root=tmp_path) == first
    assert first.parent.name == f"openvino-{openvino.__version__.split('-')[0]}"
    (copy / "variables" / "variables.index").write_bytes(b"changed")
    with pytest.raises(PackagingError, match="converted again"):  # a changed model converts anew
        runtimes.openvino_ir(copy, root=tmp_path)


def test_served_openvino_keeps_the_contract_and_batches(patch_model):
    rows = _payload_rows(patch_model[1])
    env = {"IRKIT_RUNTIME": "openvino", "SAGEMAKER_TFS_ENABLE_BATCHING": "true", "OMP_NUM_THREADS": "1"}
    with ServerProcess(patch_model[0], port=0, env=env) as server:
        client = Client(server.url)
        status, headers, body = client.invoke(npy_body(rows[:5]), "application/x-npy")
        assert status == 200 and np.asarray(body["predictions"]).shape == (5, 8)
        assert headers["x-irkit-batch-rows"] == "5"
        status, _, body = client.invoke(b'{"instances": ' + str(rows[:1].tolist()).encode() + b"}")
        assert status == 200 and np.asarray(body["predictions"]).shape == (1, 8)
        status, _, body = client.invoke(fidelity.photo_probes(["coffee"])[0].body, "image/jpeg")
        assert status == 200 and np.isclose(sum(body["predictions"][0]), 1.0, atol=1e-3)
        status, _, body = client.invoke(npy_body(np.zeros((1, 16, 16, 3), np.float32)), "application/x-npy")
        assert status == 400 and "wants shape" in body["error"]
        status, _, stats = client.request("GET", "/stats")
        assert stats["settings"]["runtime"] == "openvino" and stats["batching"]["requests"] >= 2
        measured = fidelity.FidelityCheck(patch_model[0], _extract_payload(patch_model[1]),
                                          "application/x-npy").measure(server.url)
    assert measured["top1_agreement"] == 1.0 and measured["cosine"] > 0.99999
    assert measured["samples"] == len(rows) + len(fidelity.PHOTOS)  # the photos are resized to 32x32


def _extract_payload(payload_tarball):
    folder = payload_tarball.parent / "payload"
    if not (folder / "sample.npy").is_file():
        with tarfile.open(payload_tarball) as archive:
            archive.extractall(folder, filter="data")
    return folder / "sample.npy"


def test_server_refuses_bf16_with_tensorflow_by_name(patch_model):
    server = ServerProcess(patch_model[0], port=0, env={"IRKIT_PRECISION": "bf16"})
    with pytest.raises(BackendError, match="IRKIT_PRECISION"):
        server.start(timeout=120)
    server.stop()


def test_each_batch_size_gets_a_static_model_with_the_same_answers(patch_model, savedmodel, tmp_path):
    import time

    rows = _payload_rows(patch_model[1])
    host = runtimes.OpenVinoHost(savedmodel, root=tmp_path, batch_sizes=(1, 4))
    assert host.static_batch_sizes == [1, 4]
    dynamic = host._compiled.create_infer_request()
    first = host.predict(rows[:3])  # no static model for 3 yet: the dynamic one answers, 3 compiles behind
    deadline = time.monotonic() + 60
    while 3 not in host.static_batch_sizes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host.static_batch_sizes == [1, 3, 4]
    again = host.predict(rows[:3])
    (name,) = first
    dynamic.infer({0: rows[:3]})
    assert np.allclose(again[name], first[name], atol=1e-6)
    assert np.allclose(again[name], dynamic.get_output_tensor(0).data, atol=1e-6)
    assert host.predict(rows[:4])[name].shape == (4, 8)
