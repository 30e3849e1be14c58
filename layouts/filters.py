"""Filter controls: segment checklist, a range slider per numeric column, a value picker per
categorical column, one control per column-less filter kind (KIND_CONTROLS), the selection summary
with "Clear all filters" and "Export to Excel"."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.dates import MAX_YEAR
from core.filter_values import day_number, day_text, yes_no_options
from core.models import Run
from core.roles import BIRTH_YEAR_MIN
from layouts import ids, theme
from layouts.export_form import export_form
from layouts.help import help_icon


def filter_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("Filters", class_name="csi-card-header"),
            dbc.CardBody(
                [
                    dbc.Label("Segments", html_for=ids.SEGMENT_CHECKLIST, class_name="csi-label"),
                    dbc.Checklist(
                        id=ids.SEGMENT_CHECKLIST,
                        options=[],
                        value=[],
                        class_name="csi-segment-checklist",
                    ),
                    html.Small("None ticked: every segment.", className="text-muted d-block mb-2"),
                    html.Div(id=ids.KIND_FILTERS),
                    html.Div(id=ids.RANGE_FILTERS),
                    html.Div(id=ids.CATEGORY_FILTERS),
                ]
            ),
        ],
        class_name="csi-card",
    )


def summary_bar() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Div("Loading…", id=ids.SUMMARY, className="csi-summary"),
                        html.Div(
                            [
                                dbc.Button(
                                    "Clear all filters",
                                    id=ids.CLEAR_FILTERS,
                                    color="secondary",
                                    outline=True,
                                    size="sm",
                                    n_clicks=0,
                                ),
                                dbc.Button(
                                    "Export to Excel",
                                    id=ids.EXPORT_BUTTON,
                                    color="success",
                                    size="sm",
                                    n_clicks=0,
                                ),
                                dcc.Download(id=ids.EXPORT_DOWNLOAD),
                                export_form(),
                            ],
                            className="csi-actions",
                        ),
                    ],
                    className="csi-row-between",
                ),
                html.Div(id=ids.FILTER_ALERT),
                html.Div(id=ids.EXPORT_ALERT),
                html.Div(id=ids.VIEWS_ALERT),
            ],
            class_name="py-2",
        ),
        class_name="csi-card csi-summary-card",
    )


def segment_options(segments: list[tuple[int, str, int]]) -> list[dict]:
    """Checklist options for (segment id, name, size) tuples, each with its colour swatch."""
    return [
        {
            "label": html.Span(
                [
                    html.Span(className="csi-swatch", style={"backgroundColor": theme.segment_color(seg)}),
                    html.Span(f"{name}"),
                    html.Span(f" ({size:,})", className="text-muted"),
                ]
            ),
            "value": seg,
        }
        for seg, name, size in segments
    ]


def slider_step(lo: float, hi: float, integer: bool) -> float:
    """A round step giving about 100 positions between lo and hi."""
    span = hi - lo
    if span <= 0:
        return 1
    raw = span / 100
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    return max(1, round(step)) if integer else step


def range_filter(column: str, lo: float, hi: float, integer: bool = False) -> html.Div:
    """A labelled range slider over [lo, hi]; at its full extent it filters nothing."""
    return html.Div(
        [
            html.Div(
                [
                    dbc.Label(column, class_name="csi-label-sm mb-0"),
                    html.Span(range_text([lo, hi], [lo, hi]), id=ids.range_label(column), className="csi-note"),
                ],
                className="csi-row-between",
            ),
            dcc.RangeSlider(
                id=ids.range_slider(column),
                min=lo,
                max=hi,
                value=[lo, hi],
                step=slider_step(lo, hi, integer),
                marks=None,
                allow_direct_input=False,
                tooltip={"placement": "bottom", "always_visible": False},
                updatemode="mouseup",
                className="csi-range",
            ),
        ],
        className="csi-filter",
    )


def range_text(value, bounds) -> str:
    """'18 – 70', or 'all (18 – 70)' when the slider spans the whole range; years without thousands
    separators ('1893 – 1996')."""
    lo, hi = value
    years = looks_like_years(*bounds)
    text = f"{_number(lo, years)} – {_number(hi, years)}"
    return f"all ({text})" if [lo, hi] == list(bounds) else text


def looks_like_years(lo: float, hi: float) -> bool:
    """Whole numbers that read as years (birth years from 1800 up to core.dates' last year): shown plain."""
    try:
        return float(lo).is_integer() and float(hi).is_integer() and BIRTH_YEAR_MIN <= lo <= hi <= MAX_YEAR
    except (TypeError, ValueError):
        return False


def _number(value: float, plain: bool = False) -> str:
    value = float(value)
    if value.is_integer():
        return f"{int(value)}" if plain else f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3g}"


def category_filter(column: str, values: list[str], yes_no: bool = False) -> html.Div:
    """A value picker; for a yes/no column (core.filter_values.is_yes_no) two tick boxes instead. Both
    give a list of the chosen values (none ticked: any value)."""
    if yes_no:
        return html.Div(
            [
                dbc.Label(column, class_name="csi-label-sm mb-0 me-2"),
                dbc.Checklist(id=ids.category_picker(column), options=yes_no_options(values), value=[],
                              inline=True, class_name="csi-yes-no"),
            ],
            className="csi-filter",
        )
    return html.Div(
        [
            dbc.Label(column, class_name="csi-label-sm mb-0"),
            dcc.Dropdown(
                id=ids.category_picker(column),
                options=[{"label": v, "value": v} for v in values],
                value=[],
                multi=True,
                placeholder="Any value",
                className="csi-dropdown",
            ),
        ],
        className="csi-filter",
    )


