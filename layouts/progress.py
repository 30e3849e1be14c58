"""Progress of long work (a segmentation run, an import): the stage in words and a percentage bar,
fed by polling the job; and the import-folder panel (large files placed on the server)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.imports import ImportCandidate
from core.jobs import Job
from layouts import ids

POLL_MS = 500

STAGE_WORDS = {
    "queued": "Waiting to start",
    "reading": "Reading and checking the file",
    "prepare": "Preparing the features (fill, scale)",
    "sweep": "Trying k = 1..10 (elbow, silhouette, stability)",
    "fit": "Fitting K-Means",
    "project": "Projecting to 2-D (PCA)",
    "explain": "Finding drivers and rules",
    "store": "Saving the run",
    "tables": "Building the tables for fast filtering",
    "done": "Done",
    "failed": "Failed",
}


def job_tracker() -> html.Div:
    """The job this page follows (a store), its poller, and where its progress shows."""
    return html.Div(
        [
            dcc.Store(id=ids.JOB_STORE, storage_type="memory"),
            dcc.Interval(id=ids.JOB_POLL, interval=POLL_MS, disabled=True),
            html.Div(id=ids.JOB_PROGRESS, className="csi-progress", **{"aria-live": "polite"}),
        ]
    )


def progress_view(job: Job) -> html.Div:
    """'Segmenting mall: Fitting K-Means — 60%' and a bar."""
    doing = "Segmenting" if job.kind == "run" else "Importing"
    stage = STAGE_WORDS.get(job.stage, job.stage.replace("_", " ").capitalize())
    return html.Div(
        [
            html.Div(f"{doing} {job.name}: {stage} — {job.percent}%", className="csi-progress-text"),
            dbc.Progress(value=job.percent, label=f"{job.percent}%", striped=True, animated=True,
                         class_name="csi-progress-bar", style={"height": "1rem"}),
        ]
    )


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def import_options(candidates: list[ImportCandidate]) -> list[dict]:
    return [{"label": f"{c.name} ({_size(c.size)}{', parquet folder' if c.kind != 'file' else ''})",
             "value": c.name} for c in candidates]


def import_panel() -> html.Div:
    """Files an operator put in the server's import folder; large files come this way, not uploaded."""
    return html.Details(
        [
            html.Summary("Server import folder", id=ids.IMPORT_OPEN, className="csi-more-filters-summary"),
            dbc.Label("File to import", html_for=ids.IMPORT_PICKER, class_name="csi-label-sm mt-1"),
            html.Div(
                [
                    dcc.Dropdown(id=ids.IMPORT_PICKER, options=[], placeholder="No files waiting",
                                 className="csi-dropdown flex-grow-1"),
                    dbc.Button("Refresh", id=ids.IMPORT_REFRESH, size="sm", color="secondary", outline=True),
                    dbc.Button("Import", id=ids.IMPORT_BUTTON, size="sm", color="primary"),
                ],
                className="csi-dataset-actions",
            ),
            html.Div(id=ids.IMPORT_ALERT),
        ],
        className="csi-more-filters",
    )
