"""RightSizeApp: the whole flow on one page, from model to recommendation, composed of the panels."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import ipywidgets as w

from ._common import Panel, heading
from .fleet_planner import FleetPlanner
from .hyperparameters import HyperparameterPanel
from .instance_picker import InstancePicker
from .job_panel import JobPanel
from .model_source import ModelSourcePanel
from .results_explorer import ResultsExplorer
from .runtime_picker import RuntimePicker
from .target_models import TargetModelsEditor
from .traffic import StoppingPanel, TrafficPanel

SPEC_KEYS_FROM_SAGEMAKER_OPTIONS = ("sample_payload_url", "supported_content_types")
MULTI_MODEL_HELP = (
    "<div style='color:#555'>List names to serve copies of your model as a multi-model endpoint "
    "(SageMaker MME semantics: a model loads on its first request, least-recently-used ones are evicted). "
    "The load spreads over them with the popularity you choose, and the results show each model's "
    "cold and warm latency. Leave empty for a single-model endpoint.</div>"
)


def tarball_name(name: str) -> str:
    return name if name.endswith(".tar.gz") else f"{name}.tar.gz"


def model_copies(model: str | os.PathLike[str], names: list[str], folder: Path) -> Path:
    """``folder`` holding ``model`` under each of ``names`` (hard links when possible): an MME's models."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.tar.gz"):
        old.unlink()
    for name in names:
        target = folder / tarball_name(name)
        try:
            os.link(model, target)
        except OSError:
            shutil.copy2(model, target)
    return folder


