"""Cross-filtering: every selection updates the one filter spec (dcc.Store) and every view redraws
from it through core.views: summary, profile table, scatter, histograms, the customer grid."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, html, no_update

from callbacks.chips import chips_view
from callbacks.common import as_outputs, error_boundary, outputs
from callbacks.filter_state import (CLEAR, REDO, REMOVE, RESTORE, UNDO, Event, FilterUpdate, history_step,
                                    next_filter, record)
from core.grid_filters import GRID
from core.profiling import profile_segments
from core.store import Store
from core.scatter import scatter_sample
from core.views import count, grid_page, histograms, parse_spec, run_context
from layouts import figures, ids, theme
from callbacks.why import group_mix
from layouts.filters import customers_title, date_text, range_text, selection_summary
from layouts.tables import profile_rows

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


@error_boundary("showing the selection", lambda err, *_: SummaryView(no_update, no_update, no_update, err))
def summary_view(store: Store, spec_data: Any) -> SummaryView:
    """The "N of M customers selected" line, the profile table rows and the grid's title."""
    if spec_data is None:
        return SummaryView(html.Span(theme.NO_RUN_MESSAGE, className="text-muted"), [], "Customers")
    spec = parse_spec(store, spec_data)
    selected, total = count(store, spec)
    # Every segment keeps its row (the chosen ones highlighted): profiled without the segment choice;
    # profile_segments names RFM runs first (core.rfm_naming.named_run).
    profiles = profile_segments(store, dataclasses.replace(spec, segments=()), medians=False)
    run = run_context(store, spec.run_id).run
    names = {p.segment: p.name for p in profiles}
    chosen = [names.get(s) or f"segment {s}" for s in spec.segments]
    return SummaryView(
        selection_summary(selected, total, spec.is_empty),
        profile_rows(profiles, spec.segments, run, group_mix(store, run)),
        customers_title(selected, chosen),
    )


@dataclass
class ScatterView:
    figure: Any
    note: Any
    alert: Any = None


@error_boundary("sampling the scatter", lambda err, *_: ScatterView(no_update, no_update, err))
def scatter_view(store: Store, spec_data: Any) -> ScatterView:
    if spec_data is None:
        return ScatterView(figures.empty_figure(theme.NO_RUN_MESSAGE, theme.SCATTER_HEIGHT), "")
    spec = parse_spec(store, spec_data)
    data = scatter_sample(store, spec, SCATTER_POINTS, BACKGROUND_POINTS)
    rc = run_context(store, spec.run_id)
    return ScatterView(
        figures.scatter_figure(data, spec, rc.segment_names, centroids_xy(rc)),
        figures.scatter_note(data),
    )


def centroids_xy(rc) -> dict[int, tuple[float, float]]:
    """Segment centres in the scatter's coordinates (the mean of __x, __y per segment, stored with the
    run), so they are marked on PCA scatters too."""
    return {s.id: (float(s.xy[0]), float(s.xy[1])) for s in rc.run.segments if s.xy}


@error_boundary("binning the histograms", lambda err, store, spec_data, columns: ([no_update] * len(columns), err))
def histogram_views(store: Store, spec_data: Any, columns: list[str]) -> tuple[list, Any]:
    """One figure per column (in the order given), and an alert or None."""
    if not columns:
        return [], None
    if spec_data is None:
        return [figures.empty_figure(theme.NO_RUN_MESSAGE, theme.HIST_HEIGHT) for _ in columns], None
    spec = parse_spec(store, spec_data)
    hists = histograms(store, spec, list(columns), HIST_BINS)
    names = run_context(store, spec.run_id).segment_names
    by_feature = {h.feature: h for h in hists}
    return [
        figures.histogram_figure(by_feature[c], names, spec.ranges.get(c), spec)
        if c in by_feature
        else figures.empty_figure(theme.EMPTY_MESSAGE, theme.HIST_HEIGHT)
        for c in columns
    ], None


@error_boundary("fetching customers", lambda err, *_: ({"rowData": [], "rowCount": 0}, err))
def grid_response(store: Store, spec_data: Any, request: Any) -> tuple[dict, Any]:
    """A block of rows for AG Grid's infinite row model: {"rowData", "rowCount"}, and an alert or None."""
    if spec_data is None or not isinstance(request, dict):
        return {"rowData": [], "rowCount": 0}, None
    spec = parse_spec(store, spec_data)
    rows, total = grid_page(store, spec, request.get("startRow", 0), request.get("endRow", 0),
                            request.get("sortModel") or None)
    return {"rowData": rows, "rowCount": total}, None


