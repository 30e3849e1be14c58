"""The one filter spec: how each selection (scatter region, histogram range, profile row, controls)
changes it, and the control values that show it. Pure functions over the core's FilterSpec."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import InputError
from core.filters import FilterSpec
from core.store import Store
from core.views import parse_spec

# Event kinds (what the user touched)
SCATTER = "scatter"
HISTOGRAM = "histogram"
PROFILE_ROW = "profile_row"
SEGMENTS = "segments"
RANGE = "range"
CATEGORY = "category"
CLEAR = "clear"


@dataclass
class Event:
    kind: str
    value: Any = None
    column: str | None = None


@dataclass
class ControlValues:
    """What the filter controls show for a spec."""

    segments: list[int]
    ranges: dict[str, list[float]]  # column -> slider value
    categories: dict[str, list[str]]


@dataclass
class FilterUpdate:
    spec: FilterSpec
    changed: bool
    controls: ControlValues
    clear_selections: bool = False  # the scatter's own selection should be dropped too
    notes: list[str] = field(default_factory=list)


UNCHANGED = object()  # a selection event that says nothing about the region


def region_from_selection(selected: Any) -> Any:
    """A FilterSpec region from a Plotly selectedData: box -> range, lasso -> lassoPoints, None when
    deselected. Plotly re-emits a selection without range or lasso after it redraws (a "reselect" of
    points only); that says nothing new and gives UNCHANGED."""
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
    if not isinstance(box, dict):
        raise InputError("histogram selection needs an x range [low, high]")
    xs = box.get("x")
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


def _is_full(value: Any, bounds: tuple[float, float] | None) -> bool:
    if bounds is None or not isinstance(value, (list, tuple)) or len(value) != 2:
        return False
    lo, hi = bounds
    tol = (hi - lo) * 1e-9 if hi > lo else 1e-12
    try:
        return float(min(value)) <= lo + tol and float(max(value)) >= hi - tol
    except (TypeError, ValueError):
        return False


def _clip(pair: list, bounds: tuple[float, float] | None) -> list:
    lo, hi = sorted(pair)
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        if lo > hi:  # a selection wholly outside the data: an empty range, kept as chosen
            lo = hi = pair[0]
    return [lo, hi]


def apply_events(current: dict, events: list[Event], bounds: dict[str, tuple[float, float]]) -> dict:
    """The spec dict after the user's events (unvalidated: the caller validates with parse_spec)."""
    if not isinstance(current, dict):
        raise InputError("filter must be an object")
    spec = {
        "run_id": current.get("run_id"),
        "segments": list(current.get("segments") or []),
        "ranges": dict(current.get("ranges") or {}),
        "categories": dict(current.get("categories") or {}),
        "region": current.get("region"),
    }
    for ev in events:
        if ev.kind == CLEAR:
            spec.update(segments=[], ranges={}, categories={}, region=None)
        elif ev.kind == SCATTER:
            region = region_from_selection(ev.value)
            if region is not UNCHANGED:
                spec["region"] = region
        elif ev.kind == HISTOGRAM:
            picked = range_from_selection(ev.value)
            if picked is UNCHANGED:
                continue
            if picked is None:
                spec["ranges"].pop(ev.column, None)
            else:
                _check_numbers(picked)
                spec["ranges"][ev.column] = _clip(picked, bounds.get(ev.column))
        elif ev.kind == RANGE:
            if ev.value is None or _is_full(ev.value, bounds.get(ev.column)):
                spec["ranges"].pop(ev.column, None)
            else:
                if not isinstance(ev.value, (list, tuple)) or len(ev.value) != 2:
                    raise InputError(f"range for '{ev.column}' must be [low, high]")
                _check_numbers(ev.value)
                spec["ranges"][ev.column] = sorted(ev.value)
        elif ev.kind == CATEGORY:
            if ev.value:
                spec["categories"][ev.column] = ev.value
            else:
                spec["categories"].pop(ev.column, None)
        elif ev.kind == SEGMENTS:
            spec["segments"] = ev.value or []
        elif ev.kind == PROFILE_ROW:
            seg = segment_from_row(ev.value)
            if seg is not None:
                # Clicking the one selected segment again lets go of it.
                spec["segments"] = [] if spec["segments"] == [seg] else [seg]
    return spec


def _check_numbers(pair: Any) -> None:
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError("range bounds must be finite numbers")


def control_values(spec: FilterSpec, bounds: dict[str, tuple[float, float]],
                   range_columns: list[str], category_columns: list[str]) -> ControlValues:
    return ControlValues(
        segments=list(spec.segments),
        ranges={c: list(spec.ranges.get(c, bounds.get(c, (None, None)))) for c in range_columns},
        categories={c: list(spec.categories.get(c, ())) for c in category_columns},
    )


def next_filter(
    store: Store,
    current: Any,
    events: list[Event],
    bounds: dict[str, tuple[float, float]],
    range_columns: list[str] = (),
    category_columns: list[str] = (),
) -> FilterUpdate:
    """Apply the events to the current spec, validate the result against the run (InputError when
    anything is off) and say what the controls should show."""
    old = parse_spec(store, current)
    new = parse_spec(store, apply_events(old.to_dict(), events, bounds))
    return FilterUpdate(
        spec=new,
        changed=new.to_dict() != old.to_dict(),
        controls=control_values(new, bounds, list(range_columns), list(category_columns)),
        clear_selections=any(e.kind == CLEAR for e in events),
    )
