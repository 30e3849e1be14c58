"""The "Model and comparison" card: download the current run as a model file, score a file with it,
and compare it with another run (transition heatmap, ARI, kept / moved / new / gone)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.models import Run
from layouts import ids
from layouts.compare import COMPARE_CONFIG, COMPARE_HEIGHT, empty_compare_figure

RUNS_LISTED = 50


def models_card() -> dbc.Card:
    actions = html.Div(
        [
            dbc.Button("Download model", id=ids.MODEL_DOWNLOAD_BUTTON, color="secondary", size="sm",
                       outline=True, class_name="me-2"),
            dcc.Download(id=ids.MODEL_DOWNLOAD),
            dcc.Upload(
                id=ids.SCORE_UPLOAD,
                children=html.Div([html.Span("Score a file with this run: drop it here or "),
                                   html.A("choose a file", className="csi-link")]),
                className="csi-upload csi-upload-inline flex-grow-1",
                className_active="csi-upload csi-upload-active",
                className_disabled="csi-upload csi-upload-disabled",
                multiple=False,
            ),
        ],
        className="d-flex align-items-center flex-wrap gap-2",
    )
    busy = html.Div([dbc.Spinner(size="sm", color="primary"), html.Span("Scoring the file with this run…")],
                    id=ids.SCORE_STATUS, className="csi-busy", style={"display": "none"})
    compare = html.Div(
        [
            dbc.Label("Compare this run with", html_for=ids.COMPARE_RUN, class_name="csi-label-sm mb-0 mt-2"),
            dcc.Dropdown(id=ids.COMPARE_RUN, options=[], value=None, placeholder="Another run…",
                         className="csi-dropdown"),
            html.Div(id=ids.COMPARE_STATS, className="csi-note my-1"),
            dcc.Graph(id=ids.COMPARE_GRAPH, config=COMPARE_CONFIG, figure=empty_compare_figure(),
                      style={"height": f"{COMPARE_HEIGHT}px"}),
        ]
    )
    return dbc.Card(
        [
            dbc.CardHeader("Model: download, score new customers, compare runs", class_name="csi-card-header"),
            dbc.CardBody([actions, busy, html.Div(id=ids.MODELS_ALERT), compare], class_name="p-2"),
        ],
        class_name="csi-card",
    )


def compare_options(runs: list[Run], current: Run, dataset_names: dict[str, str]) -> list[dict]:
    """Other runs, this dataset's first: "k = 3 · mall_customers (2026-11-30 22:17:24)"."""
    others = [r for r in runs if r.run_id != current.run_id]
    others.sort(key=lambda r: r.created_at, reverse=True)  # newest first,
    others.sort(key=lambda r: r.dataset_id != current.dataset_id)  # this dataset's runs before the others
    out = []
    for r in others[:RUNS_LISTED]:
        where = "this dataset" if r.dataset_id == current.dataset_id else dataset_names.get(r.dataset_id, r.dataset_id)
        scored = " · scored" if r.fill == "model" else ""
        out.append({"label": f"k = {r.k}{scored} · {where} ({r.created_at})", "value": r.run_id})
    return out


def url_alert() -> html.Div:
    """Where an opened link says what it could not restore."""
    return html.Div(id=ids.URL_ALERT)
