"""Segmentation callbacks: the Run button, and everything that depends on the chosen run
(elbow chart, run summary, filter controls, histogram slots, table columns, a fresh filter spec)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, html, no_update

from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.why import group_mix
from core.errors import InputError
from core.filters import FilterSpec
from core.models import Run
from core.rfm import run_rfm_groups
from core.pipeline import latest_run
from core.rfm_naming import is_group_run, named_run
from core.segmentation import run_segmentation
from core.store import Store, check_id
from core.filter_values import is_yes_no
from core.views import category_values, date_bounds, feature_bounds, run_context
from layouts import figures, ids, theme
from layouts.charts import histogram_graph
from layouts.controls import k_note, run_summary, scale_help, slider_k
from layouts.feedback import alert
from layouts.filters import category_filter, date_filter, features_first, kind_filters, range_filter, segment_options
from layouts.tables import grid_columns, profile_columns

MAX_FEATURES = 50  # a request-size guard: the core checks every name
MAX_HISTOGRAMS = 8


# -- logic ---------------------------------------------------------------------------------------
SEGMENTS_MODES = ("kmeans", "rfm-groups")  # K-Means, or the named RFM groups as the segments (transactions)


def validate_run_request(dataset_id: Any, features: Any, scale: Any, fill: Any, k: Any, auto: Any) -> dict:
    """What the browser sent for a run, in the core's terms: the auto switch becomes k="auto", the
    slider's whole number an int. The rules (features, scale, fill, k range) are checked by
    core.segmentation.run_segmentation, their one home; here only the request's shape."""
    check_id(dataset_id, "dataset")
    if not isinstance(features, list) or not features:
        raise InputError("choose at least one feature to segment on")
    if len(features) > MAX_FEATURES or not all(isinstance(f, str) for f in features):
        raise InputError(f"choose at most {MAX_FEATURES} feature columns")
    if auto is True:
        k_value: Any = "auto"
    elif auto not in (False, None):
        raise InputError("the auto switch must be on or off")
    elif isinstance(k, float) and math.isfinite(k) and k.is_integer():
        k_value = int(k)  # the slider may send 5.0
    else:
        k_value = k
    return {"dataset_id": dataset_id, "features": list(dict.fromkeys(features)), "scale": scale,
            "fill": fill, "k": k_value}


@error_boundary("segmenting", lambda err, *_, **__: (None, err))
def start_run(store: Store, dataset_id: Any, features: Any, scale: Any, fill: Any, k: Any, auto: Any,
              mode: Any = "kmeans") -> tuple[str | None, Any]:
    """Segment the dataset; (run id, success alert) or (None, error alert). mode "rfm-groups" makes
    the named RFM groups of a transactions dataset the segments (core.rfm.run_rfm_groups)."""
    if mode not in (None, *SEGMENTS_MODES):
        raise InputError("segments must be K-Means or the named RFM groups")
    if mode == "rfm-groups":
        run = run_rfm_groups(store, check_id(dataset_id, "dataset"))
        return run.run_id, alert(f"Segmented {run.rows_clustered:,} customers by their {run.k} named RFM groups.",
                                 color="success", duration=5000)
    req = validate_run_request(dataset_id, features, scale, fill, k, auto)
    run = run_segmentation(store, req["dataset_id"], req["features"], k=req["k"], scale=req["scale"],
                           fill=req["fill"])
    run = named_run(store, run)  # R, F and M runs: names and actions in RFM words from the start
    return run.run_id, alert(
        f"Segmented {run.rows_clustered:,} customers into {run.k} segments.", color="success", duration=5000
    )


def segments_mode(store: Store, dataset_id: Any) -> tuple[dict, str]:
    """(style, value) of the "Segments: K-Means | named RFM groups" choice: shown for transactions
    datasets only, on the mode of the dataset's latest run (K-Means for any other dataset)."""
    try:
        info = store.get_dataset(check_id(dataset_id, "dataset"))
    except Exception:  # noqa: BLE001 - no dataset (yet): nothing to choose
        return {"display": "none"}, "kmeans"
    if info.kind != "transactions":
        return {"display": "none"}, "kmeans"
    run = latest_run(store, info.dataset_id)
    return {"display": "flex", "alignItems": "center"}, "rfm-groups" if run and is_group_run(run) else "kmeans"


@dataclass
class RunView:
    """Everything on the page that depends on the run (not on the filter); one field per output."""

    elbow: dict
    k_note: Any
    k: Any  # the k slider shows the run's k (issue 15 item 8)
    summary: Any
    segment_options: list[dict]
    segments: list  # the checklist's value: a new run starts unfiltered
    range_filters: list
    category_filters: list
    kind_filters: list
    histograms: list
    profile_columns: list[dict]
    grid_columns: list[dict]
    spec: dict | None
    selection: Any  # the scatter's own selection, dropped
    region: Any = None  # and what the server was told of it (ids.SCATTER_REGION), dropped with it
    alert: Any = no_update

    @property
    def run_id(self) -> str | None:
        return self.spec["run_id"] if self.spec else None