@error_boundary("applying the filter", lambda err, *_, **__: (None, err))
def filter_update(store: Store, current: Any, events: list[Event], bounds: dict, range_columns: list[str],
                  category_columns: list[str], kinds: list[str] = (), date_columns: list[str] = ()
                  ) -> tuple[FilterUpdate | None, Any]:
    """(FilterUpdate, None) or (None, alert)."""
    return next_filter(store, current, events, bounds, range_columns, category_columns, kinds, date_columns), None


@dataclass
class FilterOutputs:
    """What a filter change updates: the spec and every control that shows it."""

    spec: Any
    segments: Any
    ranges: list
    categories: list
    kinds: list
    selection: Any
    alert: Any
    range_labels: list
    dates: list = field(default_factory=list)  # the date sliders' values
    grid: Any = no_update  # the customer grid's filterModel
    history: Any = no_update  # undo/redo history (callbacks/filter_state.py)
    region: Any = no_update  # ids.SCATTER_REGION: dropped with the scatter's selection


def filter_outputs(update: FilterUpdate | None, err: Any, slots: dict[str, list[dict]],
                   bounds: dict, history: Any = no_update) -> FilterOutputs:
    """The callback's answer for an update (or for none: everything unchanged, the alert set)."""
    keep = {name: [no_update] * len(items) for name, items in slots.items()}
    if update is None or (not update.changed and not update.clear_selections):
        return FilterOutputs(no_update, no_update, keep["ranges"], keep["categories"], keep["kinds"],
                             no_update, err, keep["range_labels"], keep.get("dates", []), history=history)
    c = update.controls
    return FilterOutputs(
        grid=c.grid,
        history=history,
        spec=update.spec.to_dict() if update.changed else no_update,
        segments=c.segments,
        ranges=[c.ranges[i["column"]] for i in slots["ranges"]],
        categories=[c.categories[i["column"]] for i in slots["categories"]],
        kinds=[c.kinds.get(i["kind"], no_update) for i in slots["kinds"]],
        selection=None if update.clear_selections else no_update,
        region=None if update.clear_selections else no_update,
        alert=None,
        range_labels=[_label(c, i["column"], bounds) for i in slots["range_labels"]],
        dates=[c.dates.get(i["column"], no_update) for i in slots.get("dates", [])],
    )


def _label(c, column: str, bounds: dict) -> Any:
    """The text beside a numeric or a date slider."""
    if column in c.ranges and column in bounds:
        return range_text(c.ranges[column], bounds[column])
    if column in c.dates and column in bounds and None not in c.dates[column]:
        return date_text(c.dates[column], bounds[column])
    return no_update


# -- wiring -----------------------------------------------------------------------------------------
def events_from_inputs(inputs: dict) -> list[Event]:
    """The triggered inputs (Dash's args_grouping of the filter callback) as filter events."""
    events: list[Event] = []
    for group in inputs.values():
        for item in group if isinstance(group, list) else [group]:
            if not item.get("triggered"):
                continue
            cid = item["id"]
            if cid == ids.CLEAR_FILTERS:
                events.append(Event(CLEAR))
            elif isinstance(cid, dict) and cid.get("type") in ids.FILTER_BUTTON_KINDS:
                if item.get("value"):  # a click (n_clicks); a button just drawn has none
                    events.append(Event(ids.FILTER_BUTTON_KINDS[cid["type"]], cid.get("value")))
            elif cid in (ids.UNDO_FILTER, ids.REDO_FILTER):
                if item.get("value"):
                    events.append(Event(UNDO if cid == ids.UNDO_FILTER else REDO))
            elif cid == ids.CUSTOMER_GRID:
                events.append(Event(GRID, item.get("value")))
            elif isinstance(cid, dict) and cid.get("type") == ids.CHIP_REMOVE_TYPE:
                if item.get("value"):  # a chip just drawn fires with no click: nothing to remove
                    events.append(Event(REMOVE, (cid.get("kind"), cid.get("column") or None)))
            elif isinstance(cid, dict) and cid.get("type") == ids.FILTER_CONTROL_TYPE:
                events.append(Event(cid.get("kind"), item.get("value")))
            elif isinstance(cid, dict) and cid.get("type") in ids.FILTER_INPUT_KINDS:
                events.append(Event(ids.FILTER_INPUT_KINDS[cid["type"]], item.get("value"), cid.get("column")))
            elif isinstance(cid, str) and cid in ids.FILTER_INPUT_KINDS:
                events.append(Event(ids.FILTER_INPUT_KINDS[cid], item.get("value")))
    # Clearing wins over anything that fired with it.
    return [Event(CLEAR)] if any(e.kind == CLEAR for e in events) else events


