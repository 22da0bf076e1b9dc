"""Lazy imports of optional, heavy dependencies with an actionable message."""

from __future__ import annotations

import importlib
from types import ModuleType

from irkit.errors import MissingDependencyError

# module -> (pip extra or package, what it is needed for)
_HINTS = {
    "tensorflow": ("irkit", "the ResNet50 model and the local model server"),
    "boto3": ("irkit[aws]", "the SageMaker backend"),
    "botocore": ("irkit[aws]", "the SageMaker backend"),
    "sagemaker": ("irkit[aws]", "the SageMaker backend"),
    "altair": ("irkit", "charts"),
    "vl_convert": ("irkit", "PNG charts"),
    "voila": ("irkit[app]", "the Voila app"),
    "papermill": ("irkit", "headless notebook runs"),
}


def optional_import(name: str) -> ModuleType:
    """Import ``name`` or raise MissingDependencyError saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra, purpose = _HINTS.get(top, (top, "this feature"))
        raise MissingDependencyError(
            f"{top} is needed for {purpose} but is not installed: pip install '{extra}'"
        ) from exc
