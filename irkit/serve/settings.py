"""The model server's settings, read from the env knobs of SageMaker's TensorFlow Serving container.

The names are the container's, so an Advanced job's ``hyperparameter_ranges`` mean the same thing
here and in the cloud. Each bad value raises :class:`~irkit.errors.BackendError` naming the variable.
See docs/local-server.md for the table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from irkit.errors import BackendError

ENABLE_BATCHING = "SAGEMAKER_TFS_ENABLE_BATCHING"
MAX_BATCH_SIZE = "SAGEMAKER_TFS_MAX_BATCH_SIZE"
BATCH_TIMEOUT_MICROS = "SAGEMAKER_TFS_BATCH_TIMEOUT_MICROS"
NUM_BATCH_THREADS = "SAGEMAKER_TFS_NUM_BATCH_THREADS"
WORKERS = "SAGEMAKER_GUNICORN_WORKERS"
OMP_NUM_THREADS = "OMP_NUM_THREADS"
TF_INTRA_OP = "TF_NUM_INTRAOP_THREADS"
TF_INTER_OP = "TF_NUM_INTEROP_THREADS"
SAGEMAKER_INTRA_OP = "SAGEMAKER_TFS_INTRA_OP_PARALLELISM"
SAGEMAKER_INTER_OP = "SAGEMAKER_TFS_INTER_OP_PARALLELISM"
IMAGE_PREPROCESS = "IRKIT_IMAGE_PREPROCESS"  # irkit's own: "resnet50" (default), "none", "scale", "module:function"

# The container's defaults (sagemaker-tensorflow-serving-container, tfs_utils.create_batching_config).
DEFAULT_MAX_BATCH_SIZE = 8
DEFAULT_BATCH_TIMEOUT_MICROS = 1000
MAX_WORKERS = 64
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise BackendError(f"{name}={env[name]!r}: use true or false")


def _int(env: Mapping[str, str], name: str, default: int | None, minimum: int, maximum: int | None = None) -> int | None:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BackendError(f"{name}={text!r} is not an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise BackendError(f"{name}={value} must be at least {minimum}{upper}")
    return value


def _runtime_fields(env: Mapping[str, str]) -> dict[str, str]:
    from irkit.spec.runtimes import RuntimeChoiceError, runtime_choice

    try:
        choice = runtime_choice(env)
    except RuntimeChoiceError as exc:
        raise BackendError(str(exc)) from None
    return {"runtime": choice.runtime, "precision": choice.precision}


@dataclass(frozen=True)
class ServerSettings:
    """What the env asks of the server. Thread counts of None leave TensorFlow's own defaults."""

    enable_batching: bool = False
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    batch_timeout_micros: int = DEFAULT_BATCH_TIMEOUT_MICROS
    num_batch_threads: int = 1
    workers: int = 1
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    omp_threads: int | None = None
    image_preprocess: str = "resnet50"
    runtime: str = "tensorflow"  # IRKIT_RUNTIME (irkit.spec.runtimes; the engine: serve/runtimes.py)
    precision: str = "fp32"  # IRKIT_PRECISION

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        intra = _int(env, TF_INTRA_OP, None, 1)
        if intra is None:
            intra = _int(env, SAGEMAKER_INTRA_OP, None, 0) or None  # 0 means "TensorFlow decides"
        inter = _int(env, TF_INTER_OP, None, 1)
        if inter is None:
            inter = _int(env, SAGEMAKER_INTER_OP, None, 0) or None
        return cls(
            enable_batching=_flag(env, ENABLE_BATCHING),
            max_batch_size=_int(env, MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_SIZE, 1, 4096) or DEFAULT_MAX_BATCH_SIZE,
            batch_timeout_micros=_int(env, BATCH_TIMEOUT_MICROS, DEFAULT_BATCH_TIMEOUT_MICROS, 0, 60_000_000)
            or 0,
            num_batch_threads=_int(env, NUM_BATCH_THREADS, _cpu_count(), 1, 256) or 1,
            workers=_int(env, WORKERS, 1, 1, MAX_WORKERS) or 1,
            intra_op_threads=intra,
            inter_op_threads=inter,
            omp_threads=_int(env, OMP_NUM_THREADS, None, 1),
            image_preprocess=env.get(IMAGE_PREPROCESS, "").strip() or "resnet50",
            **_runtime_fields(env),
        )

    def thread_env(self) -> dict[str, str]:
        """Env to export before TensorFlow loads, so every worker gets the same thread counts."""
        out: dict[str, str] = {}
        if self.intra_op_threads is not None:
            out[TF_INTRA_OP] = str(self.intra_op_threads)
        if self.inter_op_threads is not None:
            out[TF_INTER_OP] = str(self.inter_op_threads)
        return out
