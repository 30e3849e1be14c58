"""The transactions mapping step: the form from the pending upload's detection, the preview of the
first customers' R, F and M for the chosen columns and date order, and Load (publish + segment)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.data import clean_mapping, dataset_options, segment_loaded
from core import pipeline
from core.dates import DATE_ORDERS
from core.errors import InputError
from core.pending import discard_pending, pending_path
from core.rfm import load_transactions, preview_rfm
from core.store import Store
from layouts import ids
from layouts.feedback import alert
from layouts.mapping import (
    HIDDEN, ROLE_FIELDS, SHOWN, column_options, mapping_note, mapping_title, preview_table,
)

ROLES = [role for role, *_ in ROLE_FIELDS]
PREVIEW_CUSTOMERS = 10
CONFIRM_MESSAGE = ("Please confirm the columns and the date order first: tick 'I checked the columns and the "
                   "date order' (the file did not say clearly which column is which, or how its dates are written).")


# -- logic (plain functions, unit-tested) ----------------------------------------------------------
def pending_of(data: Any) -> dict:
    """The pending upload the browser holds, shape-checked (the token is checked by core.pending)."""
    if not isinstance(data, dict) or not isinstance(data.get("token"), str):
        raise InputError("there is no uploaded transactions file waiting; upload one first")
    return data


def chosen_mapping(values: dict[str, Any], date_order: Any) -> tuple[dict | None, str]:
    """The form's mapping ({role: column}) and date order, checked for shape (the columns are checked
    against the file by core.rfm)."""
    if date_order not in DATE_ORDERS:
        raise InputError("choose the date order from the list (detect, day first, month first or year first)")
    return clean_mapping({r: values.get(r) for r in ROLES}), date_order


def needs_confirmation(pending: dict, dates_sure: bool, date_order: str) -> bool:
    """Ask the user to confirm when detection guessed a column, or when the data leaves the day/month
    order open and no order was chosen."""
    return not pending.get("sure", False) or (date_order == "auto" and not dates_sure)


@dataclass
class FormView:
    """The mapping form for a pending upload (or hidden when there is none)."""

    panel: dict
    title: str
    options: list[dict]
    customer: Any
    date: Any
    amount: Any
    quantity: Any
    price: Any
    invoice: Any
    date_order: str
    confirm: bool = False
    alert: Any = None


def form_view(pending: Any) -> FormView:
    """Dropdowns of the file's own columns, pre-filled by detection; nothing read from disk."""
    if not isinstance(pending, dict) or not pending.get("token"):
        return FormView(HIDDEN, "", [], None, None, None, None, None, None, "auto")
    columns = [str(c) for c in (pending.get("columns") or [])][:500]
    detected = pending.get("detected") or {}
    picked = {r: detected.get(r) if detected.get(r) in columns else None for r in ROLES}
    return FormView(SHOWN, mapping_title(str(pending.get("name", ""))), column_options(columns),
                    date_order="auto", **picked)


@dataclass
class PreviewView:
    note: Any
    confirm_box: dict
    preview: Any
    alert: Any = None


@error_boundary("previewing the transactions", lambda err, *_, **__: PreviewView(no_update, no_update, [], err))
def preview_view(store: Store, pending_data: Any, values: dict[str, Any], date_order: Any) -> PreviewView:
    """The first customers' R, F and M for the chosen columns, why to check, and whether to ask."""
    if pending_data is None:
        return PreviewView([], HIDDEN, [])
    pending = pending_of(pending_data)
    mapping, order = chosen_mapping(values, date_order)
    preview = preview_rfm(store, pending_path(store, pending["token"]), mapping, order, PREVIEW_CUSTOMERS,
                          source_name=str(pending.get("name") or "") or None)
    ask = needs_confirmation(pending, preview.dates_sure, order)
    reasons = list(pending.get("reasons") or []) if not pending.get("sure", False) else []
    return PreviewView(
        mapping_note(reasons, preview.dates, order == "auto" and not preview.dates_sure, preview.warnings),
        SHOWN if ask else HIDDEN,
        preview_table(preview.rows, preview.lines_read, preview.customers),
    )


@dataclass
class LoadView:
    options: Any
    value: Any
    upload_alert: Any
    alert: Any
    pending: Any


