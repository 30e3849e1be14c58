"""The "why" view: which segment it explains (picked, or the clicked profile row), its drivers, rule,
stability and action; the roles table of the data panel; the RFM group mix shown in the profile table.
The "Show customers matching this rule" button is a filter input (ids.FILTER_BUTTON_KINDS), handled by
the one filter callback in callbacks/explore.py like every other kind."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, State, ctx, html, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from core.errors import InputError
from core.models import Run
from core.rfm import rfm_group_mix
from core.rfm_naming import is_group_run, named_run
from core.roles import column_roles
from core.store import Store, check_id
from core.views import run_context
from layouts import ids
from layouts.data_panel import roles_table
from layouts.why import segment_options, why_body

_MIX_CACHE_RUNS = 64  # a run never changes, so its group mix is computed once per run


# -- logic ---------------------------------------------------------------------------------------
_mix_cache: dict[tuple[int, str], dict[int, dict[str, float]]] = {}


def group_mix(store: Store, run: Run) -> dict[int, dict[str, float]]:
    """Per segment the share of each named RFM group (core.rfm.rfm_group_mix), {} for runs on other
    data and for runs whose segments are the groups themselves; cached per run."""
    if is_group_run(run):
        return {}
    key = (id(store), run.run_id)
    if key not in _mix_cache:
        if len(_mix_cache) >= _MIX_CACHE_RUNS:
            _mix_cache.pop(next(iter(_mix_cache)))
        _mix_cache[key] = rfm_group_mix(store, run)
    return _mix_cache[key]


@dataclass
class WhyChoice:
    """The why view's segment picker."""

    options: list[dict]
    value: Any


@error_boundary("listing the segments to explain", lambda err, *_: WhyChoice(no_update, no_update))
def why_choice(store: Store, run_id: Any, clicked: Any, current: Any, triggered: Any) -> WhyChoice:
    """A new run: its segments, the first one chosen. A profile-row click: that row's segment."""
    if run_id is None:
        return WhyChoice([], None)
    run = named_run(store, run_context(store, check_id(run_id, "run")).run)
    valid = set(run.segment_ids)
    if triggered == ids.PROFILE_GRID:
        seg = clicked_segment(clicked)
        return WhyChoice(no_update, seg if seg in valid else no_update)
    keep = current if current in valid and triggered != ids.RUN_STORE else min(valid, default=None)
    return WhyChoice(segment_options(run), keep)


def clicked_segment(clicked: Any) -> int | None:
    """The segment id of a profile-table cellClicked event (its row id is the segment id)."""
    if not isinstance(clicked, dict):
        return None
    row_id = clicked.get("rowId")
    try:
        return int(row_id)
    except (TypeError, ValueError):
        return None


@error_boundary("explaining the segment", lambda err, *_: [err])
def why_view(store: Store, run_id: Any, segment: Any) -> list:
    """The why view of one segment of the run (InputError for a segment the run does not have)."""
    if run_id is None or segment is None:
        return [html.P("Choose a segment to see what sets it apart.", className="text-muted m-1")]
    run = named_run(store, run_context(store, check_id(run_id, "run")).run)
    if isinstance(segment, bool) or not isinstance(segment, int):
        raise InputError("the segment must be a segment number")
    seg = next((s for s in run.segments if s.id == segment), None)
    if seg is None:
        raise InputError(f"this run has no segment {segment}; choose one of {', '.join(map(str, run.segment_ids))}")
    return why_body(run, seg)


@error_boundary("listing the column roles", lambda err, *_: err)
def roles_view(store: Store, dataset_id: Any) -> Any:
    if dataset_id is None:
        return None
    info = store.get_dataset(check_id(dataset_id, "dataset"))
    return roles_table(column_roles(info))


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store) -> None:
    @app.callback(
        output=outputs(WhyChoice, dict(options=Output(ids.WHY_SEGMENT, "options"),
                                       value=Output(ids.WHY_SEGMENT, "value"))),
        inputs=dict(run_id=Input(ids.RUN_STORE, "data"), clicked=Input(ids.PROFILE_GRID, "cellClicked")),
        state=dict(current=State(ids.WHY_SEGMENT, "value")),
        prevent_initial_call=True,
    )
    def choose_why_segment(run_id, clicked, current):
        # A run that cannot be read is reported by show_run; here nothing changes.
        return as_outputs(why_choice(store, run_id, clicked, current, ctx.triggered_id))

    @app.callback(
        Output(ids.WHY_BODY, "children"),
        Input(ids.WHY_SEGMENT, "value"),
        Input(ids.WHY_SEGMENT, "options"),  # new options = a new run, even when the value stays 1
        State(ids.RUN_STORE, "data"),
        prevent_initial_call=True,
    )
    def show_why(segment, _options, run_id):
        return why_view(store, run_id, segment)

    @app.callback(Output(ids.ROLES_TABLE, "children"), Input(ids.DATASET_PICKER, "value"),
                  prevent_initial_call=True)
    def show_roles(dataset_id):
        return roles_view(store, dataset_id)
