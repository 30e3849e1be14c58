"""The data panel: upload (with the transactions/RFM switch), stored-dataset picker, quality report."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.models import QualityReport
from layouts import ids
from layouts.mapping import mapping_panel
from layouts.datasets import dataset_manager, duplicate_offer
from layouts.progress import import_panel


def data_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Data", class_name="csi-card-header"),
            dbc.CardBody(
                [
                    dcc.Upload(
                        id=ids.UPLOAD,
                        children=html.Div(
                            [
                                html.Span("Drop a CSV, Excel or Parquet file here, or "),
                                html.A("choose a file", className="csi-link"),
                            ]
                        ),
                        className="csi-upload",
                        className_active="csi-upload csi-upload-active",
                        className_disabled="csi-upload csi-upload-disabled",
                        multiple=False,
                    ),
                    html.Div(
                        [dbc.Spinner(size="sm", color="primary"), html.Span("Reading and checking the file…")],
                        id=ids.UPLOAD_STATUS,
                        className="csi-busy",
                        style={"display": "none"},
                    ),
                    dbc.Switch(
                        id=ids.RFM_SWITCH,
                        label="Transactions table (RFM)",
                        value=False,
                        class_name="mt-2 mb-1",
                    ),
                    dbc.Collapse(rfm_mapping(), id=ids.RFM_MAPPING, is_open=False),
                    html.Div(id=ids.UPLOAD_CLIENT_ALERT),
                    html.Div(id=ids.UPLOAD_ALERT),
                    duplicate_offer(),
                    import_panel(),
                    dbc.Label("Dataset", html_for=ids.DATASET_PICKER, class_name="csi-label mt-2"),
                    dcc.Dropdown(
                        id=ids.DATASET_PICKER,
                        options=[],
                        clearable=False,
                        placeholder="Choose a stored dataset",
                        className="csi-dropdown",
                    ),
                    dataset_manager(),
                    html.Div(id=ids.DATASET_ALERT),
                    html.Div(id=ids.QUALITY_REPORT, className="mt-2"),
                    html.Div(id=ids.ROLES_TABLE, className="mt-2"),
                ]
            ),
        ],
        class_name="csi-card",
    )


def rfm_mapping() -> html.Div:
    """What a transactions upload needs; after the upload, the mapping step (layouts/mapping.py)."""
    return html.Div(
        [
            html.Small(
                "One row per purchase: customer, date, amount (or quantity and unit price). After you choose "
                "the file you map its columns and see a preview before loading.",
                className="text-muted d-block mb-1",
            ),
            mapping_panel(),
        ],
        className="csi-mapping",
    )


def quality_report(report: QualityReport, dataset_name: str, excluded: dict[str, int] | None = None,
                   filled: dict[str, dict] | None = None) -> html.Div:
    """What cleaning and validation did, plainly: counts, actions and sample rows."""
    findings = [f for f in report.findings if f.count]
    headline = (
        f"{report.rows_read:,} rows read, {report.rows_loaded:,} loaded, "
        f"{report.duplicates_removed:,} duplicates removed, {len(findings)} finding"
        f"{'' if len(findings) == 1 else 's'}"
    )
    messages = [html.Li(f.message) for f in findings]
    body = [
        html.Ul(_actions(report, excluded, filled), className="csi-report-list"),
        html.Div("Validation findings", className="csi-label mt-2"),
        _findings_table(findings),
    ]
    if messages:
        body.append(html.Ul(messages, className="csi-report-list small text-muted mt-1"))
    return dbc.Accordion(
        dbc.AccordionItem(body, title=f"Data quality — {headline}", item_id="quality"),
        start_collapsed=True,
        class_name="csi-quality",
    )


def _actions(report: QualityReport, excluded: dict[str, int] | None, filled: dict[str, dict] | None) -> list:
    """One line per thing cleaning did, with its count."""
    n_missing = sum(report.missing.values())
    actions: list = [
        html.Li(f"{report.rows_read:,} data rows read; {report.rows_loaded:,} kept."),
        html.Li(f"{report.duplicates_removed:,} exact duplicate rows removed."),
    ]
    if report.identifier_columns:
        actions.append(
            html.Li(
                "Identifier columns kept for display and export, never used as features: "
                + ", ".join(report.identifier_columns)
                + "."
            )
        )
    if n_missing:
        parts = ", ".join(f"{c}: {n:,}" for c, n in report.missing.items() if n)
        actions.append(html.Li(f"Missing values (filled when used as a feature): {parts}."))
    if filled:
        parts = ", ".join(
            f"{c}: {f.get('count', 0):,} with the {f.get('method')} {_fmt(f.get('value'))}" for c, f in filled.items()
        )
        actions.append(html.Li(f"Filled in the current run: {parts}."))
    if report.rejected_values:
        parts = ", ".join(f"{c}: {n:,}" for c, n in report.rejected_values.items() if n)
        if parts:
            actions.append(html.Li(f"Values that could not be read as numbers (treated as missing): {parts}."))
    if excluded:
        parts = ", ".join(f"{k.replace(':', ' in ')}: {n:,}" for k, n in excluded.items() if n)
        if parts:
            actions.append(html.Li(f"Rows kept out of the current run's fit: {parts}."))
    for repair in report.repairs:
        actions.append(html.Li(f"Repaired: {repair}"))
    for warning in report.warnings:
        actions.append(html.Li(f"Warning: {warning}", className="text-warning"))
    return actions


def _findings_table(findings: list) -> Any:
    rows = [
        html.Tr(
            [
                html.Td(f.rule.replace("_", " ")),
                html.Td(f.column or "—"),
                html.Td(f"{f.count:,}", className="text-end"),
                html.Td(f.action),
                html.Td(_samples(f.sample_rows, f.sample_values)),
            ],
            title=f.message,
        )
        for f in findings
    ]
    return (
        dbc.Table(
            [
                html.Thead(
                    html.Tr([html.Th("Rule"), html.Th("Column"), html.Th("Rows"), html.Th("Action"),
                             html.Th("Sample rows")])
                ),
                html.Tbody(rows),
            ],
            size="sm",
            bordered=False,
            hover=True,
            responsive=True,
            class_name="csi-findings mb-0",
        )
        if rows
        else html.P("No validation findings.", className="text-muted mb-0")
    )


def _samples(rows: list[int], values: list) -> str:
    if not rows:
        return "—"
    pairs = []
    for i, r in enumerate(rows[:5]):
        v = values[i] if i < len(values) else None
        pairs.append(f"row {r}" + (f" ({_fmt(v)})" if v is not None else ""))
    return ", ".join(pairs)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "…"


ROLE_HELP = ("How each column is used: identifier (shown, never a feature), numeric, categorical (one-hot "
             "when chosen), date (gives a 'days since' column), excluded (never a feature).")


def roles_table(roles: dict[str, dict[str, str]]) -> dbc.Accordion:
    """Column, role and reason (core.roles.column_roles) as a compact table that wraps inside the
    sidebar instead of overflowing it."""
    rows = [
        html.Tr([html.Td(name, className="csi-roles-col"), html.Td(r.get("role", "")),
                 html.Td(r.get("reason", ""), className="text-muted")])
        for name, r in roles.items()
    ]
    table = html.Table(
        [html.Thead(html.Tr([html.Th("Column"), html.Th("Role"), html.Th("Why")])), html.Tbody(rows)],
        className="table table-sm csi-roles-table mb-0",
    )
    counts: dict[str, int] = {}
    for r in roles.values():
        counts[r.get("role", "")] = counts.get(r.get("role", ""), 0) + 1
    headline = ", ".join(f"{n} {role}" for role, n in counts.items())
    # Collapsed like the quality report: the segmentation controls stay in view below it.
    return dbc.Accordion(
        dbc.AccordionItem([html.Div(ROLE_HELP, className="csi-helptext mb-1"), html.Div(table, className="csi-roles")],
                          title=f"Column roles — {headline}", item_id="roles"),
        start_collapsed=True,
        class_name="csi-quality csi-roles-report",
    )
