"""Cross-filtering: every selection updates the one filter spec (dcc.Store) and every view redraws
from it through core.views: summary, profile table, scatter, histograms, the customer grid."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from callbacks import figures
from callbacks.common import attempt
from callbacks.filter_state import (
    CATEGORY,
    CLEAR,
    HISTOGRAM,
    PROFILE_ROW,
    RANGE,
    SCATTER,
    SEGMENTS,
    Event,
    next_filter,
)
from core.profiling import profile_segments
from core.store import Store
from core.views import count, grid_page, histograms, parse_spec, run_context, scatter_sample
from layouts import ids, theme
from layouts.filters import range_text

# At most 16,000 points drawn (typed arrays): one interaction's responses together (scatter,
# histograms, profile, grid page) stay under 300 KB at any size (bench/RESULTS.md).
SCATTER_POINTS = 12_000
BACKGROUND_POINTS = 4_000
HIST_BINS = 30


# -- logic ---------------------------------------------------------------------------------------
@dataclass
class SummaryView:
    summary: Any
    profile_rows: list[dict]
    grid_title: Any
    alert: Any = None


def summary_view(store: Store, spec_data: Any) -> SummaryView:
    """The "N of M customers selected" line, the profile table rows and the grid's title."""
    if spec_data is None:
        return SummaryView(html.Span(theme.NO_RUN_MESSAGE, className="text-muted"), [], "Customers")
    spec, err = attempt("reading the filter", parse_spec, store, spec_data)
    if err is not None:
        return SummaryView(no_update, no_update, no_update, err)
    counts, err = attempt("counting the selected customers", count, store, spec)
    if err is not None:
        return SummaryView(no_update, no_update, no_update, err)
    profiles, err = attempt("profiling the segments", profile_segments, store, spec)
    if err is not None:
        return SummaryView(no_update, no_update, no_update, err)
    selected, total = counts
    names = {p.segment: p.name for p in profiles}
    summary = [
        html.Span(f"{selected:,}", className="csi-count"),
        html.Span(f" of {total:,} customers selected"),
    ]
    if selected == 0:
        summary.append(html.Span(f" — {theme.EMPTY_MESSAGE}", className="text-danger"))
    elif spec.is_empty:
        summary.append(html.Span(" (no filter)", className="text-muted"))
    if spec.segments:
        chosen = ", ".join(names.get(s) or f"segment {s}" for s in spec.segments)
        title = f"Customers in {chosen}: {selected:,}"
    else:
        title = f"Customers: {selected:,} selected"
    if selected == 0:
        title = f"Customers: {theme.EMPTY_MESSAGE}"
    return SummaryView(summary, profile_rows(profiles, spec), title)


def profile_rows(profiles: list, spec) -> list[dict]:
    rows = []
    for p in profiles:
        if not p.size:
            continue
        row = {
            "row_id": str(p.segment),
            "segment": p.segment,
            "name": p.name,
            "size": p.size,
            "share": p.share,
            "action": p.action,
            "selected": p.segment in spec.segments,
        }
        for feature, mean in p.means.items():
            row[f"mean::{feature}"] = mean
            row[f"diff::{feature}"] = p.diffs.get(feature)
        rows.append(row)
    return rows


@dataclass
class ScatterView:
    figure: Any
    note: Any
    alert: Any = None


def scatter_view(store: Store, spec_data: Any) -> ScatterView:
    if spec_data is None:
        return ScatterView(figures.empty_figure(theme.NO_RUN_MESSAGE, theme.SCATTER_HEIGHT), "")
    spec, err = attempt("reading the filter", parse_spec, store, spec_data)
    if err is not None:
        return ScatterView(no_update, no_update, err)
    data, err = attempt("sampling the scatter", scatter_sample, store, spec, SCATTER_POINTS, BACKGROUND_POINTS)
    if err is not None:
        return ScatterView(no_update, no_update, err)
    rc = run_context(store, spec.run_id)
    return ScatterView(
        figures.scatter_figure(data, spec, rc.segment_names, centroids_xy(rc)),
        figures.scatter_note(data),
    )


def centroids_xy(rc) -> dict[int, tuple[float, float]]:
    """Segment centres in the scatter's coordinates (the mean of __x, __y per segment, stored with the
    run), so they are marked on PCA scatters too."""
    return {s.id: (float(s.xy[0]), float(s.xy[1])) for s in rc.run.segments if s.xy}


