"""The profile table (one row per segment, click to select) and the customer grid (paged from DuckDB):
their cards, their AG Grid column definitions and the profile table's rows."""
from __future__ import annotations

import json

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from core.filled import FILLED, filled_columns, filled_note
from core.grid_filters import NUMBER_OPTIONS, TEXT_OPTIONS
from core.models import SEGMENT, Run, Segment, SegmentProfile
from core.rfm_naming import better_direction
from core.stability import stability_badge
from core.views import SEGMENT_NAME, RunContext, search_columns
from layouts import ids, theme
from layouts.why import (PRECISION_HELP, STABILITY_HELP, TOP_DRIVERS, driver_labels, group_mix_text,
                         precision_recall_text, stability_text)

PAGE_SIZE = 100  # rows per block the customer grid asks the server for


def profile_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                "Segment profiles (click a row to select that segment)", class_name="csi-card-header"
            ),
            dbc.CardBody(
                dag.AgGrid(
                    id=ids.PROFILE_GRID,
                    rowData=[],
                    columnDefs=[],
                    getRowId="params.data.row_id",
                    defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True,
                                   "wrapHeaderText": True, "autoHeaderHeight": True},
                    columnSize="responsiveSizeToFit",
                    dashGridOptions={
                        "domLayout": "autoHeight",
                        "suppressFieldDotNotation": True,
                        "rowHeight": theme.PROFILE_ROW_HEIGHT,
                        # Cells take focus (arrow keys move inside the grid); Tab and Shift+Tab
                        # leave the grid instead of cycling through its header rows and cells.
                        "suppressCellFocus": False,
                        "tabToNextCell": {"function": "false"},
                        "tabToNextHeader": {"function": "false"},
                        "localeText": {"noRowsToShow": theme.EMPTY_MESSAGE},
                        "tooltipShowDelay": 300,
                    },
                    rowClassRules={"csi-row-selected": "params.data.selected",
                                   "csi-row-outlier": "params.data.outlier"},
                    className="csi-grid",
                    style={"width": "100%"},
                ),
                class_name="p-1",
            ),
        ],
        class_name="csi-card",
    )


def customers_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.Span(id=ids.CUSTOMER_TITLE, children="Customers"), class_name="csi-card-header"),
            dbc.CardBody(
                [quick_search(), dag.AgGrid(
                    id=ids.CUSTOMER_GRID,
                    rowModelType="infinite",
                    columnDefs=[],
                    defaultColDef={"sortable": True, "resizable": True, "minWidth": 100, "flex": 1},
                    columnSize="responsiveSizeToFit",
                    dashGridOptions={
                        "rowBuffer": 0,
                        "cacheBlockSize": PAGE_SIZE,
                        "maxBlocksInCache": 20,
                        "infiniteInitialRowCount": 1,
                        "suppressFieldDotNotation": True,
                        # Cells take focus (arrow keys move inside the grid); Tab and Shift+Tab
                        # leave the grid instead of cycling through its header rows and cells.
                        "suppressCellFocus": False,
                        "tabToNextCell": {"function": "false"},
                        "tabToNextHeader": {"function": "false"},
                        "localeText": {"noRowsToShow": theme.EMPTY_MESSAGE},
                        "tooltipShowDelay": 200,
                    },
                    className="csi-grid",
                    style={"height": f"{theme.GRID_HEIGHT}px", "width": "100%"},
                )],
                class_name="p-1",
            ),
        ],
        class_name="csi-card",
    )


COMPACT = {"function": "compactNumber(params.value)"}  # 8.9k, 1.2M (assets/why_grid.js)
COMPACT_SIGNED = {"function": "compactNumber(params.value, true)"}
GOOD, BAD = "#117a65", "#a93226"  # WCAG AA contrast on white (axe audit)
ACTION_CHARS = 70  # an action's headline in the table; the whole text on expand (and in the why view)