def no_run_view(message: str = theme.NO_RUN_MESSAGE, err: Any = no_update) -> RunView:
    return RunView(
        elbow=figures.placeholder_figure(message, theme.ELBOW_HEIGHT),
        k_note="",
        k=no_update,
        summary="",
        segment_options=[],
        segments=[],
        range_filters=[],
        category_filters=[],
        kind_filters=[],
        histograms=[html.P(message, className="text-muted m-2")],
        profile_columns=[],
        grid_columns=[],
        spec=None,
        selection=None,
        alert=err,
    )


@error_boundary("opening the segmentation run", lambda err, *_: no_run_view("The run could not be shown", err))
def run_view(store: Store, run_id: Any) -> RunView:
    if run_id is None:
        return no_run_view()
    ctx = run_context(store, check_id(run_id, "run"))
    run = named_run(store, ctx.run)  # an RFM run shows RFM names in every control from the start
    # Filters only where they help: no slider or histogram for a constant column, a date range for dates
    # (never a value picker), a yes/no choice for two-valued columns.
    bounds = {c: (lo, hi) for c, (lo, hi) in feature_bounds(store, run).items() if lo < hi}
    dates = date_bounds(store, run)
    categories = {c: v for c, v in category_values(store, run).items() if v and c not in ctx.date_columns}
    hist_cols = histogram_columns(run, ctx.numeric, bounds)
    return RunView(
        elbow=figures.elbow_figure(run),
        k_note=k_note(run),
        k=slider_k(run),
        summary=run_summary(run),
        segment_options=segment_options([(s.id, s.name, s.size) for s in sorted(run.segments, key=lambda s: s.id)]),
        segments=[],
        range_filters=features_first([(c, range_filter(c, *bounds[c], integer=c in ctx.integer_columns))
                                      for c in ctx.numeric if c in bounds]
                                     + [(c, date_filter(c, *dates[c])) for c in ctx.date_columns if c in dates],
                                     run.features),
        category_filters=[category_filter(c, v, is_yes_no(v, _reason(ctx, c))) for c, v in categories.items()],
        kind_filters=kind_filters(run),
        histograms=[histogram_graph(c) for c in hist_cols],
        profile_columns=profile_columns(run, ctx.numeric, with_groups=bool(group_mix(store, run))),
        grid_columns=grid_columns(ctx),
        spec=FilterSpec(run.run_id).to_dict(),
        selection=None,
    )


def _reason(ctx, column: str) -> str:
    info = ctx.dataset.column(column)
    return info.reason if info is not None else ""


def histogram_columns(run: Run, numeric: list[str], bounds: dict) -> list[str]:
    """The run's numeric features first, then the other numeric columns, at most MAX_HISTOGRAMS."""
    ordered = [c for c in run.features if c in numeric] + [c for c in numeric if c not in run.features]
    return [c for c in ordered if c in bounds][:MAX_HISTOGRAMS]


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store) -> None:
    app.clientside_callback(
        "function(auto) { return !!auto; }",
        Output(ids.K_SLIDER, "disabled"),
        Input(ids.K_AUTO, "value"),
    )

    @app.callback(Output(ids.SCALE_HELP, "children"), Input(ids.SCALE, "value"))
    def show_scale_help(scale):
        return scale_help(scale)

    @app.callback(Output(ids.SEGMENTS_MODE_ROW, "style"), Output(ids.SEGMENTS_MODE, "value"),
                  Input(ids.DATASET_PICKER, "value"), prevent_initial_call=True)
    def show_segments_mode(dataset_id):
        return segments_mode(store, dataset_id)

    # The Run button starts a background job with progress: callbacks/progress.py (start_run_job).

    @app.callback(
        output=outputs(RunView, dict(
            elbow=Output(ids.ELBOW_GRAPH, "figure"),
            k_note=Output(ids.K_NOTE, "children"),
            k=Output(ids.K_SLIDER, "value", allow_duplicate=True),
            summary=Output(ids.RUN_SUMMARY, "children"),
            segment_options=Output(ids.SEGMENT_CHECKLIST, "options"),
            segments=Output(ids.SEGMENT_CHECKLIST, "value", allow_duplicate=True),
            range_filters=Output(ids.RANGE_FILTERS, "children"),
            category_filters=Output(ids.CATEGORY_FILTERS, "children"),
            kind_filters=Output(ids.KIND_FILTERS, "children"),
            histograms=Output(ids.HISTOGRAMS, "children"),
            profile_columns=Output(ids.PROFILE_GRID, "columnDefs"),
            grid_columns=Output(ids.CUSTOMER_GRID, "columnDefs"),
            spec=Output(ids.FILTER_STORE, "data", allow_duplicate=True),
            selection=Output(ids.SCATTER_GRAPH, "selectedData", allow_duplicate=True),
            region=Output(ids.SCATTER_REGION, "data", allow_duplicate=True),
            alert=Output(ids.RUN_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(run_id=Input(ids.RUN_STORE, "data")),
        prevent_initial_call=True,
    )
    def show_run(run_id):
        return as_outputs(run_view(store, run_id))
