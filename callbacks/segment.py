"""Segmentation callbacks: the Run button, and everything that depends on the chosen run
(elbow chart, run summary, filter controls, histogram slots, table columns, a fresh filter spec)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import dash
from dash import Input, Output, State, html, no_update

from callbacks import figures
from callbacks.common import alert, attempt, fmt_number
from core.errors import InputError
from core.filters import FilterSpec
from core.models import SEGMENT, Run
from core.store import Store, check_id
from core.views import SEGMENT_NAME, category_values, feature_bounds, run_context
from layouts import ids, theme
from layouts.charts import histogram_graph, placeholder_figure
from layouts.controls import K_MAX, K_MIN, LOG_SCALE_OPTION, SCALE_OPTIONS
from layouts.filters import category_filter, range_filter, segment_options

SCALES = {o["value"] for o in SCALE_OPTIONS} | {LOG_SCALE_OPTION["value"]}
FILLS = {"median", "mean"}
MAX_FEATURES = 50
MAX_HISTOGRAMS = 8


# -- logic ---------------------------------------------------------------------------------------
def validate_run_request(dataset_id: Any, features: Any, scale: Any, fill: Any, k: Any, auto: Any) -> dict:
    """Check what the browser sent for a run; raise InputError with what to fix."""
    check_id(dataset_id, "dataset")
    if not isinstance(features, list) or not features:
        raise InputError("choose at least one feature to segment on")
    if len(features) > MAX_FEATURES or not all(isinstance(f, str) for f in features):
        raise InputError(f"choose at most {MAX_FEATURES} feature columns")
    if scale not in SCALES:
        raise InputError(f"scaling must be one of {', '.join(sorted(SCALES))}")
    if fill not in FILLS:
        raise InputError("fill must be median or mean")
    if auto is True:
        k_value: int | str = "auto"
    else:
        if (isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k)
                or int(k) != k or not K_MIN <= k <= K_MAX):
            raise InputError(f"k must be a whole number from {K_MIN} to {K_MAX}, or auto")
        k_value = int(k)
    return {"dataset_id": dataset_id, "features": list(dict.fromkeys(features)), "scale": scale,
            "fill": fill, "k": k_value}


def start_run(store: Store, dataset_id: Any, features: Any, scale: Any, fill: Any, k: Any, auto: Any
              ) -> tuple[str | None, Any]:
    """Segment the dataset; (run id, success alert) or (None, error alert)."""
    from core.segmentation import run_segmentation

    req, err = attempt("checking the segmentation settings", validate_run_request,
                       dataset_id, features, scale, fill, k, auto)
    if err is not None:
        return None, err
    run, err = attempt(
        "segmenting",
        run_segmentation,
        store,
        req["dataset_id"],
        req["features"],
        k=req["k"],
        scale=req["scale"],
        fill=req["fill"],
    )
    if err is not None:
        return None, err
    return run.run_id, alert(
        f"Segmented {run.rows_clustered:,} customers into {run.k} segments.", color="success", duration=5000
    )


@dataclass
class RunView:
    """Everything on the page that depends on the run (not on the filter)."""

    run_id: str | None
    elbow: dict
    k_note: Any
    summary: Any
    segment_options: list[dict]
    range_filters: list
    category_filters: list
    histograms: list
    profile_columns: list[dict]
    grid_columns: list[dict]
    spec: dict | None
    alerts: list = field(default_factory=list)


def no_run_view(message: str = theme.NO_RUN_MESSAGE) -> RunView:
    return RunView(
        run_id=None,
        elbow=placeholder_figure(message, theme.ELBOW_HEIGHT),
        k_note="",
        summary="",
        segment_options=[],
        range_filters=[],
        category_filters=[],
        histograms=[html.P(message, className="text-muted m-2")],
        profile_columns=[],
        grid_columns=[],
        spec=None,
    )


def run_view(store: Store, run_id: Any) -> RunView:
    if run_id is None:
        return no_run_view()
    ctx = run_context(store, check_id(run_id, "run"))
    run = ctx.run
    bounds = feature_bounds(store, run)
    categories = category_values(store, run)
    integer_cols = {c for c in ctx.numeric if ctx.types.get(c, "").upper() in _INTEGER_TYPES}
    hist_cols = histogram_columns(run, ctx.numeric, bounds)
    return RunView(
        run_id=run.run_id,
        elbow=figures.elbow_figure(run),
        k_note=k_note(run),
        summary=run_summary(run),
        segment_options=segment_options([(s.id, s.name, s.size) for s in sorted(run.segments, key=lambda s: s.id)]),
        range_filters=[range_filter(c, *bounds[c], integer=c in integer_cols) for c in ctx.numeric if c in bounds],
        category_filters=[category_filter(c, v) for c, v in categories.items() if v],
        histograms=[histogram_graph(c) for c in hist_cols],
        profile_columns=profile_columns(run, ctx.numeric),
        grid_columns=grid_columns(ctx),
        spec=FilterSpec(run.run_id).to_dict(),
    )


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT"}


def histogram_columns(run: Run, numeric: list[str], bounds: dict) -> list[str]:
    """The run's numeric features first, then the other numeric columns, at most MAX_HISTOGRAMS."""
    ordered = [c for c in run.features if c in numeric] + [c for c in numeric if c not in run.features]
    return [c for c in ordered if c in bounds][:MAX_HISTOGRAMS]


