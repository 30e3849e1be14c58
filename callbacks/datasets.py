"""Datasets kept: rename, delete (after a confirmation), the runs of a dataset (reopen an earlier one)
and opening the dataset a re-uploaded file is already loaded as."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.data import dataset_options
from core import views
from core.store import Store, check_id
from layouts import ids
from layouts.datasets import delete_text, runs_list
from layouts.feedback import alert


# -- logic (plain functions, unit-tested with a real Store) ----------------------------------------
@dataclass
class RenameView:
    options: Any
    alert: Any


@error_boundary("renaming the dataset", lambda err, *_: RenameView(no_update, err))
def rename(store: Store, dataset_id: Any, name: Any) -> RenameView:
    info = store.rename_dataset(check_id(dataset_id, "dataset"), name)
    return RenameView(dataset_options(store), alert(f"Renamed to '{info.name}'.", color="success", duration=4000))


@dataclass
class DeleteView:
    options: Any
    value: Any
    alert: Any
    modal_open: bool = False


@error_boundary("deleting the dataset", lambda err, *_: DeleteView(no_update, no_update, err))
def delete(store: Store, dataset_id: Any) -> DeleteView:
    """Delete a dataset with its runs (one transaction in core), then show the newest dataset left."""
    dataset_id = check_id(dataset_id, "dataset")
    name = store.get_dataset(dataset_id).name
    removed = store.delete_dataset(dataset_id)
    # Cached run contexts and counts of the removed runs must not answer any later request.
    views.clear_caches()
    options = dataset_options(store)
    value = options[0]["value"] if options else None
    runs = f" and {len(removed)} run{'' if len(removed) == 1 else 's'}" if removed else ""
    message = alert(f"Deleted '{name}'{runs}.", color="success", duration=6000)
    return DeleteView(options, value, message)


@dataclass
class DeleteDialog:
    is_open: bool
    text: Any


@error_boundary("opening the dataset", lambda err, *_: DeleteDialog(False, err))
def delete_dialog(store: Store, dataset_id: Any) -> DeleteDialog:
    info = store.get_dataset(check_id(dataset_id, "dataset"))
    return DeleteDialog(True, delete_text(info.name, len(store.list_runs(info.dataset_id))))


@error_boundary("listing the runs", lambda err, *_: err)
def runs_view(store: Store, dataset_id: Any, run_id: Any) -> Any:
    if dataset_id is None:
        return runs_list([], None)
    return runs_list(store.list_runs(check_id(dataset_id, "dataset")), run_id)


def dataset_name(store: Store, dataset_id: Any) -> str:
    try:
        return store.get_dataset(check_id(dataset_id, "dataset")).name
    except Exception:  # noqa: BLE001 - an unknown or removed dataset simply has no name to edit
        return ""


def open_run(store: Store, run_id: Any, dataset_id: Any) -> str:
    """The run id to show, checked: it must be a stored run of the chosen dataset."""
    run = store.get_run(check_id(run_id, "run"))
    if run.dataset_id != dataset_id:
        raise ValueError("the run belongs to another dataset")
    return run.run_id


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store) -> None:
    @app.callback(
        Output(ids.DATASET_NAME, "value"),
        Input(ids.DATASET_PICKER, "value"),
        prevent_initial_call=True,
    )
    def show_name(dataset_id):
        return dataset_name(store, dataset_id)

    @app.callback(
        output=outputs(RenameView, dict(
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            alert=Output(ids.DATASET_ACTION_ALERT, "children"),
        )),
        inputs=dict(_clicks=Input(ids.DATASET_RENAME, "n_clicks"), _submit=Input(ids.DATASET_NAME, "n_submit")),
        state=dict(dataset_id=State(ids.DATASET_PICKER, "value"), name=State(ids.DATASET_NAME, "value")),
        prevent_initial_call=True,
    )
    def rename_dataset(_clicks, _submit, dataset_id, name):
        return as_outputs(rename(store, dataset_id, name))

    @app.callback(
        output=outputs(DeleteDialog, dict(is_open=Output(ids.DELETE_MODAL, "is_open"),
                                          text=Output(ids.DELETE_TEXT, "children"))),
        inputs=dict(_open=Input(ids.DATASET_DELETE, "n_clicks"), _cancel=Input(ids.DELETE_CANCEL, "n_clicks")),
        state=dict(dataset_id=State(ids.DATASET_PICKER, "value")),
        prevent_initial_call=True,
    )
    def ask_delete(_open, _cancel, dataset_id):
        if ctx.triggered_id == ids.DELETE_CANCEL or dataset_id is None:
            return as_outputs(DeleteDialog(False, no_update))
        return as_outputs(delete_dialog(store, dataset_id))

    @app.callback(
        output=outputs(DeleteView, dict(
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            value=Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
            alert=Output(ids.DATASET_ACTION_ALERT, "children", allow_duplicate=True),
            modal_open=Output(ids.DELETE_MODAL, "is_open", allow_duplicate=True),
        )),
        inputs=dict(_confirm=Input(ids.DELETE_CONFIRM, "n_clicks")),
        state=dict(dataset_id=State(ids.DATASET_PICKER, "value")),
        prevent_initial_call=True,
    )
    def confirm_delete(_confirm, dataset_id):
        return as_outputs(delete(store, dataset_id))

    _register_runs_and_duplicates(app, store)


def _register_runs_and_duplicates(app: dash.Dash, store: Store) -> None:
    @app.callback(
        Output(ids.RUNS_LIST, "children"),
        Input(ids.DATASET_PICKER, "value"),
        Input(ids.RUN_STORE, "data"),
    )
    def list_runs(dataset_id, run_id):
        return runs_view(store, dataset_id, run_id)

    @app.callback(
        Output(ids.RUN_STORE, "data", allow_duplicate=True),
        Input({"type": ids.RUN_OPEN_TYPE, "run": ALL}, "n_clicks"),
        State(ids.DATASET_PICKER, "value"),
        prevent_initial_call=True,
    )
    def reopen_run(_clicks, dataset_id):
        # New list items (n_clicks 0) also fire this callback: only a real click opens a run.
        if not isinstance(ctx.triggered_id, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
            return no_update
        try:
            return open_run(store, ctx.triggered_id.get("run"), dataset_id)
        except Exception:  # noqa: BLE001 - a forged or removed run id changes nothing
            return no_update

    @app.callback(
        Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
        Output(ids.DUPLICATE_OFFER, "is_open", allow_duplicate=True),
        Output(ids.UPLOAD, "contents", allow_duplicate=True),
        Input(ids.DUPLICATE_OPEN, "n_clicks"),
        State(ids.DUPLICATE_STORE, "data"),
        prevent_initial_call=True,
    )
    def open_duplicate(_clicks, dataset_id):
        if not dataset_id:
            return no_update, False, None
        return dataset_id, False, None
