"""The profile table (one row per segment, click to select) and the customer grid (paged from DuckDB)."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

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
                        "suppressCellFocus": True,
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
                        "suppressCellFocus": True,
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
