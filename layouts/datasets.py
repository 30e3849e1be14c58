"""Datasets kept: rename and delete (with a confirmation dialog), the runs of a dataset, and the offer
shown when a file uploaded again is already loaded."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.models import Run
from layouts import ids

MAX_LISTED_RUNS = 20
MAX_FEATURES_SHOWN = 4


def dataset_manager() -> html.Div:
    """Rename and delete the chosen dataset, and the list of its runs; folded (a native <details>)
    so that the segmentation controls keep their place in the sidebar."""
    return html.Details(
        [
            html.Summary("Manage this dataset and its runs", id=ids.DATASET_MANAGE, className="csi-more-filters-summary"),
            html.Div(
                [
                    dbc.Label("Name", html_for=ids.DATASET_NAME, class_name="csi-label-sm mb-0 align-self-center"),
                    dbc.Input(id=ids.DATASET_NAME, type="text", size="sm", maxLength=120,
                              placeholder="Dataset name", debounce=False),
                    dbc.Button("Rename", id=ids.DATASET_RENAME, size="sm", color="secondary", outline=True),
                    dbc.Button("Delete…", id=ids.DATASET_DELETE, size="sm", color="danger", outline=True),
                ],
                className="csi-dataset-actions",
            ),
            html.Div(id=ids.DATASET_ACTION_ALERT),
            html.Div("Runs of this dataset", className="csi-label mt-2"),
            html.Div(id=ids.RUNS_LIST, className="csi-runs-list"),
            delete_dialog(),
        ],
        className="csi-more-filters",
    )


def delete_dialog() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete this dataset?")),
            dbc.ModalBody(id=ids.DELETE_TEXT),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.DELETE_CANCEL, color="secondary", outline=True),
                    dbc.Button("Delete", id=ids.DELETE_CONFIRM, color="danger"),
                ]
            ),
        ],
        id=ids.DELETE_MODAL,
        is_open=False,
    )


def delete_text(name: str, n_runs: int) -> str:
    runs = f"its {n_runs} run{'' if n_runs == 1 else 's'}" if n_runs else "it has no runs"
    return (f"'{name}' and {runs} will be removed for good. Exported files are not affected. "
            "This cannot be undone.")


def run_label(run: Run) -> str:
    """One line per run: k, when, and on which features."""
    features = ", ".join(run.features[:MAX_FEATURES_SHOWN])
    if len(run.features) > MAX_FEATURES_SHOWN:
        features += f" +{len(run.features) - MAX_FEATURES_SHOWN} more"
    when = str(run.created_at)[:16].replace("T", " ")
    return f"k = {run.k} · {when} · {features}"


def runs_list(runs: list[Run], current: str | None) -> html.Div | html.P:
    """The dataset's runs, newest first; the shown one is marked, the others open with a click."""
    if not runs:
        return html.P("No runs yet.", className="text-muted mb-0")
    items = []
    for run in runs[:MAX_LISTED_RUNS]:
        shown = run.run_id == current
        items.append(
            dbc.ListGroupItem(
                run_label(run) + (" (shown)" if shown else ""),
                id=ids.run_open(run.run_id),
                action=True,
                active=shown,
                n_clicks=0,
                class_name="py-1 px-2",
            )
        )
    return dbc.ListGroup(items, flush=True)


def duplicate_text(name: str) -> str:
    return f"This file is already loaded as '{name}'. "


def duplicate_offer() -> html.Div:
    """Shown instead of loading a file whose bytes are already loaded: open it, or load it again.
    Always in the page (closed), so its buttons always exist for their callbacks."""
    return html.Div(
        [
            dbc.Collapse(
                dbc.Alert(
                    [
                        html.Span(id=ids.DUPLICATE_TEXT),
                        dbc.Button("Open it", id=ids.DUPLICATE_OPEN, size="sm", color="primary",
                                   class_name="me-1"),
                        dbc.Button("Load again", id=ids.DUPLICATE_AGAIN, size="sm", color="secondary",
                                   outline=True),
                    ],
                    color="info",
                    class_name="csi-alert py-2 px-3 mt-2 mb-0",
                ),
                id=ids.DUPLICATE_OFFER,
                is_open=False,
            ),
            dcc.Store(id=ids.DUPLICATE_STORE, storage_type="memory"),
        ]
    )
