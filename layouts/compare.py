"""The compare heatmap: customers from each segment of another run (rows) to each segment of this run
(columns); every cell carries "other run:from id:to id" so a click becomes a "transition" filter."""
from __future__ import annotations

import plotly.graph_objects as go

from core.transitions import TransitionMatrix
from layouts import theme
from layouts.figures import graph_config, placeholder_figure

COMPARE_CONFIG = graph_config("lasso2d", "select2d", "pan2d", displayModeBar=False)
COMPARE_HEIGHT = 360
LABEL_CHARS = 28


def transition_figure(m: TransitionMatrix, chosen: dict | None = None) -> go.Figure:
    """The heatmap with its counts written in the cells; the chosen cell (the active filter) outlined."""
    ys = [f"{i}. {_short(n)}" for i, n in zip(m.from_ids, m.from_names)]
    xs = [f"{j}. {_short(n)}" for j, n in zip(m.to_ids, m.to_names)]
    # one text per cell: Plotly gives a heatmap point the cell's own customdata value
    custom = [[f"{m.other_run_id}:{i}:{j}" for j in m.to_ids] for i in m.from_ids]
    fig = go.Figure(go.Heatmap(
        z=m.counts, x=xs, y=ys, customdata=custom, text=m.counts, texttemplate="%{text:,}",
        colorscale="Blues", showscale=False, xgap=2, ygap=2,
        hovertemplate="from %{y}<br>to %{x}<br>%{z:,} customers<br>click to filter<extra></extra>",
    ))
    layout = {**theme.CHART_LAYOUT, "height": COMPARE_HEIGHT, "margin": {"l": 200, "r": 16, "t": 16, "b": 110}}
    fig.update_layout(**layout)
    fig.update_xaxes(title_text="this run", side="bottom", tickangle=-30, gridcolor=None)
    fig.update_yaxes(title_text="other run", autorange="reversed")
    if chosen and chosen.get("run") == m.other_run_id and chosen.get("from") in m.from_ids \
            and chosen.get("to") in m.to_ids:
        r, c = m.from_ids.index(chosen["from"]), m.to_ids.index(chosen["to"])
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line={"color": theme.WARNING, "width": 3})
    return fig


def compare_stats(m: TransitionMatrix) -> str:
    r = m.result
    ari = "n/a" if r.ari is None else f"{r.ari:.3f}"
    link = "the same rows" if r.id_column is None else f"'{r.id_column}'"
    return (f"Adjusted Rand index {ari} · kept {r.kept:,} · moved {r.moved:,} · new {r.new:,} · "
            f"gone {r.gone:,} (matched on {link}; click a cell to filter the customers)")


def empty_compare_figure(message: str = "Choose a run to compare with") -> go.Figure:
    return placeholder_figure(message, COMPARE_HEIGHT)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
