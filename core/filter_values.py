"""What the browser's filter controls send, in filter terms: Plotly selections (box, lasso, a histogram's
range), a clicked profile row, and the date slider's day numbers (days since 1970-01-01)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from core.errors import InputError

UNCHANGED = object()  # a selection event that says nothing new (Plotly's re-emit after a redraw)


# -- what the browser's selections mean ------------------------------------------------------------
def region_from_selection(selected: Any) -> Any:
    """A region from a Plotly selectedData: box -> range, lasso -> lassoPoints, None when deselected.
    Plotly re-emits a selection without range or lasso after it redraws (a "reselect" of points
    only); that says nothing new and gives UNCHANGED."""
    if selected is None:
        return None
    if not isinstance(selected, dict):
        raise InputError("a selection must be an object")
    lasso = selected.get("lassoPoints")
    if isinstance(lasso, dict):
        xs, ys = lasso.get("x"), lasso.get("y")
        if isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys):
            return {"kind": "lasso", "points": [[x, y] for x, y in zip(xs, ys)]}
        raise InputError("lasso selection needs matching x and y lists")
    box = selected.get("range")
    if isinstance(box, dict):
        xs, ys = box.get("x"), box.get("y")
        if xs is None or ys is None:
            raise InputError("box selection needs an x and a y range")
        return {"kind": "box", "x": xs, "y": ys}
    return UNCHANGED


def range_from_selection(selected: Any) -> Any:
    """The x range of a box selection on a histogram; None when deselected; UNCHANGED for Plotly's
    points-only re-emit after a redraw."""
    if selected is None:
        return None
    if not isinstance(selected, dict):
        raise InputError("a histogram selection must be an object")
    box = selected.get("range")
    if box is None:
        return UNCHANGED
    xs = box.get("x") if isinstance(box, dict) else None
    if not isinstance(xs, list) or len(xs) != 2:
        raise InputError("histogram selection needs an x range [low, high]")
    return xs


def segment_from_row(cell: Any) -> int | None:
    """The segment of a clicked profile row (AG Grid cellClicked; rowId is the segment id)."""
    if not isinstance(cell, dict):
        return None
    row_id = cell.get("rowId")
    if isinstance(row_id, bool):
        raise InputError("profile row id must be a segment number")
    if isinstance(row_id, int):
        return row_id
    if isinstance(row_id, str) and row_id.isdigit() and len(row_id) <= 3:
        return int(row_id)
    raise InputError("profile row id must be a segment number")


# -- which categorical columns get a yes/no choice ---------------------------------------------------
YES_NO_REASON = "yes/no flag"  # core.roles' reason for a 0/1 integer column


def is_yes_no(values: list[str], reason: str = "") -> bool:
    """A yes/no column: a 0/1 flag (role reason "yes/no flag") or any column with exactly two values."""
    return reason == YES_NO_REASON or len(values) == 2


def yes_no_options(values: list[str]) -> list[dict]:
    """The two choices: Yes/No for a 0/1 flag, else the two values themselves."""
    if sorted(values) == ["0", "1"]:
        return [{"label": "Yes", "value": "1"}, {"label": "No", "value": "0"}]
    return [{"label": v, "value": v} for v in values]


# -- the date slider's unit ---------------------------------------------------------------------
_EPOCH = dt.date(1970, 1, 1)


def day_number(day: str | dt.date) -> int:
    """Days since 1970-01-01 (the date slider's unit)."""
    value = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return (value - _EPOCH).days


def day_text(number: float) -> str:
    """The ISO day of a day number (rounded to whole days)."""
    try:
        return (_EPOCH + dt.timedelta(days=round(number))).isoformat()
    except OverflowError:
        raise InputError("a date must lie between the years 1 and 9999") from None


def _iso_day(value: Any, column: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 32:
        raise InputError(f"dates for '{column}' must be written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise InputError(f"'{value[:32]}' is not a date for '{column}'; write it YYYY-MM-DD") from None