def _output_ids(name: str) -> list[dict]:
    return [o["id"] for o in ctx.outputs_grouping[name]]


def _register_filter(app: dash.Dash, store: Store) -> None:
    filter_inputs = dict(
        scatter=Input(ids.SCATTER_REGION, "data"),
        hists=Input(ids.hist(ALL), "selectedData"),
        cell=Input(ids.PROFILE_GRID, "cellClicked"),
        segments=Input(ids.SEGMENT_CHECKLIST, "value"),
        ranges=Input(ids.range_slider(ALL), "value"),
        categories=Input(ids.category_picker(ALL), "value"),
        kinds=Input(ids.filter_control(ALL), "value"),
        dates=Input(ids.date_range(ALL), "value"),
        clear=Input(ids.CLEAR_FILTERS, "n_clicks"),
        why_rule=Input(ids.why_rule_button_all(), "n_clicks"),
        transition=Input(ids.COMPARE_GRAPH, "clickData"),
        grid=Input(ids.CUSTOMER_GRID, "filterModel"),
        chips=Input(ids.chip_remove(ALL, ALL), "n_clicks"),
        undo=Input(ids.UNDO_FILTER, "n_clicks"),
        redo=Input(ids.REDO_FILTER, "n_clicks"),
    )

    @app.callback(
        output=outputs(FilterOutputs, dict(
            spec=Output(ids.FILTER_STORE, "data", allow_duplicate=True),
            segments=Output(ids.SEGMENT_CHECKLIST, "value", allow_duplicate=True),
            ranges=Output(ids.range_slider(ALL), "value"),
            categories=Output(ids.category_picker(ALL), "value"),
            kinds=Output(ids.filter_control(ALL), "value"),
            selection=Output(ids.SCATTER_GRAPH, "selectedData", allow_duplicate=True),
            region=Output(ids.SCATTER_REGION, "data", allow_duplicate=True),
            alert=Output(ids.FILTER_ALERT, "children"),
            range_labels=Output(ids.range_label(ALL), "children"),
            dates=Output(ids.date_range(ALL), "value"),
            grid=Output(ids.CUSTOMER_GRID, "filterModel"),
            history=Output(ids.FILTER_HISTORY, "data"),
        )),
        inputs=filter_inputs,
        state=dict(current=State(ids.FILTER_STORE, "data"), mins=State(ids.range_slider(ALL), "min"),
                   maxs=State(ids.range_slider(ALL), "max"), date_mins=State(ids.date_range(ALL), "min"),
                   date_maxs=State(ids.date_range(ALL), "max"), history=State(ids.FILTER_HISTORY, "data")),
        prevent_initial_call=True,
    )
    def update_filter(current, mins, maxs, date_mins, date_maxs, history, **_inputs):
        slots = {name: _output_ids(name) for name in ("ranges", "categories", "kinds", "range_labels", "dates")}
        bounds = {
            i["column"]: (lo, hi)
            for i, lo, hi in zip(slots["ranges"] + slots["dates"], (mins or []) + (date_mins or []),
                                 (maxs or []) + (date_maxs or []))
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float))
        }
        events = events_from_inputs({name: ctx.args_grouping[name] for name in filter_inputs})
        if current is None or not events:
            return as_outputs(filter_outputs(None, no_update, slots, bounds))
        events, history, stepped = undo_redo(events, current, history)
        if not events:
            return as_outputs(filter_outputs(None, no_update, slots, bounds, history))
        update, err = filter_update(store, current, events, bounds,
                                    [i["column"] for i in slots["ranges"]],
                                    [i["column"] for i in slots["categories"]],
                                    [i["kind"] for i in slots["kinds"]],
                                    [i["column"] for i in slots["dates"]])
        if update is not None and not stepped:
            history = record(history, current, update.spec.to_dict())
        return as_outputs(filter_outputs(update, err, slots, bounds, history if update else no_update))


