"""The page's help, the scatter legend's place, and the keyboard options of the grids."""
from __future__ import annotations

import base64

import numpy as np

from callbacks.help import help_state
from core.filters import FilterSpec
from core.scatter import ScatterData
from layouts import ids
from layouts.figures import scatter_figure
from layouts.help import HELP_TEXTS, help_icon
from layouts.page import page
from layouts.tables import customers_card, profile_card

from cb_helpers import find, text_of


def test_first_visit_opens_the_guide_and_a_returning_visit_does_not():
    assert help_state(None, None, False) == (True, True)  # no flag in the browser: first visit
    assert help_state(None, True, False) == (False, True)
    assert help_state(ids.HELP_CLOSE, True, True) == (False, True)
    assert help_state(ids.HELP_BUTTON, True, False) == (True, True)
    assert help_state(ids.HELP_BUTTON, True, True) == (False, True)


def test_every_technical_word_has_an_explanation_on_the_page():
    words = {"Standardise", "Min-max", "log", "silhouette", "elbow", "Stability", "Precision", "Recall"}
    text = " ".join(t for _, t in HELP_TEXTS.values()).lower()
    assert all(w.lower() in text for w in words)
    shown = page(1024)
    for key in ("scaling", "elbow"):
        assert find(shown, f"help-{key}") is not None, key
    assert find(shown, ids.HELP_BUTTON) is not None and find(shown, ids.HELP_PANEL) is not None
    icon = help_icon("stability")
    assert "refitted" in text_of(icon)


def test_the_scatter_legend_sits_above_the_plot_with_many_segments():
    n = 7
    data = ScatterData(
        x=[float(i) for i in range(n)], y=[float(i) for i in range(n)], segment=list(range(1, n + 1)),
        row=list(range(1, n + 1)), shown=n, selected=n, total=n, x_label="PC1", y_label="PC2",
    )
    spec = FilterSpec(run_id="0123456789ab")
    fig = scatter_figure(data, spec, [f"Segment number {i}" for i in range(1, n + 1)])
    legend, xaxis = fig["layout"]["legend"], fig["layout"]["xaxis"]
    assert xaxis["title"]["text"] == "PC1"
    # Above the plotting area (paper y > 1, anchored at its bottom), so never over the x axis title.
    assert legend["y"] > 1 and legend["yanchor"] == "bottom"


def test_grid_cells_take_focus_and_tab_leaves_the_grids():
    for card, grid_id in ((profile_card(), ids.PROFILE_GRID), (customers_card(), ids.CUSTOMER_GRID)):
        options = find(card, grid_id).dashGridOptions
        assert options["suppressCellFocus"] is False
        assert options["tabToNextCell"] == {"function": "false"}
        assert options["tabToNextHeader"] == {"function": "false"}


def test_the_runs_features_come_first_and_the_rest_under_more_filters(sample):
    from dash import html

    from callbacks.segment import run_view

    view = run_view(sample.store, sample.run.run_id)
    first = [c.children[1].id["column"] for c in view.range_filters[:-1]]
    assert first == ["Annual Income (k$)", "Spending Score (1-100)"] == sample.run.features
    more = view.range_filters[-1]
    assert isinstance(more, html.Details)
    assert more.children[0].children == "More filters (1)"
    assert [c.children[1].id["column"] for c in more.children[1:]] == ["Age"]


def labels(ids) -> list:
    """The hover labels (customdata) of each segment's trace for three points with these identifiers."""
    data = ScatterData(x=[0.0, 1.0, 2.0], y=[0.0, 1.0, 2.0], segment=[1, 1, 2], row=[10, 11, 12], shown=3,
                       selected=3, total=3, ids=ids, id_label="id")
    figure = scatter_figure(data, FilterSpec(run_id="0123456789ab"), ["a", "b"])
    return [t["customdata"] for t in figure["data"] if "customdata" in t]


def test_scatter_hover_labels_text_ids_escaped_and_number_ids_typed():
    text = labels(["C-01", "<b>x</b>", "007"])  # not all whole numbers: text, HTML escaped, zeros kept
    assert text == [["C-01", "&lt;b&gt;x&lt;/b&gt;"], ["007"]]
    typed_ = labels(["5", "17", "123456789"])
    assert [t["dtype"] for t in typed_] == ["i4", "i4"]
    assert [list(np.frombuffer(base64.b64decode(t["bdata"]), dtype="<i4")) for t in typed_] == [[5, 17], [123456789]]
    rows = labels([])  # no identifier column: the row numbers
    assert [list(np.frombuffer(base64.b64decode(t["bdata"]), dtype="<i4")) for t in rows] == [[10, 11], [12]]


def test_scatter_hover_labels_for_number_ids_beyond_32_bits_or_missing_are_text():
    typed_ = labels([5, -17, 2**31 - 1])  # numbers from an integer column
    assert [list(np.frombuffer(base64.b64decode(t["bdata"]), dtype="<i4")) for t in typed_] == [[5, -17], [2**31 - 1]]
    assert labels([5, 17, 2**40]) == [["5", "17"], [str(2**40)]]  # would wrap around in 32 bits
    assert labels([5, None, 7]) == [["5", ""], ["7"]]


def test_a_snapped_lasso_is_outlined_by_the_cells_it_selects():
    from core.filters import Region
    from core.lasso import GridCells

    edges = (0.0, 1.0, 2.0)
    square = ((0.2, 0.2), (1.8, 0.2), (1.8, 0.8), (0.2, 0.8))  # encloses the centres of cells (0,0), (1,0)
    grid = GridCells(edges, edges, (0, 2))
    spec = FilterSpec(run_id="0123456789ab", region=Region("lasso", points=square, grid=grid))
    data = ScatterData(x=[0.5], y=[0.5], segment=[1], row=[1], shown=1, selected=1, total=1)
    shapes = scatter_figure(data, spec, ["a"])["layout"]["shapes"]
    assert len(shapes) == 1 and shapes[0]["path"].count("M ") == 6  # a 2 x 1 block has 6 unit sides
    assert "0.2" not in shapes[0]["path"]  # the cells' border, not the drawn polygon
