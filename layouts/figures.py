"""Plotly figures shaped from the core's small results (no data access here), and the one mode-bar
config every dcc.Graph uses (no button that sends a chart, and with it customer data, elsewhere)."""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from core.filters import FilterSpec
from core.lasso import grid_outline
from core.models import Run
from core.scatter import ScatterData
from core.views import Histogram
from layouts import theme

# Plotly's outside-service buttons and links, all off: "Share chart" (sendChartToCloud) uploads the
# figure and its data to Plotly Cloud, the logo and "Edit chart" link to plotly.com (issue 15 item 1).
OUTSIDE_SERVICE_BUTTONS = ("sendChartToCloud", "editInChartStudio")
OUTSIDE_SERVICES_OFF = {
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
}
_LOCAL_ONLY_REMOVED = ("autoScale2d", "toImage", "zoomIn2d", "zoomOut2d")  # no help here


def graph_config(*remove: str, **overrides) -> dict:
    """The one dcc.Graph config: outside services off, plus the graph's own removals and settings."""
    return {
        **OUTSIDE_SERVICES_OFF,
        "responsive": True,
        **overrides,
        "modeBarButtonsToRemove": list(dict.fromkeys(OUTSIDE_SERVICE_BUTTONS + _LOCAL_ONLY_REMOVED + remove)),
    }


SCATTER_CONFIG = graph_config()
HIST_CONFIG = graph_config("lasso2d", "pan2d")
ELBOW_CONFIG = graph_config(displayModeBar=False)


def _layout(**overrides) -> dict:
    layout = json.loads(json.dumps(theme.CHART_LAYOUT))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def typed(values: list, dtype: str = "f4") -> dict:
    """Plotly's base64 typed array: 4 bytes a number instead of ~18 characters of JSON, so the
    scatter's response stays small (missing values become NaN, which Plotly skips)."""
    arr = np.asarray(values, dtype=np.float32 if dtype == "f4" else np.int32)
    return {"dtype": dtype, "bdata": base64.b64encode(arr.astype("<" + dtype).tobytes()).decode("ascii")}


def spec_revision(spec: FilterSpec) -> str:
    """Changes whenever the filter does: Plotly then drops its own selection outline and dimming."""
    return json.dumps(spec.to_dict(), sort_keys=True)


# -- scatter ------------------------------------------------------------------------------------
def _id_title(data: ScatterData) -> str:
    """What a hover names the customer by: the identifier column, else the row number of the file."""
    return f"{data.id_label}:" if data.id_label else "row"


def _point_labels(data: ScatterData) -> Any:
    """What each selected point's hover names it by: its identifier, else its row number. Whole-number
    identifiers and row numbers that fit 32 bits go as a typed array (4 bytes a point); other
    identifiers as text, escaped (Plotly renders hover text as HTML)."""
    values = data.ids if data.ids else data.row
    numbers = _whole_numbers(values)
    if numbers is not None:
        return numbers
    text = ["" if v is None else str(v) for v in values]
    if any(ch in t for t in text for ch in "&<>"):
        text = [_escape(t) for t in text]
    return np.asarray(text, dtype=object)


