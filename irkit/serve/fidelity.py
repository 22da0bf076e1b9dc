"""Fidelity: how close a runtime's answers are to TensorFlow's on the same inputs.

A local job records it for every configuration that is not TensorFlow fp32 (``irkit.configs[i].fidelity``):
the job's payload sample and a few photos scikit-image ships (:data:`PHOTOS`, sent as JPEG, which the
server resizes and preprocesses like any image request) go to the server under test and to a
TensorFlow server on the same model. The reference answers are kept per model and probe set under
``$IRKIT_HOME/runtimes/fidelity/``, so a job computes them once.

:func:`compare` is pure. Per answered row (a probe may hold a batch):

- ``top1_agreement``: share of rows whose top class is TensorFlow's;
- ``top5_agreement``: share of rows whose top-5 classes hold TensorFlow's top class;
- ``max_abs_diff``: the largest absolute difference of any output value;
- ``cosine``: mean cosine similarity of the output rows (stable where near-ties make top-k noisy,
  e.g. with random weights); ``min_cosine`` the worst row;
- ``samples``: rows compared; ``probes``: the probe names that were answered by both.

Top-k needs a class axis: with outputs of one value per row they are None.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from irkit.errors import BackendError
from irkit.spec.runtimes import PRECISION_ENV, RUNTIME_ENV, RuntimeChoiceError, runtime_choice

PHOTOS = ("chelsea", "astronaut", "coffee", "rocket", "immunohistochemistry", "colorwheel", "camera", "coins")
FIELDS = ("top1_agreement", "top5_agreement", "max_abs_diff", "cosine", "min_cosine", "samples")
REFERENCE_ENV = {RUNTIME_ENV: "tensorflow", PRECISION_ENV: "fp32"}
INPUT_ENV = ("IRKIT_IMAGE_PREPROCESS",)  # env that changes what the model sees: the reference gets it too
PROBE_TIMEOUT_S = 120.0
CACHE_FOLDER = "fidelity"  # under $IRKIT_HOME/runtimes/


@dataclass(frozen=True)
class Probe:
    """One request body the fidelity check sends."""

    name: str
    body: bytes
    content_type: str


def photo_probes(names: Iterable[str] = PHOTOS, quality: int = 92) -> list[Probe]:
    """scikit-image's bundled photos as JPEG bodies (grey ones become RGB)."""
    import skimage.data
    from PIL import Image

    out = []
    for name in names:
        pixels = np.asarray(getattr(skimage.data, name)())
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        buffer = io.BytesIO()
        Image.fromarray(pixels[..., :3].astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
        out.append(Probe(f"photo:{name}", buffer.getvalue(), "image/jpeg"))
    return out


def probes_for(payload_path: str | Path, content_type: str, photos: Iterable[str] = PHOTOS) -> list[Probe]:
    """The payload sample the job sends, then the photos."""
    path = Path(payload_path)
    return [Probe(f"payload:{path.name}", path.read_bytes(), content_type), *photo_probes(photos)]


def _rows(predictions: Any) -> np.ndarray:
    """TF Serving's ``predictions`` as (rows, values): several named outputs are joined per row."""
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        return np.stack([np.concatenate([np.ravel(np.asarray(row[k], dtype=np.float64)) for k in sorted(row)])
                         for row in predictions])
    array = np.asarray(predictions, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    return array.reshape(array.shape[0], -1)


def served_outputs(url: str, probes: Sequence[Probe], timeout: float = PROBE_TIMEOUT_S) -> dict[str, np.ndarray]:
    """Each probe's answer from the server at ``url``, as (rows, values). A probe the model refuses
    (4xx: a photo for a model that takes no images) is left out; any other failure is a BackendError."""
    out: dict[str, np.ndarray] = {}
    for probe in probes:
        request = urllib.request.Request(url.rstrip("/") + "/invocations", data=probe.body, method="POST",
                                         headers={"Content-Type": probe.content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                continue
            raise BackendError(f"fidelity probe {probe.name} to {url} got HTTP {exc.code}: "
                               f"{exc.read()[:200].decode('utf-8', 'replace')}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BackendError(f"fidelity probe {probe.name} to {url} failed: {exc}") from exc
        out[probe.name] = _rows(body.get("predictions"))
    return out


def compare(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The fidelity of ``candidate`` against ``reference`` over the probes both answered (see the module)."""
    names = [n for n in reference if n in candidate and np.shape(reference[n]) == np.shape(candidate[n])]
    if not names:
        raise BackendError("fidelity: no probe was answered alike by both runtimes (shapes differ or all refused)")
    ref = np.concatenate([np.asarray(reference[n], dtype=np.float64) for n in names])
    got = np.concatenate([np.asarray(candidate[n], dtype=np.float64) for n in names])
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1)
    dots = np.einsum("ij,ij->i", ref, got)
    cosines = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(np.all(ref == got, axis=1), 1.0, 0.0))
    out: dict[str, Any] = {"top1_agreement": None, "top5_agreement": None,
                           "max_abs_diff": float(np.max(np.abs(ref - got))),
                           "cosine": float(np.mean(cosines)), "min_cosine": float(np.min(cosines)),
                           "samples": int(ref.shape[0]), "probes": names}
    if ref.shape[1] > 1:
        top_ref = np.argmax(ref, axis=1)
        out["top1_agreement"] = float(np.mean(np.argmax(got, axis=1) == top_ref))
        k = min(5, ref.shape[1])
        top_k = np.argpartition(-got, k - 1, axis=1)[:, :k]
        out["top5_agreement"] = float(np.mean([top_ref[i] in top_k[i] for i in range(len(top_ref))]))
    return out


def _input_env(env: Mapping[str, str] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (env or {}).items() if k in INPUT_ENV}


def _cache_path(model_path: str | Path, probes: Sequence[Probe], env: Mapping[str, str]) -> Path:
    from irkit.serve.runtimes import cache_root, model_hash

    digest = hashlib.sha256(model_hash(model_path).encode())
    digest.update(json.dumps(sorted(env.items())).encode())
    for probe in probes:
        digest.update(probe.name.encode() + b"\0" + probe.content_type.encode() + b"\0")
        digest.update(hashlib.sha256(probe.body).digest())
    return cache_root() / CACHE_FOLDER / f"{digest.hexdigest()[:24]}.npz"


def reference_outputs(model_path: str | Path, probes: Sequence[Probe], *,
                      server_factory: Callable[..., Any] | None = None, cpus: Iterable[int] | None = None,
                      log_path: str | Path | None = None, serve_env: Mapping[str, str] | None = None
                      ) -> dict[str, np.ndarray]:
    """TensorFlow's answers to ``probes`` (a TensorFlow server on the model, once; then from the cache).
    Of ``serve_env`` only what changes the model's input (:data:`INPUT_ENV`) is passed on."""
    env = {**_input_env(serve_env), **REFERENCE_ENV}
    cache = _cache_path(model_path, probes, env)
    if cache.is_file():
        with np.load(cache) as stored:
            return {str(json.loads(k)): stored[k] for k in stored.files}
    if server_factory is None:
        from irkit.serve.process import ServerProcess

        server_factory = ServerProcess
    server = server_factory(model_path, port=0, env=env, cpus=cpus, log_path=log_path)
    try:
        server.start()
        outputs = served_outputs(server.url, probes)
    finally:
        server.stop()
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f"{cache.stem}.{os.getpid()}.partial.npz")
    arrays: dict[str, Any] = {json.dumps(name): value for name, value in outputs.items()}
    np.savez(partial, **arrays)
    partial.replace(cache)
    return outputs


class FidelityCheck:
    """Measures one served configuration against TensorFlow: ``measure(url) -> fidelity dict``."""

    def __init__(self, model_path: str | Path, payload_path: str | Path, content_type: str, *,
                 server_factory: Callable[..., Any] | None = None, cpus: Iterable[int] | None = None,
                 log_path: str | Path | None = None, photos: Iterable[str] = PHOTOS,
                 serve_env: Mapping[str, str] | None = None) -> None:
        self.model_path = model_path
        self.probes = probes_for(payload_path, content_type, photos)
        self.server_factory, self.cpus, self.log_path = server_factory, cpus, log_path
        self.serve_env = dict(serve_env or {})

    def reference(self) -> dict[str, np.ndarray]:
        return reference_outputs(self.model_path, self.probes, server_factory=self.server_factory, cpus=self.cpus,
                                 log_path=self.log_path, serve_env=self.serve_env)

    def measure(self, url: str, reference: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
        return compare(reference if reference is not None else self.reference(), served_outputs(url, self.probes))


def needs_fidelity(environment: Mapping[str, str]) -> bool:
    """Whether a configuration's answers are compared with TensorFlow's (any runtime but TensorFlow fp32).
    The job process's own IRKIT_RUNTIME / IRKIT_PRECISION count, as the server inherits them."""
    inherited = {k: os.environ[k] for k in (RUNTIME_ENV, PRECISION_ENV) if k in os.environ}
    try:
        return not runtime_choice({**inherited, **environment}, flags=("avx512_bf16",)).is_reference
    except RuntimeChoiceError:
        return False  # the server refuses it and the config fails with that message


class ConfigFidelity:
    """The runner's side: for one local configuration, TensorFlow's answers first (before its server
    starts), then ``record(url)`` -> (fidelity or None, warning or None). A failure never fails the config."""

    def __init__(self, check: FidelityCheck) -> None:
        self.check = check
        self.reference: dict[str, np.ndarray] | None = None
        self.warning: str | None = None
        try:
            self.reference = check.reference()
        except Exception as exc:  # noqa: BLE001 - the load test still runs; the result says why
            self.warning = f"fidelity not measured: TensorFlow's reference answers failed: {exc}"

    @classmethod
    def for_config(cls, environment: Mapping[str, str], model_path: str | Path | None, payload_path: str | Path,
                   content_type: str, *, multi_model: bool = False, **kwargs: Any) -> ConfigFidelity | None:
        """None for TensorFlow fp32 and for multi-model/multi-container serving (one model per check)."""
        if model_path is None or multi_model or not needs_fidelity(environment):
            return None
        return cls(FidelityCheck(model_path, payload_path, content_type, serve_env=environment, **kwargs))

    def record(self, url: str) -> tuple[dict[str, Any] | None, str | None]:
        if self.reference is None:
            return None, self.warning
        try:
            return self.check.measure(url, self.reference), None
        except Exception as exc:  # noqa: BLE001
            return None, f"fidelity not measured: {exc}"