def _segment_column(run: Run) -> dict:
    return {
        "field": "name",
        "headerName": "Segment",
        "pinned": "left",  # stays in view while the feature columns scroll
        "minWidth": 190,
        "width": 210,
        "wrapText": True,
        "autoHeight": True,
        "cellRenderer": "SegmentCell",
        "cellStyle": {"styleConditions": [
            {"condition": f"params.data.segment == {i}",
             "style": {"borderLeft": f"8px solid {theme.segment_color(i)}", "fontWeight": "600"}}
            for i in range(1, max(run.k, len(run.segments)) + 1)
        ]},
    }


def _vs_base_style(feature: str) -> dict:
    """Green where the segment is better off than the base: more is better, except for measures whose
    better side is lower (RFM recency days, core.rfm_naming.better_direction)."""
    lower_is_better = better_direction(feature) == "lower"
    good, bad = ("params.value < 0", "params.value > 0") if lower_is_better else ("params.value > 0", "params.value < 0")
    return {"styleConditions": [{"condition": good, "style": {"color": GOOD}},
                                {"condition": bad, "style": {"color": BAD}}]}


def _feature_group(f: str) -> dict:
    return {
        "headerName": f,
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "children": [
            {"field": f"mean::{f}", "headerName": "mean", "type": "rightAligned", "minWidth": 70, "flex": 1,
             "valueFormatter": COMPACT, "tooltipField": f"mean::{f}"},
            {"field": f"diff::{f}", "headerName": "vs base", "type": "rightAligned", "minWidth": 74,
             "flex": 1, "valueFormatter": COMPACT_SIGNED, "cellStyle": _vs_base_style(f)},
        ],
    }


def _explain_columns(run: Run, with_groups: bool) -> list[dict]:
    cols: list[dict] = [
        {"field": "drivers", "headerName": "Drivers", "minWidth": 200, "flex": 3, "wrapText": True,
         "autoHeight": True, "cellRenderer": "ExpandableList", "cellRendererParams": {"shown": TOP_DRIVERS},
         "tooltipField": "drivers_text", "sortable": False,
         "headerTooltip": "What sets the segment apart from the other customers (sd: standard deviations)"},
        {"field": "rule", "headerName": "Rule", "minWidth": 200, "flex": 3, "wrapText": True, "autoHeight": True,
         "tooltipField": "rule", "sortable": False,
         "headerTooltip": "A short condition in the original units that a CRM can run (DuckDB SQL)"},
        {"field": "precision_recall", "headerName": "Precision / recall", "minWidth": 110, "flex": 1,
         "headerTooltip": PRECISION_HELP},
        {"field": "stability_text", "headerName": "Stability", "minWidth": 110, "flex": 1,
         "cellRenderer": "StabilityBadge", "headerTooltip": STABILITY_HELP},
    ]
    if with_groups:
        cols.append({"field": "rfm_groups", "headerName": "RFM groups", "minWidth": 180, "flex": 2,
                     "wrapText": True, "autoHeight": True, "tooltipField": "rfm_groups", "sortable": False,
                     "headerTooltip": "The segment's customers by named RFM group (Champions, Loyal, ...)"})
    return cols


def profile_columns(run: Run, numeric: list[str], with_groups: bool = False) -> list[dict]:
    """AG Grid columns of the profile table: segment (pinned), size, share, mean and difference per
    feature, drivers, rule, precision/recall, stability, the RFM group mix (with_groups), action."""
    cols: list[dict] = [
        _segment_column(run),
        {"field": "size", "headerName": "Size", "type": "rightAligned", "minWidth": 80, "flex": 1,
         "valueFormatter": {"function": "d3.format(',')(params.value)"}},
        {"field": "share", "headerName": "Share", "type": "rightAligned", "minWidth": 70, "flex": 1,
         "valueFormatter": {"function": "d3.format('.1~%')(params.value)"}},
    ]
    cols += [_feature_group(f) for f in run.features if f in numeric]
    cols += _explain_columns(run, with_groups)
    cols.append({"field": "action", "headerName": "Suggested action", "minWidth": 260, "flex": 4,
                 "wrapText": True, "autoHeight": True, "tooltipField": "action",
                 "cellRenderer": "ExpandableText", "cellRendererParams": {"chars": ACTION_CHARS},
                 "cellClass": "csi-action-cell",
                 "headerTooltip": "A marketing action suited to the segment's profile"})
    return cols


