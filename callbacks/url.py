"""A view you can share: the current dataset, run and filter live in the URL (`?v=`, core/view_link.py)
and in a local store holding the last view, so a copied link reopens the same filtered view in another
browser and reopening the app without a link restores the last view.

Opening: load_page (callbacks/data.py) calls `opened_link` for the dataset to choose and a pending
{dataset, run, spec}; choose_dataset picks the pending run instead of the latest; when that run's fresh
spec arrives, `restore_filter` puts the link's filter (and its controls) in place and clears the pending
state. Writing: every new filter spec becomes the URL's query string and the last view, in the
browser (WRITE_URL_JS, the encoding of core.view_link.encode_view).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from callbacks.common import as_outputs, outputs
from callbacks.explore import FilterOutputs, filter_outputs
from callbacks.filter_state import FilterUpdate, control_state
from core import pipeline
from core.errors import InputError
from core.view_link import PARAM, VERSION, decode_view
from core.views import parse_spec
from core.store import Store
from layouts import ids
from layouts.feedback import alert


@dataclass
class OpenedLink:
    """What a link (or the last view) asks for: the dataset to choose (None: the default one), the
    pending state for choose_dataset and restore_filter, and what could not be restored."""

    dataset_id: str | None
    pending: dict | None
    alert: Any = None


def _has_link(search: Any) -> bool:
    return isinstance(search, str) and f"{PARAM}=" in search


def opened_link(store: Store, search: Any, last: Any = None) -> OpenedLink:
    """Resolve the URL's view, else the last view; every problem is said and falls back, never raises."""
    source = search if _has_link(search) else last
    try:
        link = decode_view(source)
    except InputError as exc:
        return OpenedLink(None, None, _warn(str(exc)))
    if link is None:
        return OpenedLink(None, None)
    try:
        info = store.get_dataset(link.dataset_id)
    except InputError:
        return OpenedLink(None, None, _warn("The dataset of this link no longer exists; showing the latest dataset."))
    run_id, spec, message = link.run_id, link.spec, None
    if run_id is not None and not _run_of(store, run_id, info.dataset_id):
        latest = pipeline.latest_run(store, info.dataset_id)
        run_id, spec = (latest.run_id if latest else None), None
        message = (f"The run of this link no longer exists; showing the latest run of '{info.name}'."
                   if latest else f"The run of this link no longer exists and '{info.name}' has no other run.")
    if spec is not None:
        try:
            spec = parse_spec(store, spec).to_dict()
        except InputError as exc:
            spec, message = None, f"This link's filter no longer fits its run ({exc}); showing the run unfiltered."
    pending = {"dataset": info.dataset_id, "run": run_id, "spec": spec} if run_id else None
    return OpenedLink(info.dataset_id, pending, _warn(message) if message else None)


def _run_of(store: Store, run_id: str, dataset_id: str) -> bool:
    try:
        return store.get_run(run_id).dataset_id == dataset_id
    except InputError:
        return False


def _warn(message: str):
    return alert(message, color="warning")


def pending_run(pending: Any, dataset_id: Any) -> str | None:
    """The run choose_dataset should open for `dataset_id`: the link's, when one is pending for it."""
    if isinstance(pending, dict) and pending.get("dataset") == dataset_id and isinstance(pending.get("run"), str):
        return pending["run"]
    return None


def restored_filter(store: Store, spec_data: Any, pending: Any, bounds: dict, range_columns: list[str],
                    category_columns: list[str], kinds: list[str],
                    date_columns: list[str] = ()) -> FilterUpdate | None:
    """The link's filter once its run's fresh spec has arrived (None: not yet, or nothing to restore)."""
    if not isinstance(pending, dict) or not isinstance(spec_data, dict) or spec_data.get("run_id") != pending.get("run"):
        return None
    if not pending.get("spec"):
        return None
    spec = parse_spec(store, pending["spec"])
    return FilterUpdate(spec=spec, changed=spec.to_dict() != spec_data,
                        controls=control_state(spec, bounds, range_columns, category_columns, kinds, date_columns))