def undo_redo(events: list[Event], current: dict, history: Any) -> tuple[list[Event], Any, bool]:
    """Undo and redo become a RESTORE of the history's spec: (events, history, whether it stepped)."""
    step = next((e.kind for e in events if e.kind in (UNDO, REDO)), None)
    if step is None:
        return events, history, False
    target, history = history_step(history, current, step)
    return ([Event(RESTORE, target)] if target is not None else []), history, True


def _alert_or_keep(outputs_: dict) -> dict:
    """The views share one alert slot: a view without an error leaves it as it is."""
    return {**outputs_, "alert": no_update if outputs_["alert"] is None else outputs_["alert"]}


def register(app: dash.Dash, store: Store) -> None:
    _register_filter(app, store)

    @app.callback(
        output={**outputs(SummaryView, dict(
            summary=Output(ids.SUMMARY, "children"),
            profile_rows=Output(ids.PROFILE_GRID, "rowData"),
            grid_title=Output(ids.CUSTOMER_TITLE, "children"),
            alert=Output(ids.VIEWS_ALERT, "children"),
        )), "chips": Output(ids.FILTER_CHIPS, "children")},
        inputs=dict(spec_data=Input(ids.FILTER_STORE, "data")),
        prevent_initial_call=True,
    )
    def show_summary(spec_data):
        # the count bar's chips in the same response (callbacks/chips.py): one request less per change
        view, shown = as_outputs(summary_view(store, spec_data)), chips_view(store, spec_data)
        if view["alert"] is None and shown.alert is not None:
            view["alert"] = shown.alert
        return {**view, "chips": shown.chips}

    @app.callback(
        output=outputs(ScatterView, dict(
            figure=Output(ids.SCATTER_GRAPH, "figure"),
            note=Output(ids.SCATTER_NOTE, "children"),
            alert=Output(ids.VIEWS_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(spec_data=Input(ids.FILTER_STORE, "data")),
        prevent_initial_call=True,
    )
    def show_scatter(spec_data):
        return _alert_or_keep(as_outputs(scatter_view(store, spec_data)))

    @app.callback(
        output=dict(figures=Output(ids.hist(ALL), "figure"),
                    alert=Output(ids.VIEWS_ALERT, "children", allow_duplicate=True)),
        inputs=dict(spec_data=Input(ids.FILTER_STORE, "data")),
        prevent_initial_call=True,
    )
    def show_histograms(spec_data):
        columns = [i["column"] for i in _output_ids("figures")]
        figs, err = histogram_views(store, spec_data, columns)
        return _alert_or_keep({"figures": figs, "alert": err})

    @app.callback(
        output=dict(response=Output(ids.CUSTOMER_GRID, "getRowsResponse"),
                    alert=Output(ids.VIEWS_ALERT, "children", allow_duplicate=True)),
        inputs=dict(request=Input(ids.CUSTOMER_GRID, "getRowsRequest")),
        state=dict(spec_data=State(ids.FILTER_STORE, "data")),
        prevent_initial_call=True,
    )
    def customer_rows(request, spec_data):
        if request is None or spec_data is None:
            # Before the first filter arrives: leave the request open; the filter's arrival purges the
            # grid, which asks again (an empty answer here would stick, see AG Grid's infinite model).
            return {"response": no_update, "alert": no_update}
        response, err = grid_response(store, spec_data, request)
        return _alert_or_keep({"response": response, "alert": err})

    # The scatter's selection goes to the server as its box or lasso only: Plotly's selectedData also
    # lists every selected point (a megabyte for a box over 12,000 of them), which the filter never
    # reads. A selection the server itself dropped (it sets both to null) is not sent back.
    app.clientside_callback(
        """
        function(selected, sent) {
            let region = null;
            if (selected) {
                region = {};
                if (selected.range) { region.range = selected.range; }
                if (selected.lassoPoints) { region.lassoPoints = selected.lassoPoints; }
            }
            if (JSON.stringify(region) === JSON.stringify(sent === undefined ? null : sent)) {
                return window.dash_clientside.no_update;
            }
            return region;
        }
        """,
        Output(ids.SCATTER_REGION, "data"),
        Input(ids.SCATTER_GRAPH, "selectedData"),
        State(ids.SCATTER_REGION, "data"),
        prevent_initial_call=True,
    )

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