def k_note(run: Run) -> Any:
    best = next((e for e in run.elbow if e.k == run.suggested_k), None)
    sil = f" (silhouette {best.silhouette:.2f})" if best is not None and best.silhouette is not None else ""
    return html.Span(
        [html.Strong(f"suggested k = {run.suggested_k}"), sil, f"; this run uses k = {run.k}."]
    )


def run_summary(run: Run) -> Any:
    parts = [
        f"{run.rows_clustered:,} customers clustered",
        f"{run.rows_excluded:,} kept out of the fit" if run.rows_excluded else "none excluded",
        f"scaling {run.scale}, fill {run.fill}, seed {run.seed}",
    ]
    if run.silhouette is not None:
        parts.append(f"silhouette {run.silhouette:.3f}")
    if run.explained_variance:
        parts.append("PCA explains " + " + ".join(f"{v:.0%}" for v in run.explained_variance[:2]))
    lines = [html.Div("; ".join(parts) + ".")]
    if run.excluded_by_rule:
        lines.append(html.Div("Excluded: " + ", ".join(
            f"{n:,} ({key.replace(':', ' in ')})" for key, n in run.excluded_by_rule.items() if n) + "."))
    if run.filled:
        lines.append(html.Div("Filled: " + ", ".join(
            f"{c} {f.get('count', 0):,}× with {f.get('method')} {fmt_number(f.get('value'), 2)}"
            for c, f in run.filled.items()) + "."))
    if run.sampled:
        lines.append(html.Div("Elbow and silhouette computed on a sample."))
    return lines


