"""Long work in the background with its progress on the page: segmentation runs started by the Run
button and imports from the server's import folder both become core.jobs jobs; a dcc.Interval polls
the job (its id is in a dcc.Store) and shows the stage and percentage until it ends."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.data import dataset_options
from callbacks.routes import import_path
from callbacks.segment import SEGMENTS_MODES, validate_run_request
from core.errors import InputError
from core.rfm import run_rfm_groups
from core.imports import list_importable, resolve_import, start_import
from core.jobs import JobResult, job_status, start_job
from core.segmentation import check_run_request, run_segmentation
from core.store import Store
from layouts import ids
from layouts.feedback import alert
from layouts.progress import import_options, progress_view


# -- logic (plain functions, unit-tested with a real Store) ----------------------------------------
@dataclass
class StartView:
    job: Any  # {"job_id", "kind"} or no_update
    poll_disabled: Any
    alert: Any = None


@error_boundary("segmenting", lambda err, *_: StartView(no_update, no_update, err))
def start_run_job(store: Store, dataset_id: Any, features: Any, scale: Any, fill: Any, k: Any,
                  auto: Any, mode: Any = "kmeans") -> StartView:
    """Check the request at once (a bad one is an alert, nothing starts), then segment in the
    background with progress. mode "rfm-groups": the named RFM groups are the segments."""
    if mode not in (None, *SEGMENTS_MODES):
        raise InputError("segments must be K-Means or the named RFM groups")
    req = validate_run_request(dataset_id, features, scale, fill, k, auto)
    if mode != "rfm-groups":  # the core's checks now: a bad request is refused before a job starts
        check_run_request(store, req["dataset_id"], req["features"], req["k"], req["scale"], req["fill"])
    name = store.get_dataset(req["dataset_id"]).name

    def work(progress) -> JobResult:
        if mode == "rfm-groups":
            run = run_rfm_groups(store, req["dataset_id"])
            return JobResult(run.dataset_id, run.run_id,
                             f"Segmented {run.rows_clustered:,} customers by their {run.k} named RFM groups.")
        run = run_segmentation(store, req["dataset_id"], req["features"], k=req["k"], scale=req["scale"],
                               fill=req["fill"], progress=progress)
        return JobResult(run.dataset_id, run.run_id,
                         f"Segmented {run.rows_clustered:,} customers into {run.k} segments.")

    job = start_job(f"'{name}'", work, kind="run", done_message="segmented")
    return StartView({"job_id": job.job_id, "kind": "run"}, False)


@error_boundary("starting the import", lambda err, *_: StartView(no_update, no_update, err))
def start_folder_import(store: Store, import_dir: Path, name: Any) -> StartView:
    path = resolve_import(import_dir, name)
    job = start_import(path.name, lambda progress: import_path(store, path, progress))
    return StartView({"job_id": job.job_id, "kind": "import"}, False)


@error_boundary("listing the import folder", lambda err, *_: err)
def import_list(import_dir: Path) -> list[dict]:
    return import_options(list_importable(import_dir))


@dataclass
class PollView:
    """One poll of the followed job: its progress, and when it ends what it produced."""

    progress: Any
    poll_disabled: bool  # also the Run and Import buttons' disabled: one job at a time per page
    run_id: Any = no_update
    run_alert: Any = no_update
    options: Any = no_update
    dataset_id: Any = no_update
    import_alert: Any = no_update


@error_boundary("following the job", lambda err, *_: PollView(err, True))
def poll(store: Store, job: Any) -> PollView:
    if not isinstance(job, dict) or not job.get("job_id"):
        return PollView(None, True)
    state = job_status(job.get("job_id"))
    if state.stage not in {"done", "failed"}:
        return PollView(progress_view(state), False)
    ok = state.stage == "done"
    message = alert(state.message, color="success" if ok else "danger", duration=6000 if ok else None)
    if state.kind == "run":
        return PollView(None, True, run_id=state.run_id if ok else no_update, run_alert=message)
    if not ok:
        return PollView(None, True, import_alert=message)
    done = alert(f"Imported {state.name}.", color="success", duration=6000)
    return PollView(None, True, options=dataset_options(store), dataset_id=state.dataset_id, import_alert=done)


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store, import_dir: Path) -> None:
    @app.callback(
        output=outputs(StartView, dict(
            job=Output(ids.JOB_STORE, "data", allow_duplicate=True),
            poll_disabled=Output(ids.JOB_POLL, "disabled", allow_duplicate=True),
            alert=Output(ids.RUN_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(n_clicks=Input(ids.RUN_BUTTON, "n_clicks")),
        state=dict(dataset_id=State(ids.DATASET_PICKER, "value"), features=State(ids.FEATURES, "value"),
                   scale=State(ids.SCALE, "value"), fill=State(ids.FILL, "value"),
                   k=State(ids.K_SLIDER, "value"), auto=State(ids.K_AUTO, "value"),
                   mode=State(ids.SEGMENTS_MODE, "value")),
        prevent_initial_call=True,
    )
    def run_button(n_clicks, dataset_id, features, scale, fill, k, auto, mode):
        if not n_clicks:
            return {f.name: no_update for f in fields(StartView)}
        return as_outputs(start_run_job(store, dataset_id, features, scale, fill, k, auto, mode))

    @app.callback(
        output=outputs(StartView, dict(
            job=Output(ids.JOB_STORE, "data", allow_duplicate=True),
            poll_disabled=Output(ids.JOB_POLL, "disabled", allow_duplicate=True),
            alert=Output(ids.IMPORT_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(n_clicks=Input(ids.IMPORT_BUTTON, "n_clicks")),
        state=dict(name=State(ids.IMPORT_PICKER, "value")),
        prevent_initial_call=True,
    )
    def import_button(n_clicks, name):
        if not n_clicks:
            return {f.name: no_update for f in fields(StartView)}
        return as_outputs(start_folder_import(store, import_dir, name))

    @app.callback(
        Output(ids.IMPORT_PICKER, "options"),
        Input(ids.IMPORT_REFRESH, "n_clicks"),
        Input(ids.URL, "pathname"),
    )
    def list_imports(_clicks, _path):
        options = import_list(import_dir)
        return options if isinstance(options, list) else []

    @app.callback(
        output=outputs(PollView, dict(
            progress=Output(ids.JOB_PROGRESS, "children"),
            poll_disabled=Output(ids.JOB_POLL, "disabled"),
            run_id=Output(ids.RUN_STORE, "data", allow_duplicate=True),
            run_alert=Output(ids.RUN_ALERT, "children", allow_duplicate=True),
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            dataset_id=Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
            import_alert=Output(ids.IMPORT_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(_tick=Input(ids.JOB_POLL, "n_intervals"), job=Input(ids.JOB_STORE, "data")),
        prevent_initial_call=True,
    )
    def follow_job(_tick, job):
        return as_outputs(poll(store, job))
