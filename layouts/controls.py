"""Segmentation controls: features, scaling, missing-value fill, k (2..10 or auto), Run."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

K_MIN, K_MAX = 2, 10

SCALE_OPTIONS = [
    {"label": "Standardise", "value": "standard"},
    {"label": "Min–max", "value": "minmax"},
    {"label": "None", "value": "none"},
]
LOG_SCALE_OPTION = {"label": "Log + standardise", "value": "log"}
FILL_OPTIONS = [
    {"label": "Median", "value": "median"},
    {"label": "Mean", "value": "mean"},
]


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
                                    dbc.Label("Scaling", class_name="csi-label"),
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
                        value=5,
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
