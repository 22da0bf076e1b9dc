"""TrafficPanel (PHASES rows or STAIRS, with a live users-over-time preview) and StoppingPanel."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from irkit.spec import traffic as shapes

from ._common import Panel, chart_html, message_html, readable_error

PHASES, STAIRS = "PHASES", "STAIRS"
def _int() -> dict[str, Any]:
    """A fresh Layout per control (a shared Layout model would tie their display/size together)."""
    return {"layout": w.Layout(width="190px"), "style": {"description_width": "105px"}}


def users_over_time(
    traffic_type: str, phases: list[dict[str, int]], stairs: dict[str, int]
) -> list[dict[str, float]]:
    """Points (seconds, users) of the load shape (``irkit.spec.traffic.timeline``), as in IR."""
    traffic = {"stairs": stairs} if traffic_type == STAIRS else {"phases": phases}
    return [{"seconds": p.seconds, "users": p.users} for p in shapes.timeline(traffic)]


def traffic_chart(traffic_type: str, phases: list[dict[str, int]], stairs: dict[str, int]) -> Any:
    """The preview chart: charts.traffic_preview when it exists, else a line of users over time."""
    try:
        from irkit.results import charts

        preview = getattr(charts, "traffic_preview", None)
    except ImportError:
        preview = None
    if preview is not None:
        from irkit.spec import JobSpec

        spec = JobSpec.from_dict(
            {"phases": phases} if traffic_type == PHASES else {"stairs": stairs}
        )
        return preview(spec.traffic())
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(users_over_time(traffic_type, phases, stairs))
    return (
        alt.Chart(frame, title="Simulated users over time")
        .mark_line(interpolate="linear", point=True)
        .encode(
            x=alt.X("seconds:Q", title="time (s)"), y=alt.Y("users:Q", title="concurrent users")
        )
        .properties(width=420, height=160)
    )


class _PhaseRow:
    def __init__(self, users: int, spawn_rate: int, duration: int) -> None:
        self.users = w.BoundedIntText(
            value=users, min=1, max=10_000, description="Initial users", **_int()
        )
        self.spawn_rate = w.BoundedIntText(
            value=spawn_rate, min=0, max=10_000, description="Users +/min", **_int()
        )
        self.duration = w.BoundedIntText(
            value=duration, min=1, max=18_000, description="Duration (s)", **_int()
        )
        self.remove = w.Button(description="Remove", icon="trash", layout=w.Layout(width="100px"))
        self.box = w.HBox([self.users, self.spawn_rate, self.duration, self.remove])

    def value(self) -> dict[str, int]:
        return {
            "initial_number_of_users": self.users.value,
            "spawn_rate": self.spawn_rate.value,
            "duration_in_seconds": self.duration.value,
        }


class TrafficPanel(Panel):
    """The load shape. ``traffic_type`` picks PHASES (``phases``) or STAIRS (``stairs``)."""

    traffic_type = traitlets.Enum([PHASES, STAIRS], default_value=STAIRS)
    phases: traitlets.List[Any] = traitlets.List()
    stairs_duration = traitlets.Int(15)
    stairs_steps = traitlets.Int(4)
    users_per_step = traitlets.Int(1)
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(self, *, preview: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._preview = preview
        self._rows: list[_PhaseRow] = []
        self.type_toggle = w.ToggleButtons(
            options=[
                ("Stairs: add users step by step", STAIRS),
                ("Phases: ramps you define", PHASES),
            ],
            style={"button_width": "auto"},
        )
        self.step_duration = w.BoundedIntText(
            min=1, max=3600, description="Step length (s)", **_int()
        )
        self.step_count = w.BoundedIntText(min=1, max=100, description="Steps", **_int())
        self.step_users = w.BoundedIntText(min=1, max=3, description="Users +/step", **_int())
        self.stairs_box = w.HBox([self.step_duration, self.step_count, self.step_users])
        self.rows_box = w.VBox()
        self.add_button = w.Button(description="Add phase", icon="plus")
        self.phases_box = w.VBox([self.rows_box, self.add_button])
        self.message_html = w.HTML()
        self.preview_html = w.HTML()
        self.box = w.VBox(
            [
                self.type_toggle,
                self.stairs_box,
                self.phases_box,
                self.message_html,
                self.preview_html,
            ]
        )
        self._link((self, "traffic_type"), (self.type_toggle, "value"))
        self._link((self, "stairs_duration"), (self.step_duration, "value"))
        self._link((self, "stairs_steps"), (self.step_count, "value"))
        self._link((self, "users_per_step"), (self.step_users, "value"))
        self._on_click(self.add_button, lambda _b: self.add_phase())
        self._observe(
            self,
            self._refresh,
            ["traffic_type", "phases", "stairs_duration", "stairs_steps", "users_per_step"],
        )
        if not self.phases:
            self.add_phase(1, 2, 30)
        else:
            for phase in list(self.phases):
                self.add_phase(
                    phase["initial_number_of_users"],
                    phase["spawn_rate"],
                    phase["duration_in_seconds"],
                )
        self._refresh(None)

    # ---- phase rows ------------------------------------------------------------------------
    def add_phase(
        self, users: int | None = None, spawn_rate: int = 2, duration: int = 30
    ) -> _PhaseRow:
        if users is None:
            users = self._rows[-1].value()["initial_number_of_users"] + 1 if self._rows else 1
        row = _PhaseRow(users, spawn_rate, duration)
        for control in (row.users, row.spawn_rate, row.duration):
            self._observe(control, self._rows_changed, "value")
        self._on_click(row.remove, lambda _b, row=row: self.remove_phase(row))
        self._rows.append(row)
        self._rows_changed(None)
        return row

    def remove_phase(self, row: _PhaseRow) -> None:
        self._rows.remove(row)
        row.box.close()
        self._rows_changed(None)

    @property
    def phase_rows(self) -> list[_PhaseRow]:
        return list(self._rows)

    def _rows_changed(self, _change: Any) -> None:
        self.rows_box.children = [r.box for r in self._rows]
        self.phases = [r.value() for r in self._rows]

    # ---- spec pieces -----------------------------------------------------------------------
    def spec_fields(self) -> dict[str, Any]:
        """The spec keys this panel owns: ``traffic_type`` and ``stairs`` or ``phases``."""
        if self.traffic_type == STAIRS:
            return {"traffic_type": STAIRS, "stairs": self._stairs()}
        return {"traffic_type": PHASES, "phases": list(self.phases)}

    def _stairs(self) -> dict[str, int]:
        return {
            "duration_in_seconds": self.stairs_duration,
            "number_of_steps": self.stairs_steps,
            "users_per_step": self.users_per_step,
        }

    def _refresh(self, _change: Any) -> None:
        stairs = self.traffic_type == STAIRS
        self.stairs_box.layout.display = None if stairs else "none"
        self.phases_box.layout.display = "none" if stairs else None
        problems = []
        if not stairs and not self.phases:
            problems.append("Add at least one phase.")
        else:
            try:
                from irkit.spec import JobSpec

                JobSpec.from_dict(self.spec_fields())
            except Exception as exc:
                problems.append(readable_error(exc))
        self.errors = problems
        self.message_html.value = message_html(problems)
        if self._preview and not problems:
            try:
                self.preview_html.value = chart_html(
                    traffic_chart(self.traffic_type, list(self.phases), self._stairs())
                )
            except Exception as exc:
                self.preview_html.value = message_html(
                    f"preview unavailable: {readable_error(exc)}", "note"
                )


class StoppingPanel(Panel):
    """IR's stopping conditions: max invocations, a latency threshold (P95/P99 ms), flat invocations."""

    max_invocations = traitlets.Int(0)  # 0: no limit
    percentile = traitlets.Enum(["P95", "P99"], default_value="P95")
    threshold_ms = traitlets.Int(1000)  # 0: no threshold
    flat_invocations = traitlets.Enum(["Continue", "Stop"], default_value="Stop")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        style = {"description_width": "230px"}
        self.max_box = w.BoundedIntText(
            min=0,
            max=10_000_000,
            description="Max requests/min (0 = none)",
            style=style,
            layout=w.Layout(width="360px"),
        )
        self.percentile_box = w.Dropdown(
            options=["P95", "P99"],
            description="Latency percentile",
            style=style,
            layout=w.Layout(width="360px"),
        )
        self.threshold_box = w.BoundedIntText(
            min=0,
            max=600_000,
            description="Latency limit (ms, 0 = none)",
            style=style,
            layout=w.Layout(width="360px"),
        )
        self.flat_box = w.Dropdown(
            options=[("Stop the test", "Stop"), ("Keep going", "Continue")],
            description="When throughput stops growing",
            style=style,
            layout=w.Layout(width="420px"),
        )
        self.box = w.VBox([self.threshold_box, self.percentile_box, self.max_box, self.flat_box])
        self._link((self, "max_invocations"), (self.max_box, "value"))
        self._link((self, "percentile"), (self.percentile_box, "value"))
        self._link((self, "threshold_ms"), (self.threshold_box, "value"))
        self._link((self, "flat_invocations"), (self.flat_box, "value"))

    def spec_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flat_invocations": self.flat_invocations}
        if self.max_invocations:
            out["max_invocations"] = self.max_invocations
        if self.threshold_ms:
            out["model_latency_thresholds"] = [
                {"percentile": self.percentile, "value_in_milliseconds": self.threshold_ms}
            ]
        return out

    @property
    def errors(self) -> list[str]:
        return []
