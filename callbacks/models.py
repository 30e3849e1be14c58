"""Model callbacks: download the current run as a model file, score an uploaded file with it (the file
becomes a dataset whose run carries the model's segments, selected at once), and compare the run with
another (the heatmap's cell clicks reach the filter through ids.FILTER_INPUT_KINDS)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, State, dcc, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.data import dataset_options, decode_upload
from core import pipeline
from core.errors import InputError
from core.filters import FilterSpec
from core.model_file import model_json, run_model
from core.scoring import score_dataset
from core.store import Store, check_id
from core.transitions import transition_matrix
from core.views import count
from layouts import ids
from layouts.compare import compare_stats, empty_compare_figure, transition_figure
from layouts.feedback import alert
from layouts.models import compare_options

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# -- logic (plain functions, unit-tested) ----------------------------------------------------------
def model_download(store: Store, run_id: Any) -> tuple[bytes, str]:
    """The model file of a run (core.model_file) and its file name: '<dataset>-k5-model.json'."""
    if run_id is None:
        raise InputError("segment a dataset first: there is no run to save as a model")
    run = store.get_run(check_id(run_id, "run"))
    data = model_json(run_model(store, run.run_id))
    name = _UNSAFE.sub("_", store.get_dataset(run.dataset_id).name).strip("._") or "segments"
    return data, f"{name[:60]}-k{run.k}-model.json"


@dataclass
class DownloadView:
    download: Any
    alert: Any = None


@error_boundary("saving the model", lambda err, *_: DownloadView(no_update, err))
def download_view(store: Store, run_id: Any) -> DownloadView:
    data, filename = model_download(store, run_id)
    return DownloadView(dcc.send_bytes(data, filename))


@dataclass
class ScoreView:
    """What scoring an upload changes: the dataset picker (the scored dataset chosen), the alert, and the
    upload's contents (cleared, so the same file can be scored again)."""

    options: Any
    value: Any
    alert: Any
    contents: Any = None


@error_boundary("scoring the file", lambda err, *_, **__: ScoreView(no_update, no_update, err))
def score_upload(store: Store, run_id: Any, contents: Any, filename: Any, *, max_bytes: int) -> ScoreView:
    """Load the file as a dataset and score it with the current run's model. When scoring fails the
    loaded dataset is removed again: a failure changes nothing."""
    if run_id is None:
        raise InputError("segment a dataset first: there is no run to score the file with")
    model = run_model(store, check_id(run_id, "run"))  # before the upload is read: a bad run loads nothing
    name, data = decode_upload(contents, filename, max_bytes)
    info = pipeline.ingest_upload(store, name, data)
    try:
        run = score_dataset(store, model, info.dataset_id)
    except BaseException:
        store.delete_dataset(info.dataset_id)
        raise
    poor = _poor_fits(store, run.run_id)
    return ScoreView(dataset_options(store), info.dataset_id, alert(
        f"Scored '{info.name}' with the run's model: {run.rows_clustered:,} customers in {run.k} segments "
        f"({poor:,} poor fits; {run.rows_excluded:,} rows not scored). Nothing was refitted.",
        color="success", duration=10000,
    ))


def _poor_fits(store: Store, run_id: str) -> int:
    return count(store, FilterSpec(run_id, poor_fit=True))[0]


@dataclass
class CompareView:
    figure: Any
    stats: Any
    alert: Any = None


def compare_view(store: Store, other_run_id: Any, run_id: Any, spec: Any = None) -> CompareView:
    """The transition heatmap from the other run to the current one, and its numbers."""
    if other_run_id is None or run_id is None:
        return CompareView(empty_compare_figure(), "")
    m = transition_matrix(store, check_id(other_run_id, "run"), check_id(run_id, "run"))
    chosen = spec.get("transition") if isinstance(spec, dict) else None
    return CompareView(transition_figure(m, chosen), compare_stats(m))