class RightSizeApp(Panel):
    """Model -> instance types -> settings -> traffic -> stopping -> Run -> recommendation and charts."""

    def __init__(
        self,
        backend: Any = "local",
        *,
        workdir: str | os.PathLike[str] = "irkit-work",
        model_path: str | None = None,
        payload_path: str | None = None,
        weights: str | None = "auto",
        instance_types: list[str] | None = None,
        env_ranges: dict[str, list[Any]] | None = None,
        sagemaker_options: dict[str, Any] | None = None,
        poll_s: float = 1.0,
        runtimes: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        backend_obj = None if isinstance(backend, str) else backend
        backend_name = backend if isinstance(backend, str) else getattr(backend, "name", "local")
        self.sagemaker_options = dict(sagemaker_options or {})
        self.model = ModelSourcePanel(
            workdir, model_path=model_path, payload_path=payload_path, weights=weights
        )
        self.instances = InstancePicker(backend_name, selected=tuple(instance_types or ()))
        self.hyperparameters = HyperparameterPanel(env_ranges)
        self.runtimes = RuntimePicker(runtimes)  # e.g. ["tensorflow fp32", "openvino bf16"]
        self.traffic = TrafficPanel(backend=backend_name)  # the knee search is offered locally only
        self.stopping = StoppingPanel()
        self.targets = TargetModelsEditor()
        self.job = JobPanel(
            self.to_spec,
            backend_obj,
            backend_name=backend_name,
            submit_kwargs=self._submit_kwargs,
            poll_s=poll_s,
        )
        self.results = ResultsExplorer(backend=backend_obj)
        self.fleet = FleetPlanner()
        if not self.instances.selected and self.instances.select.options:
            self.instances.selected = (self.instances.select.options[0][1],)
        self._link((self.job, "backend_name"), (self.instances, "backend"))
        self._link((self.job, "backend_name"), (self.runtimes, "backend"))
        self._link((self.job, "backend_name"), (self.traffic, "backend"))
        self._observe(self.job, self._on_result, "result")
        settings = w.Accordion(
            children=[w.VBox([self.runtimes.box, self.hyperparameters.box])],
            titles=("Container settings to compare (optional)",),
        )
        stopping = w.Accordion(
            children=[self.stopping.box], titles=("When to stop a test (optional)",)
        )
        multi_model = w.Accordion(
            children=[w.VBox([w.HTML(MULTI_MODEL_HELP), self.targets.box])],
            titles=("Multi-model endpoint (optional)",),
        )
        self.box = w.VBox(
            [
                w.HTML(
                    "<h2 style='margin:0'>Right-size your model</h2><div style='color:#555'>Pick where to run "
                    "it, press Run, and get the instance type that serves your traffic at the lowest cost.</div>"
                ),
                heading("1. Model", "What to load test."),
                self.model.box,
                heading("2. Instance types", "Each one is tested in turn."),
                self.instances.box,
                heading("3. Traffic", "How many simulated users send requests: let irkit find the peak, "
                        "or set the users over time."),
                self.traffic.box,
                settings,
                stopping,
                multi_model,
                heading("4. Run"),
                self.job.box,
                heading("5. Recommendation"),
                self.results.box,
                heading("6. Plan your fleet", "From one instance to a fleet: instances, cost per month, "
                        "autoscaling."),
                self.fleet.box,
            ],
            layout=w.Layout(max_width="1000px", padding="0 12px"),
        )

    def to_spec(self) -> Any:
        """The JobSpec the panels describe (no job name yet: the JobPanel gives it one)."""
        from irkit.errors import SpecError
        from irkit.spec import JobSpec

        for panel, field in (
            (self.model, "model"),
            (self.instances, "instance types"),
            (self.hyperparameters, "container settings"),
            (self.runtimes, "runtimes"),
            (self.traffic, "traffic"),
            (self.targets, "target_models"),
        ):
            if panel.errors:
                raise SpecError(field, " ".join(panel.errors))
        types = list(self.instances.selected)
        data: dict[str, Any] = {
            "framework": "TENSORFLOW",
            **self.traffic.spec_fields(),
            **self.stopping.spec_fields(),
            **self.targets.spec_fields(),
        }
        runtime_ranges = self.runtimes.ranges(types, self.hyperparameters.env_ranges)
        if runtime_ranges:  # TensorFlow in one range, OpenVINO and its precisions in another
            from irkit.spec.runtimes import PRECISION_ENV, RUNTIME_ENV

            both = sorted({RUNTIME_ENV, PRECISION_ENV} & set(self.hyperparameters.env_ranges))
            if both:
                raise SpecError("container settings", f"{', '.join(both)}: choose runtimes with the Runtimes "
                                "boxes, not as a variable")
            data["hyperparameter_ranges"] = runtime_ranges
        elif self.hyperparameters.env_ranges:
            data["hyperparameter_ranges"] = [
                {"instance_types": types, **self.hyperparameters.env_ranges}
            ]
        else:
            data["supported_instance_types"] = types
        if (
            self.job.backend_name == "sagemaker"
        ):  # the spec carries the S3 payload; the rest goes to submit
            for key in SPEC_KEYS_FROM_SAGEMAKER_OPTIONS:
                if self.sagemaker_options.get(key):
                    data[key] = self.sagemaker_options[key]
        return JobSpec.from_dict(data)

    @property
    def spec(self) -> Any:
        return self.to_spec()

    def _submit_kwargs(self, backend_name: str) -> dict[str, Any]:
        if backend_name == "local":
            files = self.model.files()
            names = [*self.targets.models, *self.targets.containers]
            if names:  # a multi-model (or multi-container) endpoint of copies of the model
                folder = model_copies(files["model"], names, Path(self.model.workdir) / "multi-model")
                files["model"] = str(folder)
            return files
        return {
            k: v
            for k, v in self.sagemaker_options.items()
            if k not in SPEC_KEYS_FROM_SAGEMAKER_OPTIONS
        }

    def _on_result(self, change: Any) -> None:
        self.results.backend = self.job._backend
        self.results.result = change["new"]
        self.fleet.result = change["new"]

    def close(self) -> None:
        for panel in (
            self.model,
            self.instances,
            self.hyperparameters,
            self.runtimes,
            self.traffic,
            self.stopping,
            self.targets,
            self.job,
            self.results,
            self.fleet,
        ):
            panel.close()
        super().close()
