"""InstancePicker: choose up to 10 instance types, SageMaker (filterable by family) or local."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from ._common import Panel, message_html

MAX_INSTANCE_TYPES = 10  # IR's limit on endpoint configurations
ALL_FAMILIES = "all families"


def _money(value: float | None, estimate: bool = False) -> str:
    if value is None:
        return "price unknown"
    return f"${value:.3f}/hour" + (" (estimate)" if estimate else "")


def family_of(instance_type: str) -> str:
    """``ml.c5.xlarge`` -> ``c5``; ``local.cpu2`` -> ``local``."""
    parts = instance_type.split(".")
    return parts[1] if parts[0] == "ml" and len(parts) > 2 else parts[0]


def instance_choices(backend: str) -> list[tuple[str, str]]:
    """(label, instance type) pairs with vCPU, memory, GPU and $/hour, for the backend's types."""
    from irkit import instances

    if backend == "local":
        out = []
        for name in instances.local_instance_types():
            profile = instances.local_profile(name)
            cpus = len(profile.cpus)
            label = f"{name}  |  {cpus} CPU{'s' if cpus > 1 else ''} of this machine  |  " + _money(
                profile.price_per_hour, profile.price_is_estimate
            )
            out.append((label, name))
        return out
    out = []
    for item in instances.catalog():
        gpus = f"{item.gpus} GPU" if item.gpus else "no GPU"
        label = (
            f"{item.instance_type}  |  {item.vcpus} vCPU  |  {item.memory_gib:g} GiB  |  {gpus}  |  "
            + _money(item.price_per_hour)
        )
        out.append((label, item.instance_type))
    return out


class InstancePicker(Panel):
    """Multi-select of instance types. ``selected`` (a tuple of names) is the state; at most 10."""

    backend = traitlets.Unicode("local")
    family = traitlets.Unicode(ALL_FAMILIES)
    selected = traitlets.Tuple()
    message = traitlets.Unicode("")

    def __init__(
        self, backend: str = "local", selected: tuple[str, ...] | list[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._choices: list[tuple[str, str]] = []
        self._syncing = False
        self.family_dropdown = w.Dropdown(
            options=[ALL_FAMILIES], description="Family", layout=w.Layout(width="260px")
        )
        self.select = w.SelectMultiple(rows=8, layout=w.Layout(width="100%", max_width="760px"))
        self.count_label = w.HTML()
        self.message_html = w.HTML()
        hint = w.HTML(
            "<span style='color:#555;font-size:0.9em'>Ctrl/Cmd-click or Shift-click to pick "
            f"several (at most {MAX_INSTANCE_TYPES}).</span>"
        )
        self.box = w.VBox(
            [w.HBox([self.family_dropdown, self.count_label]), self.select, hint, self.message_html]
        )
        self._link((self, "family"), (self.family_dropdown, "value"))
        self._observe(self.select, self._on_select, "value")
        self._observe(self, self._on_backend, "backend")
        self._observe(self, self._refresh_options, "family")
        self._observe(self, self._on_selected, "selected")
        self._observe(
            self,
            lambda change: setattr(self.message_html, "value", message_html(change["new"])),
            "message",
        )
        self.backend = backend
        self._on_backend(None)
        if selected:
            self.selected = tuple(selected)

    # ---- state -> controls -----------------------------------------------------------------
    def _on_backend(self, _change: Any) -> None:
        try:
            self._choices = instance_choices(self.backend)
            self.message = ""
        except Exception as exc:  # a broken catalog file must not take the panel down
            from ._common import readable_error

            self._choices = []
            self.message = f"cannot list instance types: {readable_error(exc)}"
        families = sorted({family_of(name) for _, name in self._choices})
        self.family = ALL_FAMILIES
        self.family_dropdown.options = [ALL_FAMILIES, *families]
        known = {name for _, name in self._choices}
        self.selected = tuple(name for name in self.selected if name in known)
        self._refresh_options(None)

    def _visible(self) -> list[tuple[str, str]]:
        if self.family == ALL_FAMILIES:
            return self._choices
        return [c for c in self._choices if family_of(c[1]) == self.family]

    def _refresh_options(self, _change: Any) -> None:
        visible = self._visible()
        self._syncing = True
        try:
            self.select.value = ()
            self.select.rows = max(2, min(8, len(visible)))
            self.select.options = visible
            names = {name for _, name in visible}
            self.select.value = tuple(name for name in self.selected if name in names)
        finally:
            self._syncing = False
        self._update_count()

    def _on_selected(self, change: Any) -> None:
        chosen = tuple(dict.fromkeys(change["new"]))
        if len(chosen) > MAX_INSTANCE_TYPES:
            self.selected = chosen[:MAX_INSTANCE_TYPES]
            self.message = f"At most {MAX_INSTANCE_TYPES} instance types can be tested in one job; kept the first {MAX_INSTANCE_TYPES}."
            return
        if chosen != change["new"]:
            self.selected = chosen
            return
        names = {name for _, name in self.select.options}
        want = tuple(name for name in chosen if name in names)
        if tuple(self.select.value) != want:
            self._syncing = True
            try:
                self.select.value = want
            finally:
                self._syncing = False
        self._update_count()

    # ---- controls -> state -----------------------------------------------------------------
    def _on_select(self, change: Any) -> None:
        if self._syncing:
            return
        visible = {name for _, name in self.select.options}
        hidden = [name for name in self.selected if name not in visible]
        picked = tuple(hidden + [name for name in change["new"]])
        if len(picked) <= MAX_INSTANCE_TYPES and self.message.startswith("At most"):
            self.message = ""
        self.selected = picked

    def _update_count(self) -> None:
        n = len(self.selected)
        text = ", ".join(self.selected) if n else "none yet: pick at least one"
        self.count_label.value = f"<b>{n} chosen</b>: {text}"

    @property
    def errors(self) -> list[str]:
        return [] if self.selected else ["Pick at least one instance type."]
