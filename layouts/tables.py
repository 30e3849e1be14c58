"""The profile table (one row per segment, click to select) and the customer grid (paged from DuckDB):
their cards, their AG Grid column definitions and the profile table's rows."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from core.models import SEGMENT, Run, SegmentProfile
from core.views import SEGMENT_NAME, RunContext
from layouts import ids, theme

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
                    rowClassRules={"csi-row-selected": "params.data.selected"},
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
                dag.AgGrid(
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
                    },
                    className="csi-grid",
                    style={"height": f"{theme.GRID_HEIGHT}px", "width": "100%"},
                ),
                class_name="p-1",
            ),
        ],
        class_name="csi-card",
    )


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


def profile_rows(profiles: list[SegmentProfile], selected: tuple[int, ...]) -> list[dict]:
    """rowData of the profile table: one row per segment with customers, keyed as profile_columns."""
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
        rows.append(row)
    return rows


def grid_columns(ctx: RunContext) -> list[dict]:
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
