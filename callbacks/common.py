"""The one error boundary every callback's logic runs inside: bad input becomes the InputError's own
message, anything else a generic alert with the traceback in the log; never a traceback on the page."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import Output

from core.errors import InputError
from layouts.feedback import alert, unexpected_error_alert

log = logging.getLogger("csi.callbacks")
T = TypeVar("T")


def error_alert(exc: BaseException, doing: str) -> dbc.Alert:
    """InputError: its message as-is. Anything else: a generic message; the traceback goes to the log."""
    if isinstance(exc, InputError):
        return alert(str(exc))
    log.error("unexpected error while %s", doing, exc_info=(type(exc), exc, exc.__traceback__))
    return unexpected_error_alert(doing)


def error_boundary(doing: str, fallback: Callable[..., T]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run the decorated function; on any failure return fallback(alert, *args, **kwargs) instead, with
    the call's own arguments (a failure changes nothing: fallbacks answer no_update but for the alert)."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def guarded(*args, **kwargs) -> T:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure becomes an alert, never a traceback
                return fallback(error_alert(exc, doing), *args, **kwargs)

        return guarded

    return decorate


def outputs(view_type: type, ids_by_field: dict[str, Output]) -> dict[str, Output]:
    """A flexible callback's output dict, checked to name exactly the view dataclass's fields."""
    names = {f.name for f in fields(view_type)}
    if set(ids_by_field) != names:
        raise ValueError(f"outputs of {view_type.__name__} must be its fields: {sorted(names)}")
    return ids_by_field


def as_outputs(view: Any) -> dict[str, Any]:
    """A view dataclass as a flexible callback's return value (keyed by its fields)."""
    return {f.name: getattr(view, f.name) for f in fields(view)}
