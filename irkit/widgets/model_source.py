"""ModelSourcePanel: the sample model, or an uploaded image and model tarball; resolves files to submit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, message_html

SAMPLE, UPLOAD = "sample", "upload"
MODEL_ENV, PAYLOAD_ENV = (
    "IRKIT_APP_MODEL",
    "IRKIT_APP_PAYLOAD",
)  # set by `irkit app --model/--payload`


class ModelSourcePanel(Panel):
    """``source`` is "sample" (irkit's sample model and image) or "upload" (the files chosen here)."""

    source = traitlets.Enum([SAMPLE, UPLOAD], default_value=SAMPLE)
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(
        self,
        workdir: str | os.PathLike[str] = "irkit-work",
        *,
        model_path: str | None = None,
        payload_path: str | None = None,
        weights: str | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workdir = Path(workdir)
        self.model_path = model_path or os.environ.get(MODEL_ENV) or None
        self.payload_path = payload_path or os.environ.get(PAYLOAD_ENV) or None
        self.weights = weights
        sample_label = "Sample model (image classifier) and sample image"
        if self.model_path:
            sample_label = f"Prepared model: {Path(self.model_path).name}"
        self.source_toggle = w.RadioButtons(
            options=[(sample_label, SAMPLE), ("Upload my own files", UPLOAD)]
        )
        self.image_upload = w.FileUpload(
            accept="image/*,.json,.npy", multiple=False, description="Sample input"
        )
        self.model_upload = w.FileUpload(
            accept=".tar.gz,.gz", multiple=False, description="model.tar.gz"
        )
        self.upload_box = w.VBox(
            [
                w.HTML(
                    "<span style='color:#555'>A sample request (an image, or a JSON/.npy input) and the model "
                    "archive (a TensorFlow SavedModel in model.tar.gz).</span>"
                ),
                w.HBox([self.image_upload, self.model_upload]),
            ]
        )
        self.message_html = w.HTML()
        self.box = w.VBox([self.source_toggle, self.upload_box, self.message_html])
        self._link((self, "source"), (self.source_toggle, "value"))
        self._observe(self, self._refresh, "source")
        self._observe(self.image_upload, self._refresh, "value")
        self._observe(self.model_upload, self._refresh, "value")
        self._refresh(None)

    def _refresh(self, _change: Any) -> None:
        self.upload_box.layout.display = None if self.source == UPLOAD else "none"
        problems = []
        if self.source == UPLOAD:
            if not self.image_upload.value:
                problems.append("Choose a sample input file (an image).")
            if not self.model_upload.value:
                problems.append("Choose the model archive (model.tar.gz).")
        self.errors = problems
        self.message_html.value = message_html(problems, "note")

    def files(self) -> dict[str, str]:
        """``{"model": path, "payload": path}`` for the local backend; builds the sample when needed (slow)."""
        if self.source == UPLOAD:
            if self.errors:
                from irkit.errors import SpecError

                raise SpecError("upload", " ".join(self.errors))
            return {
                "model": str(self._save(self.model_upload, "model")),
                "payload": str(self._save(self.image_upload, "payload")),
            }
        model = Path(self.model_path) if self.model_path else self.workdir / "model.tar.gz"
        payload = Path(self.payload_path) if self.payload_path else self.workdir / "payload.tar.gz"
        if not model.exists() or not payload.exists():
            from irkit import packaging  # heavy: TensorFlow

            self.workdir.mkdir(parents=True, exist_ok=True)

            if not model.exists():
                from irkit.model import load_model

                packaging.build_model_tarball(load_model(self.weights), model)
            if not payload.exists():
                packaging.build_payload_tarball(payload)
        return {"model": str(model), "payload": str(payload)}

    def _save(self, upload: w.FileUpload, stem: str) -> Path:
        item = upload.value[0]
        name = Path(item["name"]).name
        target = self.workdir / "uploads" / name
        if stem == "model" and not name.endswith((".tar.gz", ".tgz")):
            target = target.with_name("model.tar.gz")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(item["content"]))
        return target
