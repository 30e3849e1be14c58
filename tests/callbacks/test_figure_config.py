"""No chart can send customer data to an outside service (issue 15 item 1): every dcc.Graph of the page
and of the run's views uses the shared config with "Share chart" and every other outside-service
button off, and no figure turns one back on."""
from __future__ import annotations

import json

from dash import dcc

from callbacks.explore import histogram_views, scatter_view
from callbacks.segment import run_view
from layouts import figures
from layouts.page import page

# Plotly's buttons and switches that talk to plotly.com / Plotly Cloud (plotly.js 3 modeBarButtons).
OUTSIDE = {"sendChartToCloud", "editInChartStudio"}
SWITCHES = {"showSendToCloud": False, "showEditInChartStudio": False, "showLink": False, "displaylogo": False}


def graphs(component) -> list[dcc.Graph]:
    """Every dcc.Graph in a component tree."""
    found = [component] if isinstance(component, dcc.Graph) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found += graphs(child)
    return found


def assert_no_outside_services(config: dict) -> None:
    for key, value in SWITCHES.items():
        assert config.get(key) is value, f"{key} must be {value}"
    assert OUTSIDE <= set(config.get("modeBarButtonsToRemove", [])), config
    assert not OUTSIDE & set(map(str, config.get("modeBarButtonsToAdd", [])))


def assert_figure_adds_none(fig: dict) -> None:
    text = json.dumps(fig, default=str)
    assert "config" not in fig and "plotlyServerURL" not in text
    added = (fig.get("layout", {}).get("modebar") or {}).get("add") or []
    assert not OUTSIDE & set(added if isinstance(added, list) else [added])


def test_every_graph_of_the_page_uses_the_shared_config():
    found = graphs(page(1024))
    assert {g.id for g in found} >= {"scatter-graph", "elbow-graph"}
    for graph in found:
        assert_no_outside_services(graph.config)


def test_every_graph_and_figure_of_a_run_has_no_outside_service(sample):
    view = run_view(sample.store, sample.run.run_id)
    hist_graphs = [g for h in view.histograms for g in graphs(h)]
    assert hist_graphs
    for graph in hist_graphs:
        assert_no_outside_services(graph.config)
    spec = sample.spec()
    figs, _ = histogram_views(sample.store, spec, ["Age"])
    for fig in [view.elbow, scatter_view(sample.store, spec).figure, *figs,
                figures.placeholder_figure("x", 100)]:
        assert_figure_adds_none(fig)


def test_the_check_fails_when_the_share_button_returns():
    """The guard itself: a config that lets "Share chart" back in is caught."""
    leaky = {**figures.SCATTER_CONFIG, "showSendToCloud": True}
    try:
        assert_no_outside_services(leaky)
    except AssertionError:
        return
    raise AssertionError("a config with showSendToCloud=True passed the check")
