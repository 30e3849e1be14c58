"""Help where the words are technical: short explanations (tooltips on a "?" button) and the one-screen
"how to read this" shown on a first visit and from the navbar. All the help text lives here."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

# One plain sentence or two per technical word; the keys are what help_icon() takes.
HELP_TEXTS: dict[str, tuple[str, str]] = {
    "scaling": (
        "Scaling",
        "Puts features on a common footing so that no feature wins just because of its units. "
        "Standardise: each feature minus its mean, divided by its standard deviation. "
        "Min-max: each feature squeezed to 0..1 (one extreme customer stretches the range). "
        "log: log(1 + x) first, for amounts where a few customers spend far more than the rest. "
        "Auto: log for strongly skewed amounts, then standardise.",
    ),
    "elbow": (
        "The elbow chart",
        "Inertia is how far customers are from their segment's centre; it always falls as k grows. "
        "The 'elbow' is where adding a segment stops helping much. "
        "Silhouette (-1..1) says how clearly each customer belongs to its own segment rather than "
        "the nearest other one: above 0.5 is clear, below 0.25 is weak.",
    ),
    "silhouette": (
        "Silhouette",
        "From -1 to 1: how much closer customers are to their own segment than to the nearest other "
        "one. Above 0.5 the segments are clearly apart; below 0.25 they overlap.",
    ),
    "stability": (
        "Stability",
        "The segmentation is refitted on random subsets of the customers. Stability (0..1) is how "
        "much each segment keeps the same customers across those refits: above 0.75 is solid, "
        "below 0.6 the segment may be an accident of the sample.",
    ),
    "rule": (
        "Rules, precision and recall",
        "A rule is a short condition in the original units that a CRM can run. Precision: of the "
        "customers the rule picks, the share that really are in the segment. Recall: of the "
        "segment's customers, the share the rule picks.",
    ),
}


def help_icon(key: str) -> html.Span:
    """A small "?" button beside a technical word; hovering or focusing it shows the explanation."""
    title, text = HELP_TEXTS[key]
    button_id = f"help-{key}"
    return html.Span(
        [
            html.Button("?", id=button_id, type="button", className="csi-help-icon",
                        **{"aria-label": f"What is this? {title}", "aria-describedby": f"{button_id}-text"}),
            # Also in the page for screen readers (the tooltip only exists while shown).
            html.Span(text, id=f"{button_id}-text", className="visually-hidden"),
            dbc.Tooltip(text, target=button_id, placement="auto", trigger="hover focus"),
        ],
        className="csi-help-wrap",
    )


HOW_TO_READ = [
    ("Data", "Upload a customer table (one row per customer) or a transactions table (switch on "
             "'Transactions'). The data-quality report says what was cleaned, filled and left out."),
    ("Segments", "K-Means groups customers that look alike on the chosen features. Each segment gets "
                 "a name from what sets it apart and a suggested action. 'Outliers' are customers far "
                 "from every segment, kept apart rather than forced into one."),
    ("Choosing k", "The elbow chart shows inertia and silhouette for k = 1..10; the suggested k balances "
                   "a clear elbow, a good silhouette and stable segments."),
    ("The scatter", "With more than two features the customers are drawn on PC1 and PC2, the two "
                    "directions in which they differ most; distances are only approximate."),
    ("Filtering", "Click a profile row, tick segments, drag across a histogram or draw a box or lasso "
                  "on the scatter: every view, the customer list and the export follow the same filter."),
    ("Export", "The export holds exactly the customers selected, with their segment, and sheets for "
               "the profiles, the data quality and the run's settings."),
]


def how_to_read_panel() -> html.Div:
    """The one-screen guide, above the charts. It opens by itself on the first visit (a flag kept in
    the browser) and from the navbar button; a card, not a modal, so it never blocks the page."""
    items = [html.Li([html.Strong(f"{title}: "), text]) for title, text in HOW_TO_READ]
    return html.Div(
        [
            dcc.Store(id=ids.HELP_SEEN, storage_type="local"),
            dbc.Collapse(
                dbc.Card(
                    [
                        dbc.CardHeader(
                            [html.Span("How to read this dashboard"),
                             dbc.Button("Close", id=ids.HELP_CLOSE, size="sm", color="primary",
                                        class_name="ms-auto")],
                            class_name="csi-card-header d-flex",
                        ),
                        dbc.CardBody([
                            html.Ul(items, className="csi-howto mb-1"),
                            html.P("Words with a '?' beside them have a short explanation.", className="mb-0"),
                        ]),
                    ],
                    class_name="csi-card csi-help-panel",
                ),
                id=ids.HELP_PANEL,
                is_open=False,
            ),
        ]
    )


def help_button() -> dbc.Button:
    return dbc.Button("How to read this", id=ids.HELP_BUTTON, color="light", size="sm", outline=True,
                      class_name="ms-3")