def _load_failed(err, *_, **__) -> LoadView:
    # A failure changes nothing: the pending file stays, so the mapping can be corrected.
    return LoadView(no_update, no_update, no_update, err, no_update)


@error_boundary("loading the transactions", _load_failed)
def load_view(store: Store, pending_data: Any, values: dict[str, Any], date_order: Any,
              confirmed: Any) -> LoadView:
    """Publish the customers derived with the chosen mapping, segment them, drop the pending file."""
    pending = pending_of(pending_data)
    mapping, order = chosen_mapping(values, date_order)
    path = pending_path(store, pending["token"])
    name = pipeline.safe_filename(str(pending.get("name") or path.name))
    if confirmed is not True:
        preview = preview_rfm(store, path, mapping, order, 1, source_name=name)
        if needs_confirmation(pending, preview.dates_sure, order):
            raise InputError(CONFIRM_MESSAGE)
    info = load_transactions(store, path, path.stem, mapping=mapping, date_order=order, source_name=name)
    discard_pending(store, pending["token"])
    result = segment_loaded(store, info)
    return LoadView(dataset_options(store), result.dataset_id, result.message, None, None)


# -- wiring -----------------------------------------------------------------------------------------
def _role_values(**kw) -> dict[str, Any]:
    return {r: kw.get(r) for r in ROLES}


def register(app: dash.Dash, store: Store) -> None:
    role_ids = {role: cid for role, cid, *_ in ROLE_FIELDS}

    form_outputs = dict(
        panel=Output(ids.MAPPING_PANEL, "style"),
        title=Output(ids.MAPPING_TITLE, "children"),
        options=[Output(cid, "options") for cid in role_ids.values()],
        **{role: Output(cid, "value") for role, cid in role_ids.items()},
        date_order=Output(ids.MAP_DATE_ORDER, "value"),
        confirm=Output(ids.MAPPING_CONFIRM, "value"),
        alert=Output(ids.MAPPING_ALERT, "children"),
    )

    @app.callback(output=form_outputs, inputs=dict(pending=Input(ids.PENDING_STORE, "data")),
                  prevent_initial_call=True)
    def show_mapping(pending):
        view = as_outputs(form_view(pending))
        return {**view, "options": [view["options"]] * len(role_ids)}

    @app.callback(
        output=outputs(PreviewView, dict(
            note=Output(ids.MAPPING_NOTE, "children"),
            confirm_box=Output(ids.MAPPING_CONFIRM_BOX, "style"),
            preview=Output(ids.MAPPING_PREVIEW, "children"),
            alert=Output(ids.MAPPING_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(pending=Input(ids.PENDING_STORE, "data"), date_order=Input(ids.MAP_DATE_ORDER, "value"),
                    **{role: Input(cid, "value") for role, cid in role_ids.items()}),
        prevent_initial_call=True,
    )
    def update_preview(pending, date_order, **roles):
        return as_outputs(preview_view(store, pending, _role_values(**roles), date_order))

    @app.callback(
        output=outputs(LoadView, dict(
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            value=Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
            upload_alert=Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
            alert=Output(ids.MAPPING_ALERT, "children", allow_duplicate=True),
            pending=Output(ids.PENDING_STORE, "data", allow_duplicate=True),
        )),
        inputs=dict(n_clicks=Input(ids.MAPPING_LOAD, "n_clicks")),
        state=dict(pending=State(ids.PENDING_STORE, "data"), date_order=State(ids.MAP_DATE_ORDER, "value"),
                   confirmed=State(ids.MAPPING_CONFIRM, "value"),
                   **{role: State(cid, "value") for role, cid in role_ids.items()}),
        running=[
            (Output(ids.MAPPING_LOAD, "disabled"), True, False),
            (Output(ids.MAPPING_STATUS, "style"), {"display": "flex"}, HIDDEN),
        ],
        prevent_initial_call=True,
    )
    def load_mapped(n_clicks, pending, date_order, confirmed, **roles):
        if not n_clicks:
            return {f.name: no_update for f in fields(LoadView)}
        return as_outputs(load_view(store, pending, _role_values(**roles), date_order, confirmed))
