"""The runtime axis: which engine serves the model (``IRKIT_RUNTIME``) and at what precision
(``IRKIT_PRECISION``). Both are env parameters, so they sit in ``hyperparameter_ranges`` beside
``OMP_NUM_THREADS`` and a job tests every combination.

| variable | values | default |
|---|---|---|
| ``IRKIT_RUNTIME`` | ``tensorflow``, ``openvino`` | ``tensorflow`` |
| ``IRKIT_PRECISION`` | ``fp32``, ``bf16`` | ``fp32`` |

``bf16`` needs ``openvino`` and a CPU with AVX512_BF16 or AMX (read from ``/proc/cpuinfo``). The axis
is local-only: SageMaker's equivalent is a Neo compilation job, whose recommendations carry
``ModelConfiguration.CompilationJobName`` (docs/runtimes.md). Pure and light: no engine is imported.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from irkit.errors import SpecError

if TYPE_CHECKING:
    from irkit.spec import JobSpec

RUNTIME_ENV = "IRKIT_RUNTIME"
PRECISION_ENV = "IRKIT_PRECISION"
TENSORFLOW = "tensorflow"
OPENVINO = "openvino"
RUNTIMES = (TENSORFLOW, OPENVINO)
FP32 = "fp32"
BF16 = "bf16"
PRECISIONS = (FP32, BF16)
DEFAULT_RUNTIME = TENSORFLOW
DEFAULT_PRECISION = FP32
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # either one runs bf16 matmuls natively
CPUINFO = Path("/proc/cpuinfo")
SAGEMAKER_EQUIVALENT = (
    "the runtime axis is local-only; run this job with the local backend (irkit recommend --backend "
    "local). SageMaker's equivalent is a Neo compilation job (CreateCompilationJob), whose "
    "recommendations carry ModelConfiguration.CompilationJobName"
)


class RuntimeChoice(NamedTuple):
    """The engine and precision one configuration serves with."""

    runtime: str = DEFAULT_RUNTIME
    precision: str = DEFAULT_PRECISION

    @property
    def is_reference(self) -> bool:
        """True for TensorFlow at fp32: the outputs the others are compared with."""
        return self.runtime == TENSORFLOW and self.precision == FP32

    @property
    def label(self) -> str:
        return f"{self.runtime} {self.precision}"


class RuntimeChoiceError(ValueError):
    """A bad runtime setting; ``variable`` is the env variable at fault."""

    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        self.reason = message
        super().__init__(f"{variable}: {message}")


@functools.lru_cache(maxsize=4)
def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo is not there)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def bf16_supported(flags: Iterable[str] | None = None) -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX512_BF16 or AMX)."""
    present = set(cpu_flags() if flags is None else flags)
    return any(flag in present for flag in BF16_CPU_FLAGS)


def runtime_choice(env: Mapping[str, str], *, flags: Iterable[str] | None = None) -> RuntimeChoice:
    """The RuntimeChoice an environment asks for; RuntimeChoiceError naming the variable when it cannot
    be served here (unknown value, bf16 with TensorFlow, bf16 on a CPU without it)."""
    runtime = (env.get(RUNTIME_ENV) or "").strip().lower() or DEFAULT_RUNTIME
    precision = (env.get(PRECISION_ENV) or "").strip().lower() or DEFAULT_PRECISION
    if runtime not in RUNTIMES:
        raise RuntimeChoiceError(RUNTIME_ENV, f"{env.get(RUNTIME_ENV)!r} is not a runtime; use one of {list(RUNTIMES)}")
    if precision not in PRECISIONS:
        raise RuntimeChoiceError(PRECISION_ENV,
                                 f"{env.get(PRECISION_ENV)!r} is not a precision; use one of {list(PRECISIONS)}")
    if precision == BF16 and runtime == TENSORFLOW:
        raise RuntimeChoiceError(PRECISION_ENV, f"bf16 needs {RUNTIME_ENV}={OPENVINO}; the tensorflow runtime "
                                                "serves fp32 only")
    if precision == BF16 and not bf16_supported(flags):
        raise RuntimeChoiceError(PRECISION_ENV, "bf16 needs a CPU with AVX512_BF16 or AMX (flags avx512_bf16 / "
                                                "amx_bf16 in /proc/cpuinfo); this one has neither, use fp32")
    return RuntimeChoice(runtime, precision)


def uses_runtime_axis(env: Mapping[str, object]) -> bool:
    return RUNTIME_ENV in env or PRECISION_ENV in env


def check_for_local(spec: JobSpec, *, flags: Iterable[str] | None = None) -> None:
    """Every combination a local job would test can be served here; SpecError naming the field."""
    for i, r in enumerate(spec.hyperparameter_ranges):
        if not uses_runtime_axis(r.environment):
            continue
        runtimes = r.environment.get(RUNTIME_ENV) or ("",)
        precisions = r.environment.get(PRECISION_ENV) or ("",)
        for runtime, precision in itertools.product(runtimes, precisions):
            try:
                runtime_choice({RUNTIME_ENV: runtime, PRECISION_ENV: precision}, flags=flags)
            except RuntimeChoiceError as exc:
                field = f"hyperparameter_ranges[{i}].{exc.variable}"
                if exc.variable == PRECISION_ENV and precision == BF16 and RUNTIME_ENV not in r.environment:
                    raise SpecError(field, f"{exc.reason} (this range has no {RUNTIME_ENV}: add "
                                           f"{RUNTIME_ENV}: [{OPENVINO}])") from None
                raise SpecError(field, exc.reason) from None


def check_for_sagemaker(spec: JobSpec) -> None:
    """SageMaker has no runtime env parameter: SpecError pointing to the local backend and Neo."""
    for i, r in enumerate(spec.hyperparameter_ranges):
        for variable in (RUNTIME_ENV, PRECISION_ENV):
            if variable in r.environment:
                raise SpecError(f"hyperparameter_ranges[{i}].{variable}", SAGEMAKER_EQUIVALENT)
