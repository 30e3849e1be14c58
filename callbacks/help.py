"""Help callbacks: the "how to read this" card opens on a first visit and from the navbar button."""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx

from layouts import ids


def help_state(trigger: Any, seen: Any, is_open: bool) -> tuple[bool, bool]:
    """(card open, seen flag) after the page loads (trigger = the flag's store), the navbar button
    toggles it, or Close. A first visit is one where the browser has no flag yet."""
    if trigger == ids.HELP_BUTTON:
        return (not is_open), True
    if trigger == ids.HELP_CLOSE:
        return False, True
    return (not seen), True


def register(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.HELP_PANEL, "is_open"),
        Output(ids.HELP_SEEN, "data"),
        Input(ids.HELP_BUTTON, "n_clicks"),
        Input(ids.HELP_CLOSE, "n_clicks"),
        Input(ids.HELP_SEEN, "modified_timestamp"),
        State(ids.HELP_SEEN, "data"),
        State(ids.HELP_PANEL, "is_open"),
    )
    def show_help(_open, _close, _stored, seen, is_open):
        trigger = ctx.triggered_id
        if trigger == ids.HELP_SEEN and seen:
            return dash.no_update, dash.no_update  # our own write of the flag, or a returning visitor
        return help_state(trigger, seen, bool(is_open))