def histogram_views(store: Store, spec_data: Any, columns: list[str]) -> tuple[list, Any]:
    """One figure per column (in the order given), and an alert or None."""
    if not columns:
        return [], None
    if spec_data is None:
        return [figures.empty_figure(theme.NO_RUN_MESSAGE, theme.HIST_HEIGHT) for _ in columns], None
    spec, err = attempt("reading the filter", parse_spec, store, spec_data)
    if err is not None:
        return [no_update] * len(columns), err
    hists, err = attempt("binning the histograms", histograms, store, spec, list(columns), HIST_BINS)
    if err is not None:
        return [no_update] * len(columns), err
    names = run_context(store, spec.run_id).segment_names
    by_feature = {h.feature: h for h in hists}
    return [
        figures.histogram_figure(by_feature[c], names, spec.ranges.get(c), spec)
        if c in by_feature
        else figures.empty_figure(theme.EMPTY_MESSAGE, theme.HIST_HEIGHT)
        for c in columns
    ], None


def grid_response(store: Store, spec_data: Any, request: Any) -> tuple[dict, Any]:
    """A block of rows for AG Grid's infinite row model: {"rowData", "rowCount"}, and an alert or None."""
    empty = {"rowData": [], "rowCount": 0}
    if spec_data is None or not isinstance(request, dict):
        return empty, None
    spec, err = attempt("reading the filter", parse_spec, store, spec_data)
    if err is not None:
        return empty, err
    page, err = attempt(
        "fetching customers",
        grid_page,
        store,
        spec,
        request.get("startRow", 0),
        request.get("endRow", 0),
        request.get("sortModel") or None,
    )
    if err is not None:
        return empty, err
    rows, total = page
    return {"rowData": rows, "rowCount": total}, None


def filter_update(store: Store, current: Any, events: list[Event], bounds: dict, range_columns: list[str],
                  category_columns: list[str]):
    """(FilterUpdate, None) or (None, alert)."""
    return attempt("applying the filter", next_filter, store, current, events, bounds, range_columns,
                   category_columns)


# -- wiring -----------------------------------------------------------------------------------------
def _events_from_trigger() -> list[Event]:
    """Translate Dash's triggered inputs into filter events."""
    events: list[Event] = []
    values = {}
    for group in ctx.inputs_list:
        items = group if isinstance(group, list) else [group]
        for item in items:
            values[_key(item["id"], item["property"])] = item.get("value")
    for prop_id, component_id in ctx.triggered_prop_ids.items():
        prop = prop_id.rsplit(".", 1)[-1]
        value = values.get(_key(component_id, prop))
        if component_id == ids.SCATTER_GRAPH:
            events.append(Event(SCATTER, value))
        elif component_id == ids.PROFILE_GRID:
            events.append(Event(PROFILE_ROW, value))
        elif component_id == ids.SEGMENT_CHECKLIST:
            events.append(Event(SEGMENTS, value))
        elif component_id == ids.CLEAR_FILTERS:
            events.append(Event(CLEAR))
        elif isinstance(component_id, dict):
            kind = {ids.HIST_TYPE: HISTOGRAM, ids.RANGE_TYPE: RANGE, ids.CATEGORY_TYPE: CATEGORY}.get(
                component_id.get("type"))
            if kind:
                events.append(Event(kind, value, component_id.get("column")))
    # Clearing wins over anything that fired with it.
    if any(e.kind == CLEAR for e in events):
        return [Event(CLEAR)]
    return events


def _key(component_id: Any, prop: str) -> str:
    if isinstance(component_id, dict):
        component_id = repr(sorted(component_id.items()))
    return f"{component_id}.{prop}"


