"""The one filter spec: applying what the user touched to it, and the control values that show it.

Every kind's own rules (how a slider, a selection or a click changes it, what its control shows) are in
core/filters.py; this module only loops over the events and the kinds."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import aggregates
from core.errors import InputError
from core.filters import KINDS, FilterSpec, apply_change, control_values, remove_item
from core.grid_filters import GRID, grid_model, spec_from_grid_model
from core.store import Store
from core.views import parse_spec

CLEAR = "clear"  # "Clear all filters": not a kind, it resets every kind
REMOVE = "remove"  # a chip's remove button: value = (kind key, column or None)
RESTORE = "restore"  # undo or redo: value = the spec JSON to go back to
UNDO, REDO = "undo", "redo"  # the buttons; turned into RESTORE with the history (history_step)
HISTORY_LIMIT = 30  # filter specs kept for undo (and as many for redo)


@dataclass
class Event:
    kind: str  # a core.filters.KINDS key, or CLEAR
    value: Any = None
    column: str | None = None


@dataclass
class ControlValues:
    """What the filter controls show for a spec."""

    segments: list[int]
    ranges: dict[str, list[float]]  # column -> slider value
    categories: dict[str, list[str]]
    kinds: dict[str, Any] = field(default_factory=dict)  # column-less kind -> its control's value
    dates: dict[str, list[int]] = field(default_factory=dict)  # date column -> slider value (day numbers)
    grid: dict = field(default_factory=dict)  # the customer grid's filterModel


@dataclass
class FilterUpdate:
    spec: FilterSpec
    changed: bool
    controls: ControlValues
    clear_selections: bool = False  # the scatter's own selection should be dropped too
    notes: list[str] = field(default_factory=list)


def apply_events(current: dict, events: list[Event], bounds: dict[str, tuple[float, float]]) -> dict:
    """The spec dict after the user's events (unvalidated: the caller validates with parse_spec)."""
    if not isinstance(current, dict):
        raise InputError("filter must be an object")
    spec = dict(current)
    for ev in events:
        if ev.kind == CLEAR:
            spec = {"run_id": current.get("run_id")}
        elif ev.kind == RESTORE:
            spec = dict(ev.value) if isinstance(ev.value, dict) else spec
        elif ev.kind == REMOVE:
            key, column = ev.value
            spec = remove_item(spec, key, column)
        elif ev.kind == GRID:
            spec = spec_from_grid_model(spec, ev.value, bounds)
        else:
            spec = apply_change(spec, ev.kind, ev.value, ev.column, bounds)
    return spec


def control_state(spec: FilterSpec, bounds: dict[str, tuple[float, float]], range_columns: list[str],
                  category_columns: list[str], kinds: list[str] = (), date_columns: list[str] = ()) -> ControlValues:
    return ControlValues(
        segments=control_values(spec, "segments"),
        ranges=control_values(spec, "ranges", list(range_columns), bounds),
        categories=control_values(spec, "categories", list(category_columns)),
        kinds={k: control_values(spec, k) for k in kinds if k in KINDS},
        dates=control_values(spec, "dates", list(date_columns), bounds),
        grid=grid_model(spec.to_dict()),
    )


def next_filter(
    store: Store,
    current: Any,
    events: list[Event],
    bounds: dict[str, tuple[float, float]],
    range_columns: list[str] = (),
    category_columns: list[str] = (),
    kinds: list[str] = (),
    date_columns: list[str] = (),
) -> FilterUpdate:
    """Apply the events to the current spec, validate the result against the run (InputError when
    anything is off) and say what the controls should show."""
    old = parse_spec(store, current)
    new = parse_spec(store, apply_events(old.to_dict(), events, bounds))
    # Brushes drawn on a histogram or the scatter select whole bins, so the run's pre-aggregated
    # tables answer them exactly (core/aggregates.py); sliders and typed values are kept as given.
    drawn = [e for e in events if isinstance(e.value, dict) and e.value.get("range")]  # not a points-only re-emit
    brushed = [e.column for e in drawn if e.kind == "ranges" and e.column]
    boxed = any(e.kind == "region" for e in drawn)
    if brushed or boxed:
        new = aggregates.snap(aggregates.load(store, new.run_id), new, brushed, boxed)
    return FilterUpdate(
        spec=new,
        changed=new.to_dict() != old.to_dict(),
        controls=control_state(new, bounds, list(range_columns), list(category_columns), list(kinds),
                               list(date_columns)),
        clear_selections=any(e.kind == CLEAR for e in events),
    )


# -- undo and redo: a small history of specs (a dcc.Store), bounded ---------------------------------
def empty_history() -> dict:
    return {"past": [], "future": []}


def record(history: Any, old: dict, new: dict) -> dict:
    """The history after a change from `old` to `new` (a new run starts a new history; redo is lost)."""
    if old == new:
        return history if _valid(history) else empty_history()
    past = [h for h in (history or {}).get("past", []) if _same_run(h, new)] if _valid(history) else []
    return {"past": (past + [old])[-HISTORY_LIMIT:], "future": []}


def history_step(history: Any, current: dict, kind: str) -> tuple[dict | None, dict]:
    """(the spec to restore or None, the history after it) for an undo or a redo."""
    if not _valid(history):
        return None, empty_history()
    past, future = list(history["past"]), list(history["future"])
    source, other = (past, future) if kind == UNDO else (future, past)
    while source and not _same_run(source[-1], current):
        source.pop()  # specs of an earlier run: that run is not shown any more
    if not source:
        return None, {"past": past, "future": future}
    target = source.pop()
    other.append(current)
    del other[:-HISTORY_LIMIT]
    return target, {"past": past, "future": future}


def _valid(history: Any) -> bool:
    return (isinstance(history, dict) and isinstance(history.get("past"), list)
            and isinstance(history.get("future"), list))


def _same_run(a: Any, b: Any) -> bool:
    return isinstance(a, dict) and isinstance(b, dict) and a.get("run_id") == b.get("run_id")