def profile_columns(run: Run, numeric: list[str]) -> list[dict]:
    """AG Grid columns of the profile table: segment, size, share, mean and difference per feature, action."""
    cols: list[dict] = [
        {
            "field": "name",
            "headerName": "Segment",
            "minWidth": 190,
            "flex": 2,
            "wrapText": True,
            "autoHeight": True,
            "cellStyle": {"styleConditions": [
                {"condition": f"params.data.segment == {i}",
                 "style": {"borderLeft": f"8px solid {theme.segment_color(i)}", "fontWeight": "600"}}
                for i in range(1, max(run.k, len(run.segments)) + 1)
            ]},
        },
        {"field": "size", "headerName": "Size", "type": "rightAligned", "minWidth": 90, "flex": 1,
         "valueFormatter": {"function": "d3.format(',')(params.value)"}},
        {"field": "share", "headerName": "Share", "type": "rightAligned", "minWidth": 70, "flex": 1,
         "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    ]
    features = [f for f in run.features if f in numeric]
    for f in features:
        cols.append(
            {
                "headerName": f,
                "wrapHeaderText": True,
                "autoHeaderHeight": True,
                "children": [
                    {"field": f"mean::{f}", "headerName": "mean", "type": "rightAligned", "minWidth": 70, "flex": 1,
                     "valueFormatter": {"function": "d3.format(',.1f')(params.value)"}},
                    {"field": f"diff::{f}", "headerName": "vs base", "type": "rightAligned", "minWidth": 74,
                     "flex": 1, "valueFormatter": {"function": "d3.format('+,.1f')(params.value)"},
                     "cellStyle": {"styleConditions": [
                         {"condition": "params.value > 0", "style": {"color": "#128f76"}},
                         {"condition": "params.value < 0", "style": {"color": "#c0392b"}},
                     ]}},
                ],
            }
        )
    cols.append({"field": "action", "headerName": "Suggested action", "minWidth": 220, "flex": 4,
                 "wrapText": True, "autoHeight": True, "tooltipField": "action",
                 "headerTooltip": "A marketing action suited to the segment's profile"})
    return cols


def grid_columns(ctx) -> list[dict]:
    """The customer grid: identifier and segment first (pinned), then the original columns."""
    cols = [{"field": c, "headerName": c, "pinned": "left"} for c in ctx.identifiers]
    cols.append(
        {
            "field": SEGMENT_NAME,
            "headerName": "Segment",
            "pinned": "left",
            "width": 220,
            "flex": 0,
            "suppressSizeToFit": True,
            "cellStyle": {"styleConditions": [
                {"condition": f"params.data && params.data['{SEGMENT}'] == {i}",
                 "style": {"borderLeft": f"8px solid {theme.segment_color(i)}"}}
                for i in range(1, max(ctx.run.k, len(ctx.run.segments)) + 1)
            ]},
        }
    )
    cols += [
        {"field": c, "headerName": c, **({"type": "rightAligned"} if c in ctx.numeric else {})}
        for c in ctx.columns
        if c not in ctx.identifiers
    ]
    return cols


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store) -> None:
    app.clientside_callback(
        "function(auto) { return !!auto; }",
        Output(ids.K_SLIDER, "disabled"),
        Input(ids.K_AUTO, "value"),
    )

    @app.callback(
        Output(ids.RUN_STORE, "data", allow_duplicate=True),
        Output(ids.RUN_ALERT, "children"),
        Input(ids.RUN_BUTTON, "n_clicks"),
        State(ids.DATASET_PICKER, "value"),
        State(ids.FEATURES, "value"),
        State(ids.SCALE, "value"),
        State(ids.FILL, "value"),
        State(ids.K_SLIDER, "value"),
        State(ids.K_AUTO, "value"),
        running=[
            (Output(ids.RUN_BUTTON, "disabled"), True, False),
            (Output(ids.RUN_STATUS, "style"), {"display": "flex"}, {"display": "none"}),
        ],
        prevent_initial_call=True,
    )
    def run_button(n_clicks, dataset_id, features, scale, fill, k, auto):
        if not n_clicks:
            return no_update, no_update
        run_id, message = start_run(store, dataset_id, features, scale, fill, k, auto)
        return (run_id if run_id else no_update), message

    @app.callback(
        Output(ids.ELBOW_GRAPH, "figure"),
        Output(ids.K_NOTE, "children"),
        Output(ids.RUN_SUMMARY, "children"),
        Output(ids.SEGMENT_CHECKLIST, "options"),
        Output(ids.SEGMENT_CHECKLIST, "value", allow_duplicate=True),
        Output(ids.RANGE_FILTERS, "children"),
        Output(ids.CATEGORY_FILTERS, "children"),
        Output(ids.HISTOGRAMS, "children"),
        Output(ids.PROFILE_GRID, "columnDefs"),
        Output(ids.CUSTOMER_GRID, "columnDefs"),
        Output(ids.FILTER_STORE, "data", allow_duplicate=True),
        Output(ids.SCATTER_GRAPH, "selectedData", allow_duplicate=True),
        Output(ids.RUN_ALERT, "children", allow_duplicate=True),
        Input(ids.RUN_STORE, "data"),
        prevent_initial_call=True,
    )
    def show_run(run_id):
        view, err = attempt("opening the segmentation run", run_view, store, run_id)
        if err is not None:
            view = no_run_view("The run could not be shown")
        return (
            view.elbow,
            view.k_note,
            view.summary,
            view.segment_options,
            [],
            view.range_filters,
            view.category_filters,
            view.histograms,
            view.profile_columns,
            view.grid_columns,
            view.spec,
            None,
            err if err is not None else no_update,
        )
