"""The transactions mapping step: dropdowns of the file's own columns, the date order, why to check,
a preview of the first customers' R, F and M, and the Load button (shown after a transactions upload)."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

# (role, component id, label, required): the order of the form and of the mapping dict.
ROLE_FIELDS = (
    ("customer", ids.MAP_CUSTOMER, "Customer", True),
    ("date", ids.MAP_DATE, "Purchase date", True),
    ("amount", ids.MAP_AMOUNT, "Amount (or quantity x unit price below)", False),
    ("quantity", ids.MAP_QUANTITY, "Quantity", False),
    ("price", ids.MAP_PRICE, "Unit price", False),
    ("invoice", ids.MAP_INVOICE, "Invoice (optional)", False),
)
# The values are core.dates.DATE_ORDERS; the words are what a person reads.
DATE_ORDER_OPTIONS = [
    {"label": "Detect from the data", "value": "auto"},
    {"label": "Day first (31/12/2010)", "value": "dmy"},
    {"label": "Month first (12/31/2010)", "value": "mdy"},
    {"label": "Year first (2010-12-31)", "value": "ymd"},
]
PREVIEW_HEADERS = (("customer_id", "Customer"), ("recency_days", "Recency (days)"), ("frequency", "Frequency"),
                   ("monetary", "Monetary"), ("rfm_group", "RFM group"))
HIDDEN = {"display": "none"}
SHOWN = {"display": "block"}


def mapping_panel() -> html.Div:
    """Hidden until a transactions file waits for its mapping."""
    fields = [_dropdown(cid, label, clearable=not required) for _, cid, label, required in ROLE_FIELDS]
    fields.append(_dropdown(ids.MAP_DATE_ORDER, "Date order", clearable=False, options=DATE_ORDER_OPTIONS,
                            value="auto"))
    return html.Div(
        [
            html.Div(id=ids.MAPPING_TITLE, className="csi-label mt-2"),
            html.Small("Choose which column of your file holds each part, check the preview, then load.",
                       className="text-muted d-block mb-1"),
            *fields,
            html.Div(id=ids.MAPPING_NOTE, className="mt-2"),
            html.Div(
                dbc.Checkbox(id=ids.MAPPING_CONFIRM, value=False,
                             label="I checked the columns and the date order"),
                id=ids.MAPPING_CONFIRM_BOX, style=HIDDEN, className="mt-1",
            ),
            html.Div(id=ids.MAPPING_PREVIEW, className="mt-2"),
            html.Div(
                [
                    dbc.Button("Load", id=ids.MAPPING_LOAD, color="primary", size="sm", n_clicks=0),
                    html.Div([dbc.Spinner(size="sm", color="primary"), html.Span("Loading the customers…")],
                             id=ids.MAPPING_STATUS, className="csi-busy", style=HIDDEN),
                ],
                className="mt-2",
            ),
            html.Div(id=ids.MAPPING_ALERT),
        ],
        id=ids.MAPPING_PANEL,
        style=HIDDEN,
        className="csi-mapping",
    )


def _dropdown(component_id: str, label: str, *, clearable: bool, options: list | None = None,
              value: Any = None) -> html.Div:
    return html.Div(
        [
            dbc.Label(label, html_for=component_id, class_name="csi-label-sm mb-0"),
            dcc.Dropdown(id=component_id, options=options or [], value=value, clearable=clearable,
                         placeholder="No column" if clearable else "Choose a column",
                         className="csi-dropdown"),
        ],
        className="csi-map-field",
    )


def column_options(columns: list[str]) -> list[dict]:
    return [{"label": c, "value": c} for c in columns]


def mapping_title(name: str) -> str:
    return f"Columns of '{name}'"


def mapping_note(reasons: list[str], dates: str, dates_open: bool, filled: list[str] = ()) -> list:
    """Why the mapping should be checked (detection's doubts, in words) and how the dates were read."""
    out: list = []
    doubts = (["the columns were guessed from their values"] if reasons else []) + (
        ["the dates do not show whether the day or the month comes first: choose the date order"]
        if dates_open else [])
    if doubts:
        out.append(html.Div(
            [html.Strong("Please confirm: "), "; ".join(doubts) + ". Check the choices and the preview, then "
             "tick the box below."],
            className="text-warning small"))
    if reasons:
        out.append(html.Ul([html.Li(r) for r in reasons], className="csi-report-list small mb-1"))
    if filled:  # roles left empty in the form that the file's detection filled in
        out.append(html.Ul([html.Li(f.removeprefix("transactions: ")) for f in filled],
                           className="csi-report-list small text-muted mb-1"))
    if dates:
        out.append(html.Div(f"Dates: {dates}", className="small text-muted"))
    return out


def preview_table(rows: list[dict], lines_read: int, customers: int) -> html.Div:
    """The first customers' R, F and M as loading would compute them."""
    head = html.Thead(html.Tr([html.Th(label) for _, label in PREVIEW_HEADERS]))
    body = html.Tbody([
        html.Tr([html.Td(_cell(row.get(key))) for key, _ in PREVIEW_HEADERS]) for row in rows
    ])
    return html.Div(
        [
            html.Div(f"Preview: {lines_read:,} lines read, {customers:,} customers; the first {len(rows)}:",
                     className="small"),
            dbc.Table([head, body], size="sm", bordered=False, hover=True, class_name="csi-findings mb-0"),
        ]
    )


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
