"""The whole page, composed from the panel functions in one place."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.chips import chips_bar
from layouts.charts import elbow_card, histograms_card, scatter_card
from layouts.controls import segmentation_controls
from layouts.data_panel import data_panel
from layouts.filters import filter_panel, summary_bar
from layouts.help import help_button, how_to_read_panel
from layouts.progress import job_tracker
from layouts.tables import customers_card, profile_card
from layouts.why import why_card
from layouts.models import models_card, url_alert

TITLE = "Customer Segmentation Insight"


def navbar() -> dbc.Navbar:
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(TITLE, class_name="fw-bold"),
                html.Span("K-Means segments you can filter, drill into and export", className="csi-tagline"),
                help_button(),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        class_name="csi-navbar",
    )


def stores(upload_limit_bytes: int) -> html.Div:
    """Per-session state: ids and the filter spec (small), never rows."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.RUN_STORE, storage_type="memory"),
            dcc.Store(id=ids.FILTER_STORE, storage_type="memory"),
            dcc.Store(id=ids.SCATTER_REGION, storage_type="memory"),
            dcc.Store(id=ids.UPLOAD_GATE, storage_type="memory"),
            dcc.Store(id=ids.PENDING_STORE, storage_type="memory"),
            dcc.Store(id=ids.UPLOAD_LIMIT, storage_type="memory", data=int(upload_limit_bytes)),
            dcc.Store(id=ids.LAST_VIEW, storage_type="local"),
            dcc.Store(id=ids.URL_PENDING, storage_type="memory"),
            dcc.Store(id=ids.URL_ARRIVED, storage_type="memory"),
            dcc.Store(id=ids.COMPARE_KEY, storage_type="memory"),
        ]
    )


def page(upload_limit_bytes: int) -> html.Div:
    sidebar = dbc.Col(
        [data_panel(), segmentation_controls(), job_tracker(), filter_panel()],
        xs=12,
        lg=3,
        class_name="csi-sidebar",
    )
    main = dbc.Col(
        [
            how_to_read_panel(),
            summary_bar(),
            url_alert(),
            chips_bar(),
            dbc.Row(
                [dbc.Col(scatter_card(), xs=12, xl=7), dbc.Col(elbow_card(), xs=12, xl=5)],
                class_name="g-2",
            ),
            profile_card(),
            why_card(),
            histograms_card(),
            customers_card(),
            models_card(),
        ],
        xs=12,
        lg=9,
        class_name="csi-main",
    )
    return html.Div(
        [
            stores(upload_limit_bytes),
            navbar(),
            dbc.Container(dbc.Row([sidebar, main], class_name="g-2"), fluid=True, class_name="csi-body"),
        ]
    )
