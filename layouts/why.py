"""Why a segment exists, for display: driver labels ("Milk ↑ 1.2 sd"), the drivers' bar chart, and the
"why" card (drivers, rule with precision and recall, stability badge, action, a button filtering to
the rule's customers). The numbers come from the run (core/explain.py, core/stability.py)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.models import Run, Segment
from core.profiling import onehot_columns
from core.stability import stability_badge
from layouts import ids, theme
from layouts.figures import HIST_CONFIG, _layout, placeholder_figure

TOP_DRIVERS = 3  # drivers shown in the profile table before "+N more"
HIGHER_COLOR = "#128f76"  # a driver the segment has more of
LOWER_COLOR = "#c0392b"
BADGE_COLORS = {"stable": "success", "fair": "warning", "unstable": "danger"}
WHY_HEIGHT = 220
PRECISION_HELP = ("Precision: of the customers matching the rule, the share in this segment. Recall: of "
                  "the segment, the share matching the rule.")
STABILITY_HELP = ("Stability: how often refits on resampled customers find this segment again (0..1); "
                  "stable from 0.85, fair from 0.6.")


# -- words -------------------------------------------------------------------------------------
def driver_label(d: Mapping, onehot: Mapping[str, tuple[str, str]]) -> str:
    """'Milk ↑ 1.2 sd' for a numeric driver (effect in standard deviations), 'Region = 3 ↑ 35 pts'
    for a category level (effect = share difference)."""
    arrow = "↑" if d.get("direction") == "higher" else "↓"
    effect = abs(float(d.get("effect") or 0.0))
    feature = str(d.get("feature", ""))
    if feature in onehot:
        col, level = onehot[feature]
        return f"{col} = {level} {arrow} {effect * 100:.0f} pts"
    return f"{feature} {arrow} {effect:.1f} sd"


def driver_labels(run: Run, segment: Segment) -> list[str]:
    onehot = onehot_columns(run)
    return [driver_label(d, onehot) for d in segment.drivers]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def precision_recall_text(segment: Segment) -> str:
    if segment.rule_precision is None and segment.rule_recall is None:
        return ""
    return f"precision {percent(segment.rule_precision)} · recall {percent(segment.rule_recall)}"


def stability_text(value: float | None) -> str:
    """'stable 0.93' (the core's badge word and the value), '' when not computed."""
    badge = stability_badge(value)
    return f"{badge} {value:.2f}" if badge else ""


def group_mix_text(mix: Mapping[str, float], top: int = 3) -> str:
    """'Champions 60% · Loyal 30% · At risk 10%': a segment's largest named RFM groups."""
    ranked = sorted(mix.items(), key=lambda kv: -kv[1])[:top]
    return " · ".join(f"{name} {share:.0%}" for name, share in ranked)


# -- the drivers' chart ------------------------------------------------------------------------------
def drivers_figure(run: Run, segment: Segment) -> dict:
    """Horizontal bars of the segment's drivers, strongest on top, green when the segment has more of
    the feature and red when less; numeric effects in standard deviations, levels in share points."""
    if not segment.drivers:
        return placeholder_figure("No feature sets this segment apart", drivers_height(0))
    onehot = onehot_columns(run)
    drivers = list(reversed(segment.drivers))  # Plotly draws the first bar at the bottom
    labels = [driver_label(d, onehot) for d in drivers]
    effects = [(1 if d.get("direction") == "higher" else -1) * abs(float(d.get("effect") or 0.0))
               * (100 if d.get("feature") in onehot else 1) for d in drivers]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": effects,
        "y": labels,
        "marker": {"color": [HIGHER_COLOR if e >= 0 else LOWER_COLOR for e in effects]},
        "customdata": [[_value(d.get("segment")), _value(d.get("others"))] for d in drivers],
        "hovertemplate": "%{y}<br>segment %{customdata[0]} vs others %{customdata[1]}<extra></extra>",
    }
    layout = _layout(
        height=drivers_height(len(drivers)),
        margin={"l": 8, "r": 16, "t": 8, "b": 40},
        showlegend=False,
        xaxis={"title": {"text": "effect (sd, or share points for a category)"}, "zeroline": True,
               "zerolinecolor": theme.MUTED},
        yaxis={"automargin": True},
    )
    return {"data": [trace], "layout": layout}


def drivers_height(n: int) -> int:
    """Pixels for n bars: thin bars, never a single bar filling a tall chart."""
    return min(WHY_HEIGHT + 120, 80 + 34 * max(n, 1))


def _value(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return f"{f:,.0f}" if abs(f) >= 1000 else f"{f:.1f}" if abs(f) >= 10 else f"{f:.2f}"


# -- the card ----------------------------------------------------------------------------------
def why_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Span("Why this segment?", className="me-2"),
                    dcc.Dropdown(id=ids.WHY_SEGMENT, options=[], value=None, clearable=False,
                                 placeholder="Choose a segment (or click a profile row)",
                                 className="csi-dropdown csi-why-picker"),
                ],
                class_name="csi-card-header d-flex align-items-center",
            ),
            dbc.CardBody(html.Div(id=ids.WHY_BODY), class_name="p-2"),
        ],
        id=ids.WHY_CARD,
        class_name="csi-card",
    )


def segment_options(run: Run) -> list[dict]:
    return [{"label": f"{s.id}. {s.name}", "value": s.id} for s in sorted(run.segments, key=lambda s: s.id)]


def why_body(run: Run, segment: Segment) -> list:
    """The explanation of one segment: drivers chart, rule, stability and action."""
    badge = stability_badge(segment.stability)
    facts: list[Any] = [
        html.Div([html.Strong(segment.name), html.Span(f"  {segment.size:,} customers ({segment.share:.1%})",
                                                       className="csi-note")]),
    ]
    if segment.outlier_group:
        facts.append(dbc.Badge("Outliers", color="secondary", class_name="me-1"))
        facts.append(html.Span("customers far from every segment, flagged rather than made a segment",
                               className="csi-note"))
    if badge:
        facts.append(html.Div([dbc.Badge(stability_text(segment.stability), color=BADGE_COLORS[badge],
                                         class_name="csi-why-stability", title=STABILITY_HELP)], className="mt-1"))
    facts.append(_rule_block(segment))
    facts.append(html.Div([html.Span("Suggested action: ", className="csi-label"), segment.action],
                          className="mt-2 csi-why-action"))
    return [
        dbc.Row(
            [
                dbc.Col(dcc.Graph(id=ids.WHY_DRIVERS, figure=drivers_figure(run, segment), config=HIST_CONFIG,
                                  style={"height": f"{drivers_height(len(segment.drivers))}px"}),
                        xs=12, md=6),
                dbc.Col(facts, xs=12, md=6),
            ],
            class_name="g-2",
        )
    ]


def _rule_block(segment: Segment) -> html.Div:
    if not segment.rule:
        return html.Div("No rule: no short condition describes this segment well.", className="csi-note mt-2")
    return html.Div(
        [
            html.Div("Rule (DuckDB SQL a CRM can run)", className="csi-label"),
            html.Code(segment.rule, className="csi-why-rule d-block"),
            html.Div(precision_recall_text(segment), className="csi-note", title=PRECISION_HELP),
            html.Div(PRECISION_HELP, className="csi-helptext"),
            dbc.Button("Show customers matching this rule", id=ids.why_rule_button(segment.id), n_clicks=0,
                       size="sm", color="primary", outline=True, class_name="mt-1"),
        ],
        className="mt-2",
    )
