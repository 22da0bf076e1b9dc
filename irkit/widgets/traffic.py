"""TrafficPanel (a knee search, PHASES rows or STAIRS, with a live preview) and StoppingPanel."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import traitlets

from irkit.spec import traffic as shapes
from irkit.spec.fields import MAX_KNEE_USERS

from ._common import Panel, chart_html, message_html, readable_error

KNEE_SEARCH, PHASES, STAIRS = "KNEE_SEARCH", "PHASES", "STAIRS"
CHOICE_LABELS = {
    KNEE_SEARCH: "Find the peak (knee search)",
    STAIRS: "Stairs: add users step by step",
    PHASES: "Phases: ramps you define",
}
KNEE_SEARCH_BACKENDS = ("local",)  # knee_search is a local-only spec key: SageMaker refuses it
# the panel's knee_search, as in examples/demo-local.yaml (the `make demo` job)
KNEE_DEFAULTS: dict[str, Any] = {"max_users": 16, "window_seconds": 1.0, "min_requests": 8, "max_level_seconds": 8.0}


def _int(width: str = "190px", label_width: str = "105px") -> dict[str, Any]:
    """A fresh Layout per control (a shared Layout model would tie their display/size together)."""
    return {"layout": w.Layout(width=width), "style": {"description_width": label_width}}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def knee_search_html(knee_search: Mapping[str, Any] | None = None) -> str:
    """What a knee search with these ``knee_search`` settings will do, in plain words (the preview)."""
    from irkit.load.knee_search import GROWTH, KneeSettings

    s = KneeSettings.from_value(knee_search)
    levels, users = [], 1
    while True:
        levels.append(users)
        if users >= s.max_users:
            break
        users = min(users * 2, s.max_users)
    shown = ", ".join(map(str, levels)) if len(levels) <= 8 else f"1, 2, 4, \u2026 {s.max_users}"
    steps = [
        f"Each configuration starts with 1 user, then doubles ({shown} users) until throughput grows by "
        f"less than {GROWTH:.0%}, the latency or error limit is broken, or {s.max_users} users are reached.",
        "Then it tries the user counts in between to find the knee: the fewest users that reach the "
        "peak throughput, and the most that stay inside the latency limit.",
        "Last, it measures the best level once more: the peak requests/min comes from both measurements, "
        "so one lucky reading cannot inflate it.",
        f"Each level is measured in windows of {s.window_seconds:g} s (at least {s.min_requests} answers "
        f"each) until the last 3 agree within {s.stability:.0%}, for at most {s.max_level_seconds:g} s; "
        "a level that never settles is marked unstable.",
    ]
    items = "".join(f"<li>{html.escape(line)}</li>" for line in steps)
    return (
        "<div class='irkit-knee-plan' style='font-size:0.9em;line-height:1.4;max-width:640px'>"
        "<b>No fixed schedule: irkit looks for the peak throughput itself.</b>"
        f"<ol style='margin:0.3em 0;padding-left:1.4em'>{items}</ol>"
        "You get the peak requests/min with its 95% interval, and the latency at the knee. "
        f"If throughput still grows at {s.max_users} users, the result is a lower bound: raise Max users. "
        f"At most about {_duration(s.bound_s())} per configuration, usually much less. Runs on this "
        "machine only.</div>"
    )


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
    """The load. ``traffic_type`` picks KNEE_SEARCH (``knee_*``), PHASES (``phases``) or STAIRS (``stairs_*``).

    The knee search is offered, and is the default, only where ``backend`` runs it (the local one); on
    SageMaker the choice is not offered and the panel falls back to STAIRS.
    """

    backend = traitlets.Unicode("local")
    traffic_type = traitlets.Enum([KNEE_SEARCH, PHASES, STAIRS], default_value=KNEE_SEARCH)
    knee_max_users = traitlets.Int(KNEE_DEFAULTS["max_users"])
    knee_window_seconds = traitlets.Float(KNEE_DEFAULTS["window_seconds"])
    knee_max_level_seconds = traitlets.Float(KNEE_DEFAULTS["max_level_seconds"])
    knee_min_requests = traitlets.Int(KNEE_DEFAULTS["min_requests"])  # no control: the demo's value
    phases: traitlets.List[Any] = traitlets.List()
    stairs_duration = traitlets.Int(15)
    stairs_steps = traitlets.Int(4)
    users_per_step = traitlets.Int(1)
    errors: traitlets.List[Any] = traitlets.List()

    def __init__(self, *, preview: bool = True, **kwargs: Any) -> None:
        self._knee_fell_back = False  # STAIRS stands in for a knee search the backend does not run
        super().__init__(**kwargs)
        self.traffic_type = self._offered_choice()  # the default (KNEE_SEARCH) is not validated
        self._preview = preview
        self._rows: list[_PhaseRow] = []
        self.type_toggle = w.ToggleButtons(options=self._choices(), style={"button_width": "auto"})
        self.knee_users = w.BoundedIntText(min=1, max=MAX_KNEE_USERS, description="Max users", **_int())
        self.knee_window = w.BoundedFloatText(
            min=0.5, max=60, step=0.5, description="Window (s)", **_int()
        )
        self.knee_level_cap = w.BoundedFloatText(
            min=1, max=600, step=1, description="Max seconds per level", **_int("250px", "160px")
        )
        self.knee_box = w.HBox([self.knee_users, self.knee_window, self.knee_level_cap])
        self.note_html = w.HTML(self._note())
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
                self.note_html,
                self.knee_box,
                self.stairs_box,
                self.phases_box,
                self.message_html,
                self.preview_html,
            ]
        )
        self._link((self, "traffic_type"), (self.type_toggle, "value"))
        self._link((self, "knee_max_users"), (self.knee_users, "value"))
        self._link((self, "knee_window_seconds"), (self.knee_window, "value"))
        self._link((self, "knee_max_level_seconds"), (self.knee_level_cap, "value"))
        self._link((self, "stairs_duration"), (self.step_duration, "value"))
        self._link((self, "stairs_steps"), (self.step_count, "value"))
        self._link((self, "users_per_step"), (self.step_users, "value"))
        self._on_click(self.add_button, lambda _b: self.add_phase())
        self._observe(
            self,
            self._refresh,
            ["traffic_type", "phases", "stairs_duration", "stairs_steps", "users_per_step", "knee_max_users",
             "knee_window_seconds", "knee_max_level_seconds", "knee_min_requests"],
        )
        self._observe(self, self._on_backend, "backend")
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

    # ---- the choices the backend runs ------------------------------------------------------
    @property
    def knee_search_offered(self) -> bool:
        return self.backend in KNEE_SEARCH_BACKENDS

    def _choices(self) -> list[tuple[str, str]]:
        offered = [KNEE_SEARCH, STAIRS, PHASES] if self.knee_search_offered else [STAIRS, PHASES]
        return [(CHOICE_LABELS[c], c) for c in offered]

    @traitlets.validate("traffic_type")
    def _valid_traffic_type(self, proposal: Any) -> str:
        if proposal["value"] == KNEE_SEARCH and not self.knee_search_offered:
            self._knee_fell_back = True
            return STAIRS
        return str(proposal["value"])

    def _offered_choice(self) -> str:
        """``traffic_type`` where the backend runs it; else STAIRS, and the knee search again once it does."""
        if not self.knee_search_offered and self.traffic_type == KNEE_SEARCH:
            self._knee_fell_back = True
            return STAIRS
        if self.knee_search_offered and self._knee_fell_back:
            self._knee_fell_back = False
            return KNEE_SEARCH if self.traffic_type == STAIRS else self.traffic_type
        return self.traffic_type

    def _note(self) -> str:
        if self.knee_search_offered:
            return ""
        where = {"sagemaker": "SageMaker"}.get(self.backend, self.backend)
        return message_html(f"{CHOICE_LABELS[KNEE_SEARCH]} runs on this machine only: {where} runs stairs "
                            "or phases.", "note")

    def _on_backend(self, _change: Any) -> None:
        wanted = self._offered_choice()
        self.type_toggle.options = self._choices()  # this selects the first option ...
        self.traffic_type = wanted  # ... so set the choice again
        self.note_html.value = self._note()

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
        """The spec keys this panel owns: ``knee_search``, or ``traffic_type`` and ``stairs`` or ``phases``."""
        if self.traffic_type == KNEE_SEARCH:
            return {"knee_search": self._knee()}
        if self.traffic_type == STAIRS:
            return {"traffic_type": STAIRS, "stairs": self._stairs()}
        return {"traffic_type": PHASES, "phases": list(self.phases)}

    def _stairs(self) -> dict[str, int]:
        return {
            "duration_in_seconds": self.stairs_duration,
            "number_of_steps": self.stairs_steps,
            "users_per_step": self.users_per_step,
        }

    def _knee(self) -> dict[str, Any]:
        return {
            "max_users": self.knee_max_users,
            "window_seconds": self.knee_window_seconds,
            "min_requests": self.knee_min_requests,
            "max_level_seconds": self.knee_max_level_seconds,
        }

    def _refresh(self, _change: Any) -> None:
        kind = self.traffic_type
        for box, shown in ((self.knee_box, KNEE_SEARCH), (self.stairs_box, STAIRS), (self.phases_box, PHASES)):
            box.layout.display = None if kind == shown else "none"
        problems = []
        if kind == PHASES and not self.phases:
            problems.append("Add at least one phase.")
        else:
            try:
                from irkit.spec import JobSpec

                JobSpec.from_dict(self.spec_fields())
            except Exception as exc:
                problems.append(readable_error(exc))
        self.errors = problems
        self.message_html.value = message_html(problems)
        if problems:
            self.preview_html.value = ""
        elif kind == KNEE_SEARCH:  # no users-over-time chart: the search picks the levels as it goes
            self.preview_html.value = knee_search_html(self._knee())
        elif self._preview:
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
