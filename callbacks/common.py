"""What every callback shares: turning errors into alerts a person can act on, and logging the rest."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import html

from core.errors import InputError

log = logging.getLogger("csi.callbacks")
T = TypeVar("T")


def alert(message: Any, color: str = "danger", *, dismissable: bool = True, duration: int | None = None):
    return dbc.Alert(
        message,
        color=color,
        dismissable=dismissable,
        duration=duration,
        class_name="csi-alert py-2 px-3 mt-2 mb-0",
    )


def error_alert(exc: BaseException, doing: str) -> dbc.Alert:
    """InputError: its message as-is. Anything else: a generic message; the traceback goes to the log."""
    if isinstance(exc, InputError):
        return alert(str(exc))
    log.error("unexpected error while %s", doing, exc_info=(type(exc), exc, exc.__traceback__))
    return alert(
        [
            html.Strong(f"Something went wrong while {doing}. "),
            "The error was logged for the administrator; try again, or choose another dataset.",
        ]
    )


def attempt(doing: str, fn: Callable[..., T], *args, **kwargs) -> tuple[T | None, dbc.Alert | None]:
    """Call fn; return (result, None) or (None, alert)."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - every failure becomes an alert, never a traceback
        return None, error_alert(exc, doing)


def fmt_number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:,.{digits}f}"


def fmt_signed(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    f = float(value)
    text = f"{abs(f):,.{digits}f}"
    if round(f, digits) == 0:
        return f"±{text}"
    return ("+" if f > 0 else "−") + text
