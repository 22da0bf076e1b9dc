"""export_savedmodel, the two tarballs, and inspect on good archives (tiny model, random weights)."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest

from irkit.errors import PackagingError
from irkit.package import build as packaging


def _names(tar_path):
    with tarfile.open(tar_path) as archive:
        return archive.getnames()


def test_export_writes_tf_serving_layout(tiny_savedmodel):
    assert (tiny_savedmodel / "1" / "saved_model.pb").is_file()
    assert (tiny_savedmodel / "1" / "variables").is_dir()


def test_export_refuses_a_non_empty_version_folder(tiny_keras_model, tiny_savedmodel):
    with pytest.raises(PackagingError, match="already exists"):
        packaging.export_savedmodel(tiny_keras_model, tiny_savedmodel, version=1)


def test_model_tarball_has_version_folder_at_root(tiny_model_tarball):
    names = _names(tiny_model_tarball)
    assert "1/saved_model.pb" in names
    assert any(n.startswith("1/variables/") for n in names)
    assert all(not n.startswith(("/", "..")) for n in names)


def test_model_tarball_straight_from_a_keras_model(tiny_keras_model, tmp_path):
    out = packaging.build_model_tarball(tiny_keras_model, tmp_path / "m.tar.gz", version=3)
    assert "3/saved_model.pb" in _names(out)


def test_model_tarball_from_a_missing_folder_names_it(tmp_path):
    with pytest.raises(PackagingError, match="nowhere"):
        packaging.build_model_tarball(tmp_path / "nowhere", tmp_path / "m.tar.gz")


def test_payload_is_a_bare_nested_list_of_the_model_input_shape(resnet_payload_tarball):
    with tarfile.open(resnet_payload_tarball) as archive:
        body = archive.extractfile("sample.json").read()
    data = json.loads(body)
    assert isinstance(data, list)
    array = np.asarray(data, dtype=np.float32)
    assert array.shape == (1, 224, 224, 3)
    # ResNet50 "caffe" preprocessing: BGR minus the ImageNet means, so negative values appear
    assert array.min() < 0 < array.max()
    assert len(body) < 6 * 1024 * 1024


def test_payload_with_every_sample_kind(tmp_path):
    kinds = ("list", "instances", "npy", "jpeg")
    out = packaging.build_payload_tarball(tmp_path / "p.tar.gz", samples=kinds)
    assert sorted(_names(out)) == sorted(packaging.SAMPLE_KINDS[k].file_name for k in kinds)
    with tarfile.open(out) as archive:
        wrapped = json.loads(archive.extractfile("sample-instances.json").read())
        array = np.load(io.BytesIO(archive.extractfile("sample.npy").read()))
    assert np.asarray(wrapped["instances"]).shape == (1, 224, 224, 3)
    assert array.shape == (1, 224, 224, 3) and array.dtype == np.float32
    assert packaging.payload_content_types(kinds) == ["application/json", "application/x-npy", "image/jpeg"]
    report = packaging.inspect(out)
    assert report.valid, report.problems
    samples = report.details["samples"]
    assert samples["sample.jpg"]["image_size"] == [224, 224]
    assert samples["sample-instances.json"]["form"] == "instances"
    assert samples["sample.npy"]["dtype"] == "float32"


def test_unknown_sample_kind_is_named(tmp_path):
    with pytest.raises(PackagingError, match="'csv'"):
        packaging.build_payload_tarball(tmp_path / "p.tar.gz", samples=("csv",))


def test_inspect_folder_with_both_is_valid(tiny_model_tarball, resnet_payload_tarball, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "model.tar.gz").write_bytes(tiny_model_tarball.read_bytes())
    (folder / "payload.tar.gz").write_bytes(resnet_payload_tarball.read_bytes())
    report = packaging.inspect(folder)
    assert report.valid, report.problems
    assert report.details["model"]["signature"]["shape"] == [None, 224, 224, 3]
    assert report.details["model"]["signature"]["dtype"] == "float32"
    assert report.details["payload"]["samples"]["sample.json"]["shape"] == [1, 224, 224, 3]
    assert any("2.19" in w and "framework_version" in w for w in report.warnings)


def test_inspect_detects_payload_signature_mismatch(tiny_model_tarball, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "model.tar.gz").write_bytes(tiny_model_tarball.read_bytes())
    body = tmp_path / "sample.json"
    body.write_text(json.dumps(np.zeros((1, 128, 128, 3)).tolist()))
    from irkit.package.archive import build_tarball

    build_tarball(folder / "payload.tar.gz", [("sample.json", body)])
    report = packaging.inspect(folder)
    assert not report.valid
    assert any("[1, 128, 128, 3]" in p and "input_1" in p for p in report.problems)


def test_inspect_model_tarball_without_saved_model(tmp_path):
    stray = tmp_path / "readme.txt"
    stray.write_text("hi")
    from irkit.package.archive import build_tarball

    tar = build_tarball(tmp_path / "model.tar.gz", [("readme.txt", stray)])
    report = packaging.inspect(tar)
    assert not report.valid and "saved_model.pb" in report.problems[0]


def test_framework_version_above_the_containers_is_flagged(tiny_model_tarball):
    report = packaging.inspect(tiny_model_tarball, framework_version="2.21")
    assert report.valid
    assert any("stop at 2.19" in w and "2.21" in w for w in report.warnings)
