"""Alerts: how a result, a warning or an error a person can act on appears on the page."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html


def alert(message: Any, color: str = "danger", *, dismissable: bool = True, duration: int | None = None):
    return dbc.Alert(
        message,
        color=color,
        dismissable=dismissable,
        duration=duration,
        class_name="csi-alert py-2 px-3 mt-2 mb-0",
    )


def unexpected_error_alert(doing: str) -> dbc.Alert:
    """What a person sees when something that is not their input failed (the details go to the log)."""
    return alert(
        [
            html.Strong(f"Something went wrong while {doing}. "),
            "The error was logged for the administrator; try again, or choose another dataset.",
        ]
    )
