"""Pre-flight check: serve the model locally and send it every sample of a payload, before a real job.

The SageMaker backend runs this before CreateInferenceRecommendationsJob, so a model/payload
mismatch fails in seconds on this machine instead of after an hour in the cloud.
"""

from __future__ import annotations

import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from irkit.errors import BackendError, PackagingError

REQUEST_TIMEOUT_S = 120.0


def payload_samples(payload: str | Path, dest: Path) -> list[Path]:
    """The sample files of a payload tarball (extracted safely into ``dest``), or the file itself."""
    from irkit.package.payload import local_path

    path = local_path(payload)
    if not path.is_file():
        raise PackagingError(f"sample payload {str(path)!r} does not exist")
    if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return [path]
    from irkit.package.archive import safe_extract

    safe_extract(path, dest)
    samples = sorted(p for p in dest.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not samples:
        raise PackagingError(f"payload archive {str(path)!r} holds no sample file")
    return samples


def _post(url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise BackendError(f"pre-flight request to {url} failed: {exc}") from exc


def _prediction_shape(answer: bytes) -> list[int]:
    """[rows, values per row] of ``{"predictions": [[...], ...]}``; ValueError when it is not that."""
    predictions = orjson.loads(answer)["predictions"]
    if not isinstance(predictions, list) or not predictions:
        raise ValueError("'predictions' is not a non-empty list")
    first = predictions[0]
    width = len(first) if isinstance(first, (list, dict)) else 0
    for row in predictions:
        if isinstance(row, list) and (len(row) != width or not all(isinstance(v, (int, float)) for v in row)):
            raise ValueError("prediction rows differ in length or hold non-numbers")
    return [len(predictions), width] if width else [len(predictions)]


def preflight(model_path: str | Path, payload_path_or_tarball: str | Path, content_type: str | None = None,
              *, timeout: float = 180.0) -> dict[str, Any]:
    """Start a server for ``model_path``, send each sample and check the answers; always stops it.

    Returns ``{"model", "setup_time_s", "samples": [{"file", "content_type", "status",
    "latency_ms", "prediction_shape"}]}``. Raises BackendError naming the sample file on failure.
    """
    from irkit.package.payload import guess_content_type
    from irkit.serve.process import ServerProcess

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="irkit-preflight-") as tmp:
        samples = payload_samples(payload_path_or_tarball, Path(tmp))
        server = ServerProcess(model_path, port=0)
        try:
            server.start(timeout=timeout)
            for sample in samples:
                kind = content_type or guess_content_type(sample)
                started = time.perf_counter()
                status, answer = _post(server.url + "/invocations", sample.read_bytes(), kind)
                latency_ms = (time.perf_counter() - started) * 1000
                name = sample.name
                if status != 200:
                    detail = answer[:300].decode("utf-8", "replace")
                    raise BackendError(f"pre-flight: sample {name!r} ({kind}) got HTTP {status}: {detail}")
                try:
                    shape = _prediction_shape(answer)
                except (ValueError, KeyError, TypeError) as exc:
                    raise BackendError(f"pre-flight: sample {name!r} ({kind}) got a malformed answer: {exc}") from None
                results.append({"file": name, "content_type": kind, "status": status,
                                "latency_ms": round(latency_ms, 2), "prediction_shape": shape})
            setup = server.setup_time_s
        finally:
            server.stop()
    return {"model": str(model_path), "setup_time_s": setup, "samples": results}