def profile_rows(profiles: list[SegmentProfile], selected: tuple[int, ...], run: Run | None = None,
                 group_mix: dict[int, dict[str, float]] | None = None) -> list[dict]:
    """rowData of the profile table: one row per segment with customers, keyed as profile_columns;
    the explanation fields come from the run's segments (fixed for the run)."""
    segments = {s.id: s for s in run.segments} if run is not None else {}
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
            "selected": p.segment in selected,
        }
        for feature, mean in p.means.items():
            row[f"mean::{feature}"] = mean
            row[f"diff::{feature}"] = p.diffs.get(feature)
        seg = segments.get(p.segment)
        if seg is not None:
            row.update(explain_fields(run, seg))
        if group_mix:
            row["rfm_groups"] = group_mix_text(group_mix.get(p.segment, {}))
        rows.append(row)
    return rows


def explain_fields(run: Run, seg: Segment) -> dict:
    """A segment's explanation as profile-table fields."""
    labels = driver_labels(run, seg)
    return {
        "drivers": labels,
        "drivers_text": ", ".join(labels),
        "rule": seg.rule or "",
        "precision_recall": precision_recall_text(seg),
        "stability_text": stability_text(seg.stability),
        "stability_badge": stability_badge(seg.stability),
        "outlier": bool(seg.outlier_group),
    }


def quick_search() -> html.Div:
    """Find customers by id or any text column: the "search" filter kind (SQL over the whole run);
    sent on Enter or when the box loses focus."""
    return html.Label(  # the label wraps the box: its accessible name
        [html.Span("Find customers by id or any text column", className="visually-hidden"),
         dbc.Input(id=ids.filter_control("search"), type="search", value="", debounce=True, size="sm",
                   placeholder="Find customers: id or any text (press Enter)")],
        className="csi-quick-search mb-1 w-100",
    )


def grid_columns(ctx: RunContext) -> list[dict]:
    """The customer grid: identifier and segment first (pinned), then the original columns; number
    and text column filters (they go into the filter spec); filled cells marked, with a tooltip."""
    searchable = search_columns(ctx)
    filled = set(filled_columns(ctx.run, ctx.dataset.names()))
    cols = [{"field": c, "headerName": c, "pinned": "left", **_column_filter(ctx, c, searchable)}
            for c in ctx.identifiers]
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
        {"field": c, "headerName": c, **({"type": "rightAligned"} if c in ctx.numeric else {}),
         **_column_filter(ctx, c, searchable), **(_filled_mark(ctx, c) if c in filled else {})}
        for c in ctx.columns
        if c not in ctx.identifiers
    ]
    return cols


def _column_filter(ctx: RunContext, column: str, searchable: list[str]) -> dict:
    """AG Grid's filter of a column: a number range (the "ranges" kind) or text contains ("search")."""
    if column in ctx.numeric:
        return {"filter": "agNumberColumnFilter",
                "filterParams": {"filterOptions": NUMBER_OPTIONS, "maxNumConditions": 1, "buttons": ["reset"]}}
    if column in searchable:
        return {"filter": "agTextColumnFilter",
                "filterParams": {"filterOptions": TEXT_OPTIONS, "maxNumConditions": 1, "buttons": ["reset"],
                                 "debounceMs": 600}}
    return {"filter": False}


def _filled_mark(ctx: RunContext, column: str) -> dict:
    """A filled cell (NULL in the file, filled for the run) gets the csi-filled style and a tooltip."""
    has = f"params.data && params.data[{json.dumps(FILLED)}] && params.data[{json.dumps(FILLED)}].includes({json.dumps(column)})"
    return {
        "cellClassRules": {"csi-filled": has},
        "tooltipValueGetter": {"function": f"({has}) ? {json.dumps(filled_note(ctx.run, column))} : undefined"},
    }
