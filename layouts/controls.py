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
SCALE_LABELS = {"auto": "Auto", "standard": "Standardise", "minmax": "Min–max", "none": "None",
                "log": "Log + standardise"}
# One short sentence per scale (issue 15 item 9), shown under the radio buttons for the chosen one.
SCALE_HELP = {
    "auto": "Log of strongly skewed amounts and counts, then standardise everything: one big spender "
            "cannot pull a segment on their own.",
    "standard": "Each feature to mean 0 and standard deviation 1, so every feature weighs the same.",
    "minmax": "Each feature squeezed into 0..1; extreme values squeeze everyone else together.",
    "none": "Original units: a feature with big numbers (income in dollars) dominates the distances.",
    "log": "log(1 + x) of every feature, then standardise: for skewed, non-negative measures such as "
           "RFM recency, frequency and spend.",
}
SCALE_OPTIONS = [{"label": SCALE_LABELS.get(s, s), "value": s} for s in SCALES if s != "log"]
LOG_SCALE_OPTION = {"label": SCALE_LABELS["log"], "value": "log"}  # offered for transactions (RFM)
# What the k chart's curves mean (issue 15 item 9).
K_HELP = ("Elbow: inertia (spread within segments) falls as k grows; look for the bend. Silhouette: how "
          "well customers sit in their own segment rather than the next one (-1..1, higher is better). "
          "Stability: how often refits on resampled customers find the same segments again (0..1; "
          "0.85 or more is stable).")
SEGMENTS_MODES = [  # transactions datasets: K-Means on R, F, M, or the named RFM groups as the segments
    {"label": "K-Means", "value": "kmeans"},
    {"label": "named RFM groups", "value": "rfm-groups"},
]
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
                    scale_and_fill(),
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
                    segments_mode_choice(),
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


def scale_and_fill() -> html.Div:
    """Scaling (auto by default, with the chosen scale's help sentence) beside the missing-value fill."""
    return html.Div(
        [
            html.Div(
                [
                    dbc.Label(["Scaling", help_icon("scaling")], class_name="csi-label"),
                    dbc.RadioItems(id=ids.SCALE, options=SCALE_OPTIONS, value="auto", class_name="csi-radios"),
                    html.Div(SCALE_HELP["auto"], id=ids.SCALE_HELP, className="csi-helptext"),
                ]
            ),
            html.Div(
                [
                    dbc.Label("Fill missing", class_name="csi-label"),
                    dbc.RadioItems(id=ids.FILL, options=FILL_OPTIONS, value="median", class_name="csi-radios"),
                ]
            ),
        ],
        className="csi-two-cols mt-2",
    )


def segments_mode_choice() -> html.Div:
    """"Segments: K-Means | named RFM groups", shown for transactions datasets only."""
    return html.Div(
        [
            dbc.Label("Segments", class_name="csi-label mb-0 me-2"),
            dbc.RadioItems(id=ids.SEGMENTS_MODE, options=SEGMENTS_MODES, value="kmeans", inline=True,
                           class_name="csi-radios"),
        ],
        id=ids.SEGMENTS_MODE_ROW,
        className="mt-2",
        style={"display": "none"},
    )


def scale_help(scale: Any) -> str:
    """The help sentence of a scale value ("" for an unknown one)."""
    return SCALE_HELP.get(scale, "") if isinstance(scale, str) else ""


def k_note(run: Run) -> Any:
    """The suggested and the used k, and the core's one sentence saying why (Run.k_reason)."""
    if not run.elbow:  # a run without a sweep (the named RFM groups as segments)
        return html.Span([html.Strong(f"{run.k} segments"), " (the named RFM groups present)."])
    best = next((e for e in run.elbow if e.k == run.suggested_k), None)
    sil = f" (silhouette {best.silhouette:.2f})" if best is not None and best.silhouette is not None else ""
    parts: list[Any] = [html.Strong(f"suggested k = {run.suggested_k}"), sil, f"; this run uses k = {run.k}."]
    if run.k_reason:
        parts += [html.Br(), html.Span(run.k_reason, className="csi-k-reason")]
    return html.Span(parts)


def slider_k(run: Run) -> int:
    """The k slider's value for a run: its k, kept inside the slider's range."""
    return max(K_MIN, min(K_MAX, int(run.k)))


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
