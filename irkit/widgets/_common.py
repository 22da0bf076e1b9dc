"""Small helpers the panels share: readable error text and message boxes (no logic of their own)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets

ERROR_COLOR = "#b00020"
OK_COLOR = "#1b5e20"
MUTED_COLOR = "#555"


def readable_error(exc: BaseException) -> str:
    """One line a person can act on: irkit errors carry their own message; others get their type."""
    from irkit.errors import IrkitError

    if isinstance(exc, IrkitError):
        return str(exc)
    text = str(exc).strip() or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, ValueError) else text


def message_html(lines: list[str] | str, kind: str = "error") -> str:
    """HTML for a list of messages; empty string when there is nothing to say."""
    if isinstance(lines, str):
        lines = [lines] if lines else []
    if not lines:
        return ""
    color = {"error": ERROR_COLOR, "ok": OK_COLOR}.get(kind, MUTED_COLOR)
    items = "<br>".join(html.escape(line) for line in lines)
    return f'<div style="color:{color};font-size:0.9em;line-height:1.4">{items}</div>'


def heading(text: str, help_text: str = "") -> w.HTML:
    helper = (
        f'<div style="color:{MUTED_COLOR};font-size:0.9em">{html.escape(help_text)}</div>'
        if help_text
        else ""
    )
    return w.HTML(f"<h3 style='margin:0.6em 0 0.2em 0'>{html.escape(text)}</h3>{helper}")


class Panel(traitlets.HasTraits):
    """Base of every panel: state in traits, a box to display, handlers to unhook in ``close()``."""

    box: w.Box

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unhooks: list[Any] = []

    def _observe(self, obj: Any, handler: Any, names: Any) -> None:
        obj.observe(handler, names=names)
        self._unhooks.append(lambda: obj.unobserve(handler, names=names))

    def _on_click(self, button: w.Button, handler: Any) -> None:
        button.on_click(handler)
        self._unhooks.append(lambda: button.on_click(handler, remove=True))

    def _link(self, source: tuple[Any, str], target: tuple[Any, str]) -> None:
        link = w.link(source, target)
        self._unhooks.append(link.unlink)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        for unhook in reversed(self._unhooks):
            try:
                unhook()
            except (ValueError, KeyError):
                pass
        self._unhooks.clear()
        self.box.close()


def chart_html(chart: Any) -> str:
    """An Altair chart as inline SVG (vl-convert, offline): no Vega JavaScript needed in the page."""
    import vl_convert

    return f"<div class='irkit-chart'>{vl_convert.vegalite_to_svg(chart.to_dict())}</div>"