def register(app: dash.Dash, store: Store) -> None:
    @app.callback(
        Output(ids.FILTER_STORE, "data", allow_duplicate=True),
        Output(ids.SEGMENT_CHECKLIST, "value", allow_duplicate=True),
        Output(ids.range_slider(ALL), "value"),
        Output(ids.category_picker(ALL), "value"),
        Output(ids.SCATTER_GRAPH, "selectedData", allow_duplicate=True),
        Output(ids.FILTER_ALERT, "children"),
        Output(ids.range_label(ALL), "children"),
        Input(ids.SCATTER_GRAPH, "selectedData"),
        Input(ids.hist(ALL), "selectedData"),
        Input(ids.PROFILE_GRID, "cellClicked"),
        Input(ids.SEGMENT_CHECKLIST, "value"),
        Input(ids.range_slider(ALL), "value"),
        Input(ids.category_picker(ALL), "value"),
        Input(ids.CLEAR_FILTERS, "n_clicks"),
        State(ids.FILTER_STORE, "data"),
        State(ids.range_slider(ALL), "min"),
        State(ids.range_slider(ALL), "max"),
        prevent_initial_call=True,
    )
    def update_filter(_scatter, _hists, _cell, _segments, _ranges, _cats, _clear, current, mins, maxs):
        range_ids = [o["id"] for o in ctx.outputs_list[2]]
        category_ids = [o["id"] for o in ctx.outputs_list[3]]
        range_columns = [i["column"] for i in range_ids]
        category_columns = [i["column"] for i in category_ids]
        labels_unchanged = [no_update] * len(ctx.outputs_list[6])
        unchanged = (no_update, no_update, [no_update] * len(range_ids), [no_update] * len(category_ids),
                     no_update)
        if current is None:
            return (*unchanged, no_update, labels_unchanged)
        bounds = {
            c: (lo, hi) for c, lo, hi in zip(range_columns, mins or [], maxs or [])
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float))
        }
        events = _events_from_trigger()
        if not events:
            return (*unchanged, no_update, labels_unchanged)
        update, err = filter_update(store, current, events, bounds, range_columns, category_columns)
        if err is not None:
            return (*unchanged, err, labels_unchanged)
        if not update.changed and not update.clear_selections:
            return (*unchanged, None, labels_unchanged)
        c = update.controls
        label_columns = [o["id"]["column"] for o in ctx.outputs_list[6]]
        return (
            update.spec.to_dict() if update.changed else no_update,
            c.segments,
            [c.ranges[col] for col in range_columns],
            [c.categories[col] for col in category_columns],
            None if update.clear_selections else no_update,
            None,
            [range_text(c.ranges[col], bounds[col]) if col in c.ranges and col in bounds else no_update
             for col in label_columns],
        )

    @app.callback(
        Output(ids.SUMMARY, "children"),
        Output(ids.PROFILE_GRID, "rowData"),
        Output(ids.CUSTOMER_TITLE, "children"),
        Output(ids.VIEWS_ALERT, "children"),
        Input(ids.FILTER_STORE, "data"),
        prevent_initial_call=True,
    )
    def show_summary(spec_data):
        v = summary_view(store, spec_data)
        return v.summary, v.profile_rows, v.grid_title, v.alert

    @app.callback(
        Output(ids.SCATTER_GRAPH, "figure"),
        Output(ids.SCATTER_NOTE, "children"),
        Output(ids.VIEWS_ALERT, "children", allow_duplicate=True),
        Input(ids.FILTER_STORE, "data"),
        prevent_initial_call=True,
    )
    def show_scatter(spec_data):
        v = scatter_view(store, spec_data)
        return v.figure, v.note, v.alert if v.alert is not None else no_update

    @app.callback(
        Output(ids.hist(ALL), "figure"),
        Output(ids.VIEWS_ALERT, "children", allow_duplicate=True),
        Input(ids.FILTER_STORE, "data"),
        prevent_initial_call=True,
    )
    def show_histograms(spec_data):
        columns = [o["id"]["column"] for o in ctx.outputs_list[0]]
        figs, err = histogram_views(store, spec_data, columns)
        return figs, err if err is not None else no_update

    @app.callback(
        Output(ids.CUSTOMER_GRID, "getRowsResponse"),
        Output(ids.VIEWS_ALERT, "children", allow_duplicate=True),
        Input(ids.CUSTOMER_GRID, "getRowsRequest"),
        State(ids.FILTER_STORE, "data"),
        prevent_initial_call=True,
    )
    def customer_rows(request, spec_data):
        if request is None or spec_data is None:
            # Before the first filter arrives: leave the request open; the filter's arrival purges the
            # grid, which asks again (an empty answer here would stick, see AG Grid's infinite model).
            return no_update, no_update
        response, err = grid_response(store, spec_data, request)
        return response, err if err is not None else no_update

    # A new filter (or new columns) makes the customer grid ask for its rows again.
    app.clientside_callback(
        """
        async function(spec, columns) {
            const api = await window.dash_ag_grid.getApiAsync(%s);
            if (api) { api.purgeInfiniteCache(); }
        }
        """ % json.dumps(ids.CUSTOMER_GRID),
        Input(ids.FILTER_STORE, "data"),
        Input(ids.CUSTOMER_GRID, "columnDefs"),
        prevent_initial_call=True,
    )
