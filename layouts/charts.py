"""Chart cards: the segment scatter, the elbow chart and the per-feature histograms."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids, theme
from layouts.controls import K_HELP
from layouts.help import help_icon
from layouts.figures import ELBOW_CONFIG, HIST_CONFIG, SCATTER_CONFIG, placeholder_figure


def _card(title, body, note_id: str | None = None, class_name: str = "") -> dbc.Card:
    header = [html.Span(title)]
    if note_id:
        header.append(html.Span(id=note_id, className="csi-note ms-auto"))
    return dbc.Card(
        [dbc.CardHeader(header, class_name="csi-card-header d-flex"), dbc.CardBody(body, class_name="p-1")],
        class_name=f"csi-card {class_name}",
    )


def scatter_card() -> dbc.Card:
    return _card(
        "Segments (box or lasso select to filter)",
        dcc.Loading(
            dcc.Graph(
                id=ids.SCATTER_GRAPH,
                config=SCATTER_CONFIG,
                style={"height": f"{theme.SCATTER_HEIGHT}px"},
                figure=placeholder_figure("Loading…", theme.SCATTER_HEIGHT),
            ),
            type="circle",
            delay_show=300,
        ),
        note_id=ids.SCATTER_NOTE,
    )


def elbow_card() -> dbc.Card:
    return _card(
        ["Choosing k: inertia, silhouette and stability", help_icon("elbow")],
        [
            dcc.Graph(
                id=ids.ELBOW_GRAPH,
                config=ELBOW_CONFIG,
                style={"height": f"{theme.ELBOW_HEIGHT}px"},
                figure=placeholder_figure("Loading…", theme.ELBOW_HEIGHT),
            ),
            html.Div(K_HELP, id=ids.K_HELP, className="csi-helptext px-2 pb-1"),
        ],
    )


def histograms_card() -> dbc.Card:
    return _card(
        "Distributions by segment (drag across a histogram to filter that feature)",
        html.Div(id=ids.HISTOGRAMS, className="csi-hist-grid"),
    )


def histogram_graph(column: str) -> html.Div:
    """One histogram per feature; its figure comes from the histograms callback."""
    return html.Div(
        dcc.Graph(
            id=ids.hist(column),
            config=HIST_CONFIG,
            style={"height": f"{theme.HIST_HEIGHT}px"},
            figure=placeholder_figure("", theme.HIST_HEIGHT),
        ),
        className="csi-hist",
        # Reachable with Tab (a chart is otherwise skipped), and named for screen readers.
        tabIndex="0",
        role="group",
        **{"aria-label": f"Histogram of {column} by segment"},
    )
