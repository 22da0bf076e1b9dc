"""irkit: load test and right-size model endpoints, in the cloud or offline.

``import irkit`` is light: tensorflow, boto3, altair and locust are never imported here.
Heavy pieces load when the function that needs them is called.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first attribute access)
_LAZY = {
    "IrkitError": "irkit.errors",
    "SpecError": "irkit.errors",
    "JobSpec": "irkit.spec.jobspec",
    "load_spec": "irkit.spec.jobspec",
    "submit": "irkit.jobs",
    "status": "irkit.jobs",
    "wait": "irkit.jobs",
    "stop": "irkit.jobs",
    "fetch_results": "irkit.jobs",  # irkit.results is the results package
    "right_size": "irkit.jobs",
    "Store": "irkit.store",
    "LocalBackend": "irkit.backends.local",
    "SageMakerBackend": "irkit.backends.sagemaker",  # imports boto3 on first use only
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'irkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
