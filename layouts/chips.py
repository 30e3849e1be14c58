"""The count bar's active filters: one chip per filter part (its words from core.filters), each with a
button removing only that part, and undo / redo of filter changes (the history lives in a dcc.Store)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

NO_FILTER_TEXT = "No active filter"


def chips_bar() -> html.Div:
    """Placed under the count bar: the chips, then undo and redo."""
    return html.Div(
        [
            dcc.Store(id=ids.FILTER_HISTORY, storage_type="memory", data={"past": [], "future": []}),
            html.Div(html.Span(NO_FILTER_TEXT, className="text-muted", role="listitem"), id=ids.FILTER_CHIPS,
                     className="csi-chips", role="list", **{"aria-label": "Active filters"}),
            html.Div(
                [
                    dbc.Button("Undo", id=ids.UNDO_FILTER, color="secondary", outline=True, size="sm",
                               n_clicks=0, disabled=True, title="Undo the last filter change"),
                    dbc.Button("Redo", id=ids.REDO_FILTER, color="secondary", outline=True, size="sm",
                               n_clicks=0, disabled=True, title="Redo the filter change just undone"),
                ],
                className="csi-actions",
            ),
        ],
        className="csi-row-between csi-chips-bar",
    )


def chips(items: list[tuple[str, str | None, str]]) -> list:
    """One chip per (kind key, column or None, words) of core.filters.active_items."""
    if not items:
        return [html.Span(NO_FILTER_TEXT, className="text-muted", role="listitem")]
    return [
        html.Span(
            [
                html.Span(words, className="csi-chip-text"),
                html.Button("×", id=ids.chip_remove(key, column or ""), n_clicks=0, className="csi-chip-remove",
                            title=f"Remove this filter: {words}", **{"aria-label": f"Remove filter: {words}"}),
            ],
            className="csi-chip",
            role="listitem",
        )
        for key, column, words in items
    ]
