"""RuntimePicker: which runtimes and precisions the job compares (the runtime axis, docs/runtimes.md).

Each choice is a (runtime, precision) pair: TensorFlow fp32 (the default and the reference),
OpenVINO fp32, OpenVINO bf16. bf16 is offered only where the CPU has AVX512_BF16 or AMX, and the
whole axis only on the local backend (SageMaker's equivalent is a Neo compilation job). ``ranges``
turns the choice into ``hyperparameter_ranges`` entries: TensorFlow in one range, OpenVINO with its
precisions in another, so no range asks for TensorFlow at bf16.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from irkit.spec.runtimes import (
    BF16,
    FP32,
    OPENVINO,
    PRECISION_ENV,
    RUNTIME_ENV,
    TENSORFLOW,
    bf16_supported,
)

from ._common import MUTED_COLOR, Panel, message_html

CHOICES = ((TENSORFLOW, FP32), (OPENVINO, FP32), (OPENVINO, BF16))
LABELS = {(TENSORFLOW, FP32): "TensorFlow fp32 (the reference)", (OPENVINO, FP32): "OpenVINO fp32",
          (OPENVINO, BF16): "OpenVINO bf16"}
DEFAULT = ((TENSORFLOW, FP32),)
HELP = ("Another runtime can serve the same model for less. Each one is a test of its own; OpenVINO's answers "
        "are compared with TensorFlow's (fidelity) and shown beside the cost.")


def choice_key(runtime: str, precision: str) -> str:
    return f"{runtime} {precision}"


def runtime_ranges(chosen: list[tuple[str, str]], instance_types: list[str],
                   env_ranges: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """``hyperparameter_ranges`` for ``chosen`` (runtime, precision) pairs; [] when only the default is
    chosen (the spec then says nothing about runtimes, as before the axis existed)."""
    if list(chosen) == list(DEFAULT) or not chosen:
        return []
    out = []
    if (TENSORFLOW, FP32) in chosen:
        out.append({"instance_types": list(instance_types), **env_ranges, RUNTIME_ENV: [TENSORFLOW]})
    precisions = [p for r, p in CHOICES if r == OPENVINO and (r, p) in chosen]
    if precisions:
        out.append({"instance_types": list(instance_types), **env_ranges, RUNTIME_ENV: [OPENVINO],
                    PRECISION_ENV: precisions})
    return out


class RuntimePicker(Panel):
    """Checkboxes per (runtime, precision). ``chosen`` lists the ticked ones as ``"openvino bf16"``."""

    chosen: traitlets.List[str] = traitlets.List([choice_key(*c) for c in DEFAULT])
    backend = traitlets.Unicode("local")
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(self, chosen: list[str] | None = None, *, bf16: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bf16_available = bf16_supported() if bf16 is None else bf16
        self.boxes = {c: w.Checkbox(value=False, description=LABELS[c], indent=False,
                                    layout=w.Layout(width="260px")) for c in CHOICES}
        self.note = w.HTML()
        self.message_html = w.HTML()
        self.box = w.VBox([w.HTML(f"<b>Runtimes</b> <span style='color:{MUTED_COLOR};font-size:0.9em'>"
                                  f"{HELP}</span>"), w.HBox(list(self.boxes.values())), self.note,
                           self.message_html])
        for box in self.boxes.values():
            self._observe(box, self._sync, "value")
        self._observe(self, self._on_backend, "backend")
        self._observe(self, self._show_errors, "errors")
        for choice in CHOICES:
            self.boxes[choice].value = choice_key(*choice) in (chosen or self.chosen)
        self._on_backend(None)

    def pairs(self) -> list[tuple[str, str]]:
        return [c for c in CHOICES if choice_key(*c) in self.chosen]

    def ranges(self, instance_types: list[str], env_ranges: dict[str, list[Any]]) -> list[dict[str, Any]]:
        return runtime_ranges(self.pairs(), instance_types, env_ranges)

    def _on_backend(self, _change: Any) -> None:
        local = self.backend == "local"
        for choice, box in self.boxes.items():
            box.disabled = not local or (choice[1] == BF16 and not self.bf16_available)
        notes = []
        if not local:
            notes.append("The runtime axis runs on the local backend; on SageMaker the equivalent is a Neo "
                         "compilation job (ModelConfiguration.CompilationJobName).")
        elif not self.bf16_available:
            notes.append("bf16 needs a CPU with AVX512_BF16 or AMX; this one has neither.")
        self.note.value = (f"<span style='color:{MUTED_COLOR};font-size:0.85em'>{' '.join(notes)}</span>"
                           if notes else "")
        self._sync(None)

    def _sync(self, _change: Any) -> None:
        ticked = [c for c, box in self.boxes.items() if box.value and not box.disabled]
        if self.backend != "local":
            ticked = list(DEFAULT)
        self.errors = [] if ticked else ["tick at least one runtime (TensorFlow fp32 is the default)."]
        if ticked:
            self.chosen = [choice_key(*c) for c in ticked]

    def _show_errors(self, change: Any) -> None:
        self.message_html.value = message_html(change["new"])
