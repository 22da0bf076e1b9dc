"""``irkit predict | package | inspect``: output contract and exit codes."""

from __future__ import annotations

import json
import tarfile

import pytest

from irkit import model as model_lib
from irkit.cli import main


@pytest.fixture
def tiny_loader(monkeypatch, tiny_keras_model):
    """load_model returns the tiny model (marked random), whatever the weights asked for."""
    asked = []

    def fake_load(weights="imagenet"):
        asked.append(weights)
        return tiny_keras_model

    monkeypatch.setattr(model_lib, "load_model", fake_load)
    return asked


def test_predict_json_contract(tiny_loader, capsys):
    assert main(["predict", "--weights", "none", "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert tiny_loader == ["none"]
    assert [set(p) for p in out["predictions"]] == [{"label", "probability"}] * 3
    assert out["weights"] == "random" and "MEANINGLESS" in out["warning"]


def test_predict_text_with_an_image(tiny_loader, tmp_path, capsys):
    from PIL import Image

    image = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(image)
    assert main(["predict", str(image), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "red.png" in out and out.count("MEANINGLESS") == 2


def test_predict_with_real_resnet50_random_weights(capsys):
    assert main(["predict", "--weights", "none", "--top", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["predictions"]) == 4 and out["weights"] == "random" and "warning" in out


def test_predict_missing_weights_file_exits_1_naming_it(tmp_path, capsys):
    assert main(["predict", "--weights", str(tmp_path / "w.h5")]) == 1
    assert "w.h5" in capsys.readouterr().err


def test_package_writes_both_tarballs_and_inspects_them(tiny_loader, tmp_path, capsys):
    out_dir = tmp_path / "pkg"
    code = main(["package", "--out", str(out_dir), "--weights", "auto", "--samples", "list,npy",
                 "--framework-version", "2.18"])
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert tiny_loader == ["auto"]
    with tarfile.open(out_dir / "model.tar.gz") as archive:
        assert "1/saved_model.pb" in archive.getnames()
    with tarfile.open(out_dir / "payload.tar.gz") as archive:
        assert sorted(archive.getnames()) == ["sample.json", "sample.npy"]
    assert "VALID" in text and "[1, 224, 224, 3]" in text and "framework_version 2.18" in text


def test_inspect_exit_codes(tiny_model_tarball, resnet_payload_tarball, tmp_path, capsys):
    assert main(["inspect", str(tiny_model_tarball)]) == 0
    assert main(["inspect", str(tmp_path / "missing.tar.gz")]) == 1
    assert "missing.tar.gz" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path)]) == 1  # a folder with neither archive
    assert "neither" in capsys.readouterr().err


def test_inspect_json_report(resnet_payload_tarball, capsys):
    assert main(["inspect", str(resnet_payload_tarball), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["kind"] == "payload"
    assert report["details"]["samples"]["sample.json"]["shape"] == [1, 224, 224, 3]