shown_compare = error_boundary(
    "comparing the runs", lambda err, *_: CompareView(empty_compare_figure("The runs could not be compared"), "", err)
)(compare_view)


@error_boundary("listing the runs to compare with", lambda err, *_: [])
def other_runs(store: Store, run_id: Any) -> list[dict]:
    if run_id is None:
        return []
    current = store.get_run(check_id(run_id, "run"))
    names = {d.dataset_id: d.name for d in store.list_datasets()}
    return compare_options(store.list_runs(), current, names)


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store, *, max_upload_bytes: int) -> None:
    @app.callback(
        output=outputs(DownloadView, dict(download=Output(ids.MODEL_DOWNLOAD, "data"),
                                          alert=Output(ids.MODELS_ALERT, "children"))),
        inputs=dict(n_clicks=Input(ids.MODEL_DOWNLOAD_BUTTON, "n_clicks")),
        state=dict(run_id=State(ids.RUN_STORE, "data")),
        prevent_initial_call=True,
    )
    def download_model(n_clicks, run_id):
        if not n_clicks:
            return {"download": no_update, "alert": no_update}
        return as_outputs(download_view(store, run_id))

    @app.callback(
        output=outputs(ScoreView, dict(
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            value=Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
            alert=Output(ids.MODELS_ALERT, "children", allow_duplicate=True),
            contents=Output(ids.SCORE_UPLOAD, "contents"),
        )),
        inputs=dict(contents=Input(ids.SCORE_UPLOAD, "contents")),
        state=dict(filename=State(ids.SCORE_UPLOAD, "filename"), run_id=State(ids.RUN_STORE, "data")),
        running=[
            (Output(ids.SCORE_UPLOAD, "disabled"), True, False),
            (Output(ids.SCORE_STATUS, "style"), {"display": "flex"}, {"display": "none"}),
        ],
        prevent_initial_call=True,
    )
    def score_file(contents, filename, run_id):
        if not contents:
            return {"options": no_update, "value": no_update, "alert": no_update, "contents": no_update}
        return as_outputs(score_upload(store, run_id, contents, filename, max_bytes=max_upload_bytes))

    @app.callback(
        output=dict(options=Output(ids.COMPARE_RUN, "options"), value=Output(ids.COMPARE_RUN, "value")),
        inputs=dict(run_id=Input(ids.RUN_STORE, "data")),
        prevent_initial_call=True,
    )
    def compare_choices(run_id):
        return {"options": other_runs(store, run_id), "value": None}

    # The heatmap reads only the filter's run and its transition cell: a brush elsewhere does not ask
    # the server to redraw it (one request less per filter change).
    app.clientside_callback(
        """
        function(spec, shown) {
            const key = spec ? {run_id: spec.run_id || null, transition: spec.transition || null} : null;
            if (shown !== undefined && JSON.stringify(key) === JSON.stringify(shown)) {
                return window.dash_clientside.no_update;
            }
            return key;
        }
        """,
        Output(ids.COMPARE_KEY, "data"),
        Input(ids.FILTER_STORE, "data"),
        State(ids.COMPARE_KEY, "data"),
    )

    @app.callback(
        output=outputs(CompareView, dict(figure=Output(ids.COMPARE_GRAPH, "figure"),
                                         stats=Output(ids.COMPARE_STATS, "children"),
                                         alert=Output(ids.MODELS_ALERT, "children", allow_duplicate=True))),
        inputs=dict(other=Input(ids.COMPARE_RUN, "value"), spec=Input(ids.COMPARE_KEY, "data")),
        prevent_initial_call=True,
    )
    def show_compare(other, spec):
        # the filter's run, not the run store: the heatmap and the transition filter name the same run
        run_id = spec.get("run_id") if isinstance(spec, dict) else None
        view = shown_compare(store, other, run_id, spec)
        return {**as_outputs(view), "alert": no_update if view.alert is None else view.alert}
