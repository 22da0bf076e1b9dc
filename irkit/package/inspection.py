"""``inspect(path)``: is this model.tar.gz / payload.tar.gz (or a folder holding both) fit to send?

Checks: safe members (no absolute paths, ``..``, links, devices), TF Serving layout
(``<version>/saved_model.pb``), the ``serving_default`` signature's input shape and dtype, each payload
sample's shape against that signature, sizes (a request body must stay under SageMaker's 6 MB), and
the local TensorFlow version against the container's ``framework_version``.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from irkit.errors import PackagingError
from irkit.package.archive import is_tarball, read_member, safe_extract, safe_members
from irkit.package.layout import (
    CONTAINER_TF_MAX,
    CONTENT_TYPES_BY_SUFFIX,
    MAX_BODY_BYTES,
    MODEL_TARBALL,
    PAYLOAD_TARBALL,
    SERVING_SIGNATURE,
)

CONTENT_TYPES = CONTENT_TYPES_BY_SUFFIX
_VERSION_RE = re.compile(r"^(?:[^/]+/)?(\d+)/saved_model\.pb$")


@dataclass
class InspectionReport:
    """What :func:`inspect_path` found. ``valid`` is True when there are no problems."""

    path: str
    kind: str  # "model", "payload" or "directory"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "valid": self.valid, "problems": self.problems,
                "warnings": self.warnings, "details": self.details}

    def raise_for_problems(self) -> None:
        """PackagingError listing the problems, if any."""
        if self.problems:
            raise PackagingError(f"{self.path}: " + "; ".join(self.problems))

    def __str__(self) -> str:
        lines = [f"{self.path} ({self.kind}): {'VALID' if self.valid else 'INVALID'}"]
        lines += [f"  {key}: {value}" for key, value in _flatten(self.details)]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _flatten(details: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in details.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def local_tf_version() -> str | None:
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def framework_warnings(framework_version: str | None) -> list[str]:
    """The local-TF versus container warning (SageMaker's TF inference images stop at 2.19)."""
    local = local_tf_version()
    chosen = framework_version or CONTAINER_TF_MAX
    notes = []
    if framework_version and _minor(framework_version) > _minor(CONTAINER_TF_MAX):
        notes.append(f"framework_version {framework_version}: SageMaker's TensorFlow inference images "
                     f"stop at {CONTAINER_TF_MAX}; choose {CONTAINER_TF_MAX} or older")
    if local and _minor(local) > _minor(chosen):
        notes.append(f"exported with local TensorFlow {local}, served on SageMaker with framework_version "
                     f"{chosen} (its TF inference images stop at {CONTAINER_TF_MAX}); choose another with "
                     f"framework_version= / --framework-version, and test that the SavedModel loads there")
    return notes


def inspect(path: str | Path, framework_version: str | None = None) -> InspectionReport:
    """Check a model.tar.gz, a payload.tar.gz, or a folder holding both (``irkit.package.inspect``)."""
    return inspect_path(path, framework_version=framework_version)


def inspect_path(path: str | Path, framework_version: str | None = None) -> InspectionReport:
    """Inspect a model.tar.gz, a payload.tar.gz or a folder with both; never raises for bad input."""
    target = Path(path)
    if target.is_dir():
        return _inspect_directory(target, framework_version)
    report = InspectionReport(str(target), "payload")
    if not target.is_file():
        report.problems.append(f"{str(target)!r} does not exist")
        return report
    if not is_tarball(target):
        report.problems.append(f"{target.name!r} is not a .tar.gz archive")
        return report
    try:
        members = safe_members(target)
    except PackagingError as exc:
        report.problems.append(str(exc))
        return report
    report.details["archive_bytes"] = target.stat().st_size
    report.details["content_bytes"] = sum(m.size for m in members if m.isfile())
    names = [m.name.removeprefix("./") for m in members]
    named_model = "model" in target.name and "payload" not in target.name
    if named_model or any(_VERSION_RE.match(n) for n in names):
        report.kind = "model"
        _check_model(target, names, report, framework_version)
    else:
        _check_payload(target, members, report)
    return report


def _inspect_directory(folder: Path, framework_version: str | None) -> InspectionReport:
    report = InspectionReport(str(folder), "directory")
    parts = {name: folder / name for name in (MODEL_TARBALL, PAYLOAD_TARBALL) if (folder / name).is_file()}
    if not parts:
        report.problems.append(f"{str(folder)!r} holds neither {MODEL_TARBALL} nor {PAYLOAD_TARBALL}")
        return report
    sub = {name: inspect_path(p, framework_version) for name, p in parts.items()}
    for name, part in sub.items():
        report.problems += [f"{name}: {p}" for p in part.problems]
        report.warnings += [w for w in part.warnings if w not in report.warnings]
        report.details[name.split(".")[0]] = part.details
    if MODEL_TARBALL in sub and PAYLOAD_TARBALL in sub:
        signature = sub[MODEL_TARBALL].details.get("signature")
        samples = sub[PAYLOAD_TARBALL].details.get("samples", {})
        if signature:
            report.problems += [f"{PAYLOAD_TARBALL}: {p}" for p in match_signature(signature, samples)]
    else:
        missing = PAYLOAD_TARBALL if MODEL_TARBALL in sub else MODEL_TARBALL
        report.warnings.append(f"{missing} is not in {str(folder)!r}; shapes were not cross-checked")
    return report


def _check_model(target: Path, names: list[str], report: InspectionReport, framework_version: str | None) -> None:
    found = {m.group(1): n.rsplit("/", 1)[0] for n in names if (m := _VERSION_RE.match(n))}
    versions = sorted(found, key=int)
    report.details["layout"] = "TF Serving <version>/saved_model.pb" if versions else "unknown"
    report.details["versions"] = versions
    if not versions:
        report.problems.append(
            f"{target.name}: no <version>/saved_model.pb inside (TF Serving layout, e.g. 1/saved_model.pb)"
        )
        return
    version_dir = found[versions[-1]]  # TF Serving serves the newest version
    if not any(n.startswith(f"{version_dir}/variables/") for n in names):
        report.warnings.append(f"{version_dir}/variables/ is missing: fine only for a model without weights")
    report.warnings += framework_warnings(framework_version)
    try:
        report.details["signature"] = read_signature(target, version_dir)
    except PackagingError as exc:
        report.problems.append(str(exc))


def read_signature(model_tar: Path, version_dir: str) -> dict[str, Any]:
    """``{"name", "input", "shape", "dtype", "outputs"}`` of ``serving_default`` in the archive."""
    from irkit._lazy import optional_import

    tf = optional_import("tensorflow")
    with tempfile.TemporaryDirectory(prefix="irkit-inspect-") as tmp:
        safe_extract(model_tar, tmp)
        try:
            loaded = tf.saved_model.load(str(Path(tmp) / version_dir))
        except Exception as exc:  # TF raises many types for a broken SavedModel
            raise PackagingError(f"{model_tar.name}: {version_dir} is not a loadable SavedModel: {exc}") from exc
        signature = getattr(loaded, "signatures", {}).get(SERVING_SIGNATURE)
        if signature is None:
            raise PackagingError(f"{model_tar.name}: the SavedModel has no {SERVING_SIGNATURE!r} signature")
        inputs = signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise PackagingError(f"{model_tar.name}: {SERVING_SIGNATURE} takes {len(inputs)} inputs; irkit sends one")
        (name, spec), = inputs.items()
        outputs = {k: [d for d in v.shape.as_list()] for k, v in signature.structured_outputs.items()}
        return {"name": SERVING_SIGNATURE, "input": name, "shape": spec.shape.as_list(),
                "dtype": spec.dtype.name, "outputs": outputs}


def _check_payload(target: Path, members: list[Any], report: InspectionReport) -> None:
    files = [m for m in members if m.isfile() and not Path(m.name).name.startswith(".")]
    if not files:
        report.problems.append(f"{target.name}: holds no sample file")
        return
    samples: dict[str, Any] = {}
    for member in files:
        suffix = Path(member.name).suffix.lower()
        entry: dict[str, Any] = {"bytes": member.size, "content_type": CONTENT_TYPES.get(suffix)}
        samples[member.name] = entry
        if member.size > MAX_BODY_BYTES:
            report.problems.append(f"{member.name}: {member.size} bytes is over SageMaker's 6 MB request limit")
        if entry["content_type"] is None:
            report.warnings.append(f"{member.name}: unknown suffix {suffix!r}; give its content type explicitly")
            continue
        try:
            entry.update(describe_sample(read_member(target, member.name), suffix))
        except PackagingError as exc:
            report.problems.append(f"{member.name}: {exc}")
    report.details["samples"] = samples


def describe_sample(body: bytes, suffix: str) -> dict[str, Any]:
    """Shape, dtype and form of one request body, decoded the way the server will."""
    import numpy as np

    if suffix == ".json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise PackagingError(f"not valid JSON: {exc}") from exc
        form = "list"
        if isinstance(data, dict):
            key = next((k for k in ("instances", "inputs") if k in data), None)
            if key is None:
                raise PackagingError(f"JSON object without 'instances' or 'inputs' (keys: {sorted(data)[:5]})")
            form, data = key, data[key]
        try:
            array = np.asarray(data, dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise PackagingError(f"JSON is not a rectangular array of numbers: {exc}") from exc
        return {"form": form, "shape": list(array.shape), "dtype": "float32"}
    if suffix == ".npy":
        try:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise PackagingError(f"not a readable .npy array: {exc}") from exc
        return {"form": "npy", "shape": list(array.shape), "dtype": array.dtype.name}
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise PackagingError(f"not a readable image: {exc}") from exc
    return {"form": "image", "image_size": [width, height]}


def match_signature(signature: dict[str, Any], samples: dict[str, Any]) -> list[str]:
    """Problems where a sample's shape or dtype does not fit the signature's input."""
    problems = []
    expected, dtype = signature["shape"], signature["dtype"]
    for name, sample in samples.items():
        shape = sample.get("shape")
        if shape is None:
            continue  # images are decoded and resized by the server
        fits = len(shape) == len(expected) and all(e is None or e == s for e, s in zip(expected, shape, strict=False))
        if not fits:
            problems.append(f"{name}: shape {shape} does not fit the model's {SERVING_SIGNATURE} "
                            f"input {signature['input']!r} of shape {expected}")
        elif sample.get("form") == "npy" and sample.get("dtype") != dtype:
            problems.append(f"{name}: dtype {sample.get('dtype')} but the model's input is {dtype}")
    return problems