def date_filter(column: str, first, last) -> html.Div:
    """A date range slider over [first, last] (datetime.date), in whole days; at its full extent it
    filters nothing."""
    lo, hi = day_number(first), day_number(last)
    return html.Div(
        [
            html.Div(
                [
                    dbc.Label(column, class_name="csi-label-sm mb-0"),
                    html.Span(date_text([lo, hi], [lo, hi]), id=ids.range_label(column), className="csi-note"),
                ],
                className="csi-row-between",
            ),
            dcc.RangeSlider(id=ids.date_range(column), min=lo, max=hi, value=[lo, hi], step=1, marks=None,
                            allow_direct_input=False, updatemode="mouseup", className="csi-range"),
        ],
        className="csi-filter",
    )


def date_text(value, bounds) -> str:
    """'2010-12-01 – 2010-12-05', or 'all (...)' when the slider spans every date."""
    text = f"{day_text(value[0])} – {day_text(value[1])}"
    return f"all ({text})" if list(value) == list(bounds) else text


# -- controls of the column-less filter kinds (core.filters.KINDS) ------------------------------------
def rule_filter(run: Run) -> html.Div | None:
    """Customers matching one segment's rule; only offered when the run has rules."""
    with_rules = [s for s in sorted(run.segments, key=lambda s: s.id) if s.rule]
    if not with_rules:
        return None
    return html.Div(
        [
            dbc.Label(["Matching a segment's rule", help_icon("rule")], class_name="csi-label-sm mb-0"),
            dcc.Dropdown(
                id=ids.filter_control("rule"),
                options=[{"label": f"{s.name}: {s.rule}", "value": s.id} for s in with_rules],
                value=None,
                placeholder="Any customer",
                className="csi-dropdown",
            ),
        ],
        className="csi-filter",
    )


def original_filter(run: Run) -> html.Div | None:
    """Only rows whose chosen features were in the file (none filled); offered when the run filled any."""
    if not any(f.get("count") for f in run.filled.values()):
        return None
    return html.Div(
        dbc.Switch(id=ids.filter_control("original"), label="Only rows with original values (none filled)",
                   value=False, class_name="csi-label-sm"),
        className="csi-filter",
    )


def poor_fit_filter(run: Run) -> html.Div | None:
    """Only the customers a saved model fits poorly; offered on runs scored with a model."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.model_filters import is_scored_run

    if not is_scored_run(run):
        return None
    return html.Div(
        dbc.Switch(id=ids.filter_control("poor_fit"), label="Only poor fits (far from every segment)",
                   value=False, class_name="csi-label-sm"),
        className="csi-filter",
    )


# One entry per column-less filter kind: a function of the run giving its control (or None).
KIND_CONTROLS: list[Callable[[Run], Any]] = [rule_filter, original_filter]
KIND_CONTROLS.append(poor_fit_filter)


def kind_filters(run: Run) -> list:
    return [c for c in (make(run) for make in KIND_CONTROLS) if c is not None]


# -- the selection summary -----------------------------------------------------------------------------
def selection_summary(selected: int, total: int, unfiltered: bool) -> list:
    """"312 of 2,000 customers selected", with the empty and the unfiltered cases said."""
    out = [html.Span(f"{selected:,}", className="csi-count"), html.Span(f" of {total:,} customers selected")]
    if selected == 0:
        out.append(html.Span(f" — {theme.EMPTY_MESSAGE}", className="text-danger"))
    elif unfiltered:
        out.append(html.Span(" (no filter)", className="text-muted"))
    return out


def customers_title(selected: int, chosen_segments: list[str]) -> str:
    if selected == 0:
        return f"Customers: {theme.EMPTY_MESSAGE}"
    if chosen_segments:
        return f"Customers in {', '.join(chosen_segments)}: {selected:,}"
    return f"Customers: {selected:,} selected"


MORE_FILTERS_AFTER = 0  # every control of a column outside the run's features goes under "More filters"


def features_first(controls: list[tuple[str, Any]], features: list[str] | tuple[str, ...]) -> list:
    """Filter controls (column, control) with the run's features first, in the run's order, and the
    rest folded under "More filters (n)" (a native <details>: keyboard-accessible, no callback), so a
    wide table's 25 sliders do not bury the ones that matter for this run."""
    order = {f: i for i, f in enumerate(features)}
    first = sorted(((c, x) for c, x in controls if c in order), key=lambda cx: order[cx[0]])
    rest = [x for c, x in controls if c not in order]
    if len(rest) <= MORE_FILTERS_AFTER:
        return [x for _, x in first]
    return [x for _, x in first] + [
        html.Details(
            [html.Summary(f"More filters ({len(rest)})", className="csi-more-filters-summary"), *rest],
            className="csi-more-filters",
        )
    ]
