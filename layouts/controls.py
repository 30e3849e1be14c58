"""Segmentation controls: features, scaling, missing-value fill, k (2..10 or auto), Run; the run's
k note and summary shown under them."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from typing import Any

from dash import dcc, html

from core.models import Run
from core.quality import FILL_METHODS
from core.segmentation import K_MAX, K_MIN, SCALES
from layouts import ids
from layouts.help import help_icon

# Words for the core's choices (the choices themselves live in core.segmentation / core.quality).
SCALE_LABELS = {"standard": "Standardise", "minmax": "Min–max", "none": "None", "log": "Log + standardise"}
SCALE_OPTIONS = [{"label": SCALE_LABELS.get(s, s), "value": s} for s in SCALES if s != "log"]
LOG_SCALE_OPTION = {"label": SCALE_LABELS["log"], "value": "log"}  # offered for transactions (RFM)
FILL_OPTIONS = [{"label": m.capitalize(), "value": m} for m in FILL_METHODS]
DEFAULT_K = 5


def segmentation_controls() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Segmentation", class_name="csi-card-header"),
            dbc.CardBody(
                [
                    dbc.Label("Features", html_for=ids.FEATURES, class_name="csi-label"),
                    dcc.Dropdown(
                        id=ids.FEATURES,
                        options=[],
                        value=[],
                        multi=True,
                        placeholder="Numeric or categorical columns",
                        className="csi-dropdown",
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    dbc.Label(["Scaling", help_icon("scaling")], class_name="csi-label"),
                                    dbc.RadioItems(
                                        id=ids.SCALE, options=SCALE_OPTIONS, value="standard",
                                        class_name="csi-radios",
                                    ),
                                ]
                            ),
                            html.Div(
                                [
                                    dbc.Label("Fill missing", class_name="csi-label"),
                                    dbc.RadioItems(
                                        id=ids.FILL, options=FILL_OPTIONS, value="median",
                                        class_name="csi-radios",
                                    ),
                                ]
                            ),
                        ],
                        className="csi-two-cols mt-2",
                    ),
                    html.Div(
                        [
                            dbc.Label("Number of segments (k)", class_name="csi-label mb-0"),
                            dbc.Switch(id=ids.K_AUTO, label="auto", value=True, class_name="csi-k-auto"),
                        ],
                        className="csi-row-between mt-2",
                    ),
                    dcc.Slider(
                        id=ids.K_SLIDER,
                        min=K_MIN,
                        max=K_MAX,
                        step=1,
                        value=DEFAULT_K,
                        marks={k: str(k) for k in range(K_MIN, K_MAX + 1)},
                        disabled=True,
                        allow_direct_input=False,
                        className="csi-k-slider",
                    ),
                    html.Div(id=ids.K_NOTE, className="csi-note"),
                    dbc.Button(
                        "Run segmentation",
                        id=ids.RUN_BUTTON,
                        color="primary",
                        class_name="w-100 mt-2",
                        n_clicks=0,
                    ),
                    html.Div(
                        [
                            dbc.Spinner(size="sm", color="primary"),
                            html.Span("Segmenting: elbow sweep, K-Means fit and profiles…"),
                        ],
                        id=ids.RUN_STATUS,
                        className="csi-busy",
                        style={"display": "none"},
                    ),
                    html.Div(id=ids.RUN_ALERT, className="mt-2"),
                    html.Div(id=ids.RUN_SUMMARY, className="csi-note mt-1"),
                ]
            ),
        ],
        class_name="csi-card",
    )


def k_note(run: Run) -> Any:
    best = next((e for e in run.elbow if e.k == run.suggested_k), None)
    sil = f" (silhouette {best.silhouette:.2f})" if best is not None and best.silhouette is not None else ""
    return html.Span(
        [html.Strong(f"suggested k = {run.suggested_k}"), sil, f"; this run uses k = {run.k}."]
    )


def run_summary(run: Run) -> Any:
    parts = [
        f"{run.rows_clustered:,} customers clustered",
        f"{run.rows_excluded:,} kept out of the fit" if run.rows_excluded else "none excluded",
        f"scaling {run.scale}, fill {run.fill}, seed {run.seed}",
    ]
    if run.silhouette is not None:
        parts.append(f"silhouette {run.silhouette:.3f}")
    if run.explained_variance:
        parts.append("PCA explains " + " + ".join(f"{v:.0%}" for v in run.explained_variance[:2]))
    lines = [html.Div("; ".join(parts) + ".")]
    if run.excluded_by_rule:
        lines.append(html.Div("Excluded: " + ", ".join(
            f"{n:,} ({key.replace(':', ' in ')})" for key, n in run.excluded_by_rule.items() if n) + "."))
    if run.filled:
        lines.append(html.Div("Filled: " + ", ".join(
            f"{c} {f.get('count', 0):,}× with {f.get('method')} {_number(f.get('value'), 2)}"
            for c, f in run.filled.items()) + "."))
    if run.sampled:
        lines.append(html.Div("Elbow and silhouette computed on a sample."))
    return lines


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:,.{digits}f}"