# -- wiring -----------------------------------------------------------------------------------------
# encode_view in the browser: {"n": VERSION, "d": dataset, "r": run, "f": the spec without run_id} as
# compact UTF-8 JSON, base64url without padding; nothing while a link is still being opened
WRITE_URL_JS = """
function(spec, pending, datasetId) {
    const skip = window.dash_clientside.no_update;
    if (pending !== null && pending !== undefined) { return [skip, skip]; }
    if (!spec || typeof spec !== "object" || typeof spec.run_id !== "string" || typeof datasetId !== "string") {
        return [skip, skip];
    }
    const rest = {};
    Object.keys(spec).forEach((key) => { if (key !== "run_id") { rest[key] = spec[key]; } });
    const body = {n: %(version)d, d: datasetId, r: spec.run_id, f: rest};
    let binary = "";
    new TextEncoder().encode(JSON.stringify(body)).forEach((b) => { binary += String.fromCharCode(b); });
    const token = btoa(binary).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
    const search = "?%(param)s=" + token;
    return [search, search];
}
""" % {"version": VERSION, "param": PARAM}


def _output_ids(name: str) -> list[dict]:
    return [o["id"] for o in ctx.outputs_grouping["controls"][name]]


def register(app: dash.Dash, store: Store) -> None:
    # Only the spec a pending link waits for goes to restore_filter: any other filter change would
    # ask the server for nothing (one request less per filter change).
    app.clientside_callback(
        """
        function(spec, pending) {
            if (pending && spec && spec.run_id === pending.run) { return spec; }
            return window.dash_clientside.no_update;
        }
        """,
        Output(ids.URL_ARRIVED, "data"),
        Input(ids.FILTER_STORE, "data"),
        State(ids.URL_PENDING, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        output=dict(
            controls=outputs(FilterOutputs, dict(
                spec=Output(ids.FILTER_STORE, "data", allow_duplicate=True),
                segments=Output(ids.SEGMENT_CHECKLIST, "value", allow_duplicate=True),
                ranges=Output(ids.range_slider(ALL), "value", allow_duplicate=True),
                categories=Output(ids.category_picker(ALL), "value", allow_duplicate=True),
                kinds=Output(ids.filter_control(ALL), "value", allow_duplicate=True),
                selection=Output(ids.SCATTER_GRAPH, "selectedData", allow_duplicate=True),
                region=Output(ids.SCATTER_REGION, "data", allow_duplicate=True),
                alert=Output(ids.URL_ALERT, "children", allow_duplicate=True),
                range_labels=Output(ids.range_label(ALL), "children", allow_duplicate=True),
                dates=Output(ids.date_range(ALL), "value", allow_duplicate=True),
                grid=Output(ids.CUSTOMER_GRID, "filterModel", allow_duplicate=True),
                history=Output(ids.FILTER_HISTORY, "data", allow_duplicate=True),
            )),
            pending=Output(ids.URL_PENDING, "data", allow_duplicate=True),
        ),
        inputs=dict(spec_data=Input(ids.URL_ARRIVED, "data")),
        state=dict(pending=State(ids.URL_PENDING, "data"), mins=State(ids.range_slider(ALL), "min"),
                   maxs=State(ids.range_slider(ALL), "max"), date_mins=State(ids.date_range(ALL), "min"),
                   date_maxs=State(ids.date_range(ALL), "max")),
        prevent_initial_call=True,
    )
    def restore_filter(spec_data, pending, mins, maxs, date_mins, date_maxs):
        slots = {name: _output_ids(name) for name in ("ranges", "categories", "kinds", "range_labels", "dates")}
        bounds = {i["column"]: (lo, hi)
                  for i, lo, hi in zip(slots["ranges"] + slots["dates"], (mins or []) + (date_mins or []),
                                       (maxs or []) + (date_maxs or []))
                  if isinstance(lo, (int, float)) and isinstance(hi, (int, float))}
        arrived = isinstance(pending, dict) and isinstance(spec_data, dict) and spec_data.get("run_id") == pending.get("run")
        update, err = None, no_update
        if arrived:
            try:
                update = restored_filter(store, spec_data, pending, bounds, [i["column"] for i in slots["ranges"]],
                                         [i["column"] for i in slots["categories"]], [i["kind"] for i in slots["kinds"]],
                                         [i["column"] for i in slots["dates"]])
            except InputError as exc:
                err = _warn(f"This link's filter could not be restored ({exc}).")
        controls = as_outputs(filter_outputs(update, err, slots, bounds))
        return {"controls": controls, "pending": None if arrived else no_update}

    # The view's query string is written in the browser (one request less per filter change): the
    # spec is the one the server sent, and whatever the URL holds is validated again by decode_view
    # and parse_spec when a link is opened. Same body as core.view_link.encode_view.
    app.clientside_callback(
        WRITE_URL_JS,
        Output(ids.URL, "search"),
        Output(ids.LAST_VIEW, "data"),
        Input(ids.FILTER_STORE, "data"),
        Input(ids.URL_PENDING, "data"),
        State(ids.DATASET_PICKER, "value"),
        prevent_initial_call=True,
    )