def _whole_numbers(values: list) -> np.ndarray | None:
    """The values as int64 when all are whole numbers within 32 bits (text like "0042" stays text)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64) if arr.size == 0 or (arr.min() > -2**31 and arr.max() < 2**31) else None
    if arr.dtype.kind == "U" and all(v.isascii() and v.isdigit() and len(v) < 10 and (v == "0" or v[0] != "0") for v in values):
        return arr.astype(np.int64)
    return None


def _typed_or_list(values: np.ndarray) -> Any:
    return typed(values, "i4") if values.dtype != object else values.tolist()


SCATTER_LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom",
                  "font": {"size": 11}}

def scatter_figure(
    data: ScatterData,
    spec: FilterSpec,
    segment_names: list[str],
    centroids: dict[int, tuple[float, float]] | None = None,
) -> dict:
    """Selected customers coloured by segment (WebGL), the rest light grey underneath, centroids
    marked, the active region outlined; box and lasso selection enabled."""
    traces: list[dict] = []
    if data.background_shown:
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": "not selected",
                "x": typed(data.background_x),
                "y": typed(data.background_y),
                "marker": {"color": theme.UNSELECTED, "size": 5},
                "hoverinfo": "skip",
                "showlegend": True,
            }
        )
    segs = np.asarray(data.segment, dtype=np.int64)
    xs, ys = np.asarray(data.x, dtype=np.float64), np.asarray(data.y, dtype=np.float64)
    labels = _point_labels(data)
    for seg in sorted(set(data.segment)):
        idx = np.flatnonzero(segs == seg)
        name = _name(segment_names, seg)
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": name,
                "legendgroup": f"s{seg}",
                "x": typed(xs[idx]),
                "y": typed(ys[idx]),
                "marker": {"color": theme.segment_color(seg), "size": 7, "opacity": 0.85,
                           "line": {"width": 0.5, "color": "white"}},
                "customdata": _typed_or_list(labels[idx]),
                "hovertemplate": f"<b>{_escape(name)}</b><br>{_escape(_id_title(data))} %{{customdata}}<br>"
                f"{_escape(data.x_label)}: %{{x:.4~g}}<br>{_escape(data.y_label)}: %{{y:.4~g}}<extra></extra>",
            }
        )
    for seg, (cx, cy) in sorted((centroids or {}).items()):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"centre of {_name(segment_names, seg)}",
                "legendgroup": f"s{seg}",
                "showlegend": False,
                "x": [cx],
                "y": [cy],
                "marker": {"symbol": "x-thin", "size": 16, "color": theme.INK,
                           "line": {"width": 3, "color": theme.segment_color(seg)}},
                "hovertemplate": f"centre of {_escape(_name(segment_names, seg))}<extra></extra>",
            }
        )
    layout = _layout(
        height=theme.SCATTER_HEIGHT,
        dragmode="select",
        hovermode="closest",
        uirevision=spec.run_id,
        selectionrevision=spec_revision(spec),
        xaxis={"title": {"text": data.x_label}},
        yaxis={"title": {"text": data.y_label}},
        # Above the plot: a legend of 5+ segments wraps onto several rows, and below the plot those
        # rows ran over the PC1 axis title. Plotly grows the top margin to fit them.
        legend=SCATTER_LEGEND,
        margin={"l": 60, "r": 16, "t": 16, "b": 44, "autoexpand": True},
        shapes=_region_shapes(spec),
    )
    if data.selected == 0:
        layout["annotations"] = [_message(theme.EMPTY_MESSAGE)]
    return {"data": traces, "layout": layout}


def _region_shapes(spec: FilterSpec) -> list[dict]:
    region = spec.region
    if region is None:
        return []
    line = {"color": theme.INK, "width": 1.5, "dash": "dot"}
    if region.kind == "box":
        return [
            {"type": "rect", "xref": "x", "yref": "y", "x0": region.x[0], "x1": region.x[1],
             "y0": region.y[0], "y1": region.y[1], "line": line, "fillcolor": "rgba(44,62,80,0.04)"}
        ]
    if region.grid is not None:  # snapped to whole grid cells: draw the cells it selects
        segments = grid_outline(region.grid)
        if not segments:
            return []
        path = " ".join(f"M {x0:.6g},{y0:.6g} L {x1:.6g},{y1:.6g}" for x0, y0, x1, y1 in segments)
        return [{"type": "path", "xref": "x", "yref": "y", "path": path, "line": line}]
    path = "M " + " L ".join(f"{x},{y}" for x, y in region.points) + " Z"
    return [{"type": "path", "xref": "x", "yref": "y", "path": path, "line": line,
             "fillcolor": "rgba(44,62,80,0.04)"}]


def scatter_note(data: ScatterData) -> str:
    if data.selected == 0:
        return f"showing 0 of {data.total:,}"
    return f"showing {data.shown:,} of {data.selected:,} selected ({data.total:,} in all)"


# -- elbow ----------------------------------------------------------------------------------------
def stability_points(run: Run) -> list[tuple[int, float]]:
    """(k, stability) pairs of Run.stability_by_k (keys are str(k)), sorted by k."""
    pts = []
    for key, value in (run.stability_by_k or {}).items():
        try:
            pts.append((int(key), float(value)))
        except (TypeError, ValueError):
            continue
    return sorted(pts)


def _stability_trace(points: list[tuple[int, float]]) -> dict:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "stability",
        "x": [k for k, _ in points],
        "y": [v for _, v in points],
        "yaxis": "y2",
        "line": {"color": theme.WARNING, "width": 2, "dash": "dash"},
        "marker": {"size": 6, "symbol": "diamond"},
        "hovertemplate": "k=%{x}<br>stability %{y:.2f}<extra></extra>",
    }


def elbow_figure(run: Run) -> dict:
    """Inertia (left axis), silhouette and stability (right axis, both scores up to 1) by k; the
    suggested and the chosen k marked."""
    points = sorted(run.elbow, key=lambda e: e.k)
    ks = [e.k for e in points]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "inertia",
            "x": ks,
            "y": [e.inertia for e in points],
            "line": {"color": theme.INK, "width": 2},
            "marker": {"size": 6},
            "hovertemplate": "k=%{x}<br>inertia %{y:,.1f}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "silhouette",
            "x": [e.k for e in points if e.silhouette is not None],
            "y": [e.silhouette for e in points if e.silhouette is not None],
            "yaxis": "y2",
            "line": {"color": theme.ACCENT, "width": 2, "dash": "dot"},
            "marker": {"size": 6},
            "hovertemplate": "k=%{x}<br>silhouette %{y:.3f}<extra></extra>",
        },
    ]
    stability = stability_points(run)
    if stability:
        traces.append(_stability_trace(stability))
    suggested = next((e for e in points if e.k == run.suggested_k), None)
    if suggested is not None and suggested.silhouette is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"suggested k = {run.suggested_k}",
                "x": [suggested.k],
                "y": [suggested.silhouette],
                "yaxis": "y2",
                "marker": {"symbol": "star", "size": 16, "color": theme.ACCENT,
                           "line": {"width": 1, "color": theme.INK}},
                "hovertemplate": "suggested k=%{x}<extra></extra>",
            }
        )
    chosen_color = theme.ACCENT if run.k == run.suggested_k else theme.WARNING
    layout = _layout(
        height=theme.ELBOW_HEIGHT,
        hovermode="x unified",
        xaxis={"title": {"text": "k (number of segments)"}, "dtick": 1},
        yaxis={"title": {"text": "inertia"}},
        yaxis2={"title": {"text": "silhouette, stability"}, "overlaying": "y", "side": "right", "showgrid": False,
                "zeroline": False, "tickformat": ".2f"},
        margin={"l": 64, "r": 56, "t": 16, "b": 40},
        legend={"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 11}},
        shapes=[
            {"type": "line", "xref": "x", "yref": "paper", "x0": run.k, "x1": run.k, "y0": 0, "y1": 1,
             "line": {"color": chosen_color, "width": 2, "dash": "dash"}}
        ],
        annotations=[
            {"text": f"chosen k = {run.k}", "xref": "x", "yref": "paper", "x": run.k, "y": 1.0,
             "showarrow": False, "xanchor": "left", "yanchor": "top", "xshift": 4,
             "font": {"color": chosen_color, "size": 12}}
        ],
    )
    return {"data": traces, "layout": layout}


# -- histograms -----------------------------------------------------------------------------------
def histogram_figure(hist: Histogram, segment_names: list[str], active: tuple[float, float] | None,
                     spec: FilterSpec) -> dict:
    """Counts of the selected customers per bin, stacked by segment; the feature's active range shaded."""
    edges = hist.edges
    centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    widths = [b - a for a, b in zip(edges, edges[1:])]
    total = sum(sum(c) for c in hist.counts.values())
    traces = [
        {
            "type": "bar",
            "name": _name(segment_names, seg),
            "x": centres,
            "y": counts,
            "width": widths,
            "marker": {"color": theme.segment_color(seg), "line": {"width": 0}},
            "hovertemplate": f"{_escape(_name(segment_names, seg))}<br>%{{x}}: %{{y}}<extra></extra>",
            "showlegend": False,
        }
        for seg, counts in sorted(hist.counts.items())
        if any(counts)
    ]
    shapes = []
    if active is not None:
        shapes.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": active[0], "x1": active[1], "y0": 0, "y1": 1,
             "fillcolor": "rgba(24,188,156,0.10)", "line": {"color": theme.ACCENT, "width": 1}}
        )
    title = f"{hist.feature} · {total:,} customers"
    layout = _layout(
        height=theme.HIST_HEIGHT,
        barmode="stack",
        bargap=0,
        dragmode="select",
        selectdirection="h",
        uirevision=spec.run_id,
        selectionrevision=spec_revision(spec),
        title={"text": _escape(title), "font": {"size": 12}, "x": 0.01, "xanchor": "left", "y": 0.97},
        xaxis={"range": [edges[0], edges[-1]], "fixedrange": True},
        yaxis={"fixedrange": True, "title": {"text": ""}},
        margin={"l": 44, "r": 8, "t": 28, "b": 28},
        shapes=shapes,
        meta={"total": total, "feature": hist.feature},
    )
    if total == 0:
        layout["annotations"] = [_message(theme.EMPTY_MESSAGE)]
    return {"data": traces, "layout": layout}


def placeholder_figure(message: str, height: int) -> dict:
    """A figure with no data and a centred message: the empty state of every chart."""
    return {
        "data": [],
        "layout": {
            **theme.CHART_LAYOUT,
            "height": height,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                             "x": 0.5, "y": 0.5, "font": {"size": 14, "color": theme.MUTED}}] if message else [],
        },
    }


empty_figure = placeholder_figure  # the name the views use for "nothing to draw"


# -- helpers ----------------------------------------------------------------------------------------
def _message(text: str) -> dict:
    return {"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
            "font": {"size": 14, "color": theme.MUTED}, "bgcolor": "rgba(255,255,255,0.85)"}


def _name(names: list[str], seg: int) -> str:
    return names[seg - 1] if 1 <= seg <= len(names) and names[seg - 1] else f"Segment {seg}"


def _escape(text: Any) -> str:
    """Plotly renders a subset of HTML in labels: keep data text literal."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
