"""What the browser's selections mean for the filter spec: a scatter box or lasso, a histogram's
x range, a clicked profile row (kept apart from core/filters.py, which imports them)."""
from __future__ import annotations

from typing import Any

from core.errors import InputError

UNCHANGED = object()  # a selection event that says nothing new (Plotly's re-emit after a redraw)


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
