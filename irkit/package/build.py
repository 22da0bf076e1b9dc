"""Package a Keras model and a sample payload the way SageMaker's TF Serving container wants them.

- :func:`export_savedmodel` writes TF Serving's layout, ``export_dir/<version>/saved_model.pb`` with
  a ``serving_default`` signature (Keras 3 ``model.export``).
- :func:`build_model_tarball` puts that layout at the root of ``model.tar.gz``.
- :func:`build_payload_tarball` writes ``payload.tar.gz`` with one or more sample request bodies
  (see :data:`SAMPLE_KINDS`): a bare nested JSON list (what the public IR example sends),
  ``{"instances": ...}``, a ``.npy`` array or a JPEG.
- :func:`inspect` (from :mod:`irkit.package.inspection`) checks either archive, or a folder holding both.
- :func:`safe_extract` extracts an archive after refusing hostile members (see :mod:`irkit.package.archive`).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from irkit.errors import PackagingError
from irkit.package.archive import build_tarball, safe_extract
from irkit.package.inspection import inspect  # re-exported: callers use irkit.package.build.inspect
from irkit.package.layout import CONTAINER_TF_MAX, MODEL_TARBALL, PAYLOAD_TARBALL, SERVING_SIGNATURE  # noqa: F401

__all__ = [
    "CONTAINER_TF_MAX",
    "MODEL_TARBALL",
    "PAYLOAD_TARBALL",
    "SAMPLE_KINDS",
    "SampleKind",
    "build_model_tarball",
    "build_payload_tarball",
    "export_savedmodel",
    "inspect",
    "payload_content_types",
    "safe_extract",
]

JSON_DECIMALS = 3  # JSON samples round preprocessed pixels: ~1.3 MB instead of ~3 MB


class SampleKind(NamedTuple):
    file_name: str
    content_type: str


# sample kind -> file in payload.tar.gz and the ContentType it is sent with
SAMPLE_KINDS: dict[str, SampleKind] = {
    "list": SampleKind("sample.json", "application/json"),  # bare nested list
    "instances": SampleKind("sample-instances.json", "application/json"),  # {"instances": [...]}
    "npy": SampleKind("sample.npy", "application/x-npy"),
    "jpeg": SampleKind("sample.jpg", "image/jpeg"),
}


def export_savedmodel(model: Any, export_dir: str | Path, version: int = 1) -> Path:
    """Export a Keras model to ``export_dir/<version>`` (TF Serving layout); returns that folder."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise PackagingError(f"version {version!r} must be a non-negative integer (TF Serving folder name)")
    target = Path(export_dir) / str(version)
    if target.exists() and any(target.iterdir()):
        raise PackagingError(f"export folder {str(target)!r} already exists and is not empty")
    if not hasattr(model, "export"):
        raise PackagingError(f"{type(model).__name__} is not a Keras 3 model (it has no .export)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.WARNING)  # "INFO: Assets written to ..." even with verbose=False
    try:
        model.export(str(target), format="tf_saved_model", verbose=False)
    except (ValueError, TypeError) as exc:
        raise PackagingError(f"cannot export the model to {str(target)!r}: {exc}") from exc
    finally:
        tf_logger.setLevel(level)
    if not (target / "saved_model.pb").is_file():
        raise PackagingError(f"export to {str(target)!r} wrote no saved_model.pb")
    return target


def _layout_entries(savedmodel_dir: Path, version: int) -> list[tuple[str, Path]]:
    """Archive entries for a SavedModel folder, or a folder of numeric version folders."""
    if (savedmodel_dir / "saved_model.pb").is_file():
        return [(str(version), savedmodel_dir)]
    versions = sorted(
        (p for p in savedmodel_dir.iterdir() if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").is_file()),
        key=lambda p: int(p.name),
    )
    if not versions:
        raise PackagingError(
            f"{str(savedmodel_dir)!r} holds no saved_model.pb, nor <version>/saved_model.pb folders"
        )
    entries = [(p.name, p) for p in versions]
    if (savedmodel_dir / "code").is_dir():  # optional inference.py / requirements.txt
        entries.append(("code", savedmodel_dir / "code"))
    return entries


def build_model_tarball(savedmodel_dir_or_model: Any, out_path: str | Path, version: int = 1) -> Path:
    """Write ``model.tar.gz`` with ``<version>/saved_model.pb`` at its root; returns ``out_path``.

    ``savedmodel_dir_or_model`` is a Keras model (exported first), a SavedModel folder, or a folder
    in TF Serving layout (numeric version folders, optionally ``code/``).
    """
    out = Path(out_path)
    if isinstance(savedmodel_dir_or_model, (str, Path)):
        source = Path(savedmodel_dir_or_model)
        if not source.is_dir():
            raise PackagingError(f"SavedModel folder {str(source)!r} does not exist")
        return build_tarball(out, _layout_entries(source, version))
    with tempfile.TemporaryDirectory(prefix="irkit-export-") as tmp:
        exported = export_savedmodel(savedmodel_dir_or_model, tmp, version=version)
        return build_tarball(out, [(str(version), exported)])


def payload_content_types(samples: tuple[str, ...] | list[str] = ("list",)) -> list[str]:
    """The distinct content types of the sample kinds, in order (for ``supported_content_types``)."""
    types: list[str] = []
    for kind in samples:
        content_type = _sample_kind(kind).content_type
        if content_type not in types:
            types.append(content_type)
    return types


def _sample_kind(kind: str) -> SampleKind:
    try:
        return SAMPLE_KINDS[kind]
    except KeyError:
        raise PackagingError(f"samples: unknown kind {kind!r}; choose from {sorted(SAMPLE_KINDS)}") from None


def sample_bodies(image: Any = None, samples: tuple[str, ...] | list[str] = ("list",)) -> dict[str, bytes]:
    """``{file name: request body}`` for each sample kind, made from ``image`` (default: the sample)."""
    import numpy as np

    from irkit import model as model_lib

    if not samples:
        raise PackagingError("samples: give at least one kind, e.g. ('list',)")
    for kind in samples:
        _sample_kind(kind)
    source = model_lib.sample_image() if image is None else image
    bodies: dict[str, bytes] = {}
    needs_array = any(kind != "jpeg" for kind in samples)
    batch = model_lib.preprocess(source) if needs_array else None
    for kind in samples:
        name = SAMPLE_KINDS[kind].file_name
        if kind == "jpeg":
            buffer = io.BytesIO()
            model_lib.to_rgb_image(source).resize(model_lib.INPUT_SIZE).save(buffer, format="JPEG", quality=90)
            bodies[name] = buffer.getvalue()
        elif kind == "npy":
            assert batch is not None  # needs_array
            buffer = io.BytesIO()
            np.save(buffer, batch, allow_pickle=False)
            bodies[name] = buffer.getvalue()
        else:
            nested = np.round(np.asarray(batch, dtype=np.float64), JSON_DECIMALS).tolist()
            body = nested if kind == "list" else {"instances": nested}
            bodies[name] = json.dumps(body, separators=(",", ":")).encode()
    return bodies


def build_payload_tarball(
    out_path: str | Path,
    samples: tuple[str, ...] | list[str] = ("list",),
    image: Any = None,
) -> Path:
    """Write ``payload.tar.gz`` with one request body per sample kind; returns ``out_path``.

    ``samples`` picks from :data:`SAMPLE_KINDS` (default: the bare nested list, shape (1,224,224,3),
    preprocessed for ResNet50). ``image`` is a path, PIL image or array (default: the sample photo).
    """
    out = Path(out_path)
    bodies = sample_bodies(image, samples)
    with tempfile.TemporaryDirectory(prefix="irkit-payload-") as tmp:
        entries = []
        for name, body in bodies.items():
            (Path(tmp) / name).write_bytes(body)
            entries.append((name, Path(tmp) / name))
        return build_tarball(out, entries)
