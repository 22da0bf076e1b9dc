"""ipywidgets panels over a JobSpec, installed as ``irkit.widgets``.

Each panel keeps its state in traitlets, links its controls to them, displays through its box and
unhooks its handlers in ``close()``. None of them calls boto3, subprocess or the network: the
JobPanel drives a backend object (``irkit.backends.get_backend("local")`` by default).
"""

from __future__ import annotations

from .app import RightSizeApp
from .fleet_planner import FleetPlanner
from .hyperparameters import HyperparameterPanel
from .instance_picker import InstancePicker
from .job_panel import JobPanel
from .model_source import ModelSourcePanel
from .results_explorer import ResultsExplorer
from .runtime_picker import RuntimePicker
from .target_models import TargetModelsEditor
from .traffic import StoppingPanel, TrafficPanel

__all__ = [
    "FleetPlanner",
    "HyperparameterPanel",
    "RuntimePicker",
    "InstancePicker",
    "JobPanel",
    "ModelSourcePanel",
    "ResultsExplorer",
    "RightSizeApp",
    "StoppingPanel",
    "TargetModelsEditor",
    "TrafficPanel",
]
