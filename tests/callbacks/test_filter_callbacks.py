"""How selections become the one filter spec: scatter regions, histogram ranges, profile rows, controls."""
from __future__ import annotations

import dataclasses

import pytest

from callbacks.explore import events_from_inputs, filter_update
from callbacks.filter_state import CLEAR, Event, next_filter
from core.filters import UNCHANGED, FilterSpec, region_from_selection
from core.views import count
from layouts import ids
from layouts.filters import kind_filters

# Events name the filter kind (core.filters.KINDS key) their control changes.
SCATTER = "region"
HISTOGRAM = RANGE = "ranges"
PROFILE_ROW = SEGMENTS = "segments"
CATEGORY = "categories"
from core import aggregates
from core.errors import InputError

INCOME = "Annual Income (k$)"
SCORE = "Spending Score (1-100)"
BOUNDS = {INCOME: (15.0, 137.0), SCORE: (1.0, 99.0), "Age": (18.0, 70.0)}
RANGES = [INCOME, SCORE, "Age"]
CATS = ["Gender"]


def step(sample, current, *events):
    return next_filter(sample.store, current, list(events), BOUNDS, RANGES, CATS)


def test_box_and_lasso_selections_become_regions():
    assert region_from_selection({"points": [], "range": {"x": [1, 2], "y": [3, 4]}}) == {
        "kind": "box", "x": [1, 2], "y": [3, 4]}
    assert region_from_selection({"lassoPoints": {"x": [0, 1, 1], "y": [0, 0, 1]}}) == {
        "kind": "lasso", "points": [[0, 0], [1, 0], [1, 1]]}
    # deselected (double-click): no region; a points-only re-emit after a redraw: nothing new
    assert region_from_selection(None) is None
    assert region_from_selection({"points": []}) is UNCHANGED


def test_scatter_selection_sets_and_clears_the_region(sample):
    u = step(sample, sample.spec(), Event(SCATTER, {"points": [], "range": {"x": [120, 60], "y": [40, 80]}}))
    assert u.changed
    # The drawn box [60, 120] x [40, 80] (inside the plane: income 15-137, score 1-99) snaps to whole cells of the run's scatter grid (core/aggregates.py):
    # each side moves less than one cell, and the cube can answer the snapped box.
    region = u.spec.to_dict()["region"]
    cube = aggregates.load(sample.store, sample.run.run_id)
    cell_x = (cube.x_edges[-1] - cube.x_edges[0]) / aggregates.GRID_BINS
    cell_y = (cube.y_edges[-1] - cube.y_edges[0]) / aggregates.GRID_BINS
    assert region["kind"] == "box"
    assert abs(region["x"][0] - 60) <= cell_x / 2 + 1e-9 and abs(region["x"][1] - 120) <= cell_x / 2 + 1e-9
    assert abs(region["y"][0] - 40) <= cell_y / 2 + 1e-9 and abs(region["y"][1] - 80) <= cell_y / 2 + 1e-9
    assert region["x"][0] in cube.x_edges and region["y"][0] in cube.y_edges
    assert aggregates.brush_of(cube, u.spec) is not None
    cleared = step(sample, u.spec.to_dict(), Event(SCATTER, None))
    assert cleared.changed and cleared.spec.region is None


def test_empty_selection_changes_nothing(sample):
    u = step(sample, sample.spec(), Event(SCATTER, None))
    assert not u.changed
    u = step(sample, sample.spec(), Event(SCATTER, {"points": []}))
    assert not u.changed
    boxed = sample.spec(region={"kind": "box", "x": [60, 140], "y": [60, 100]})
    u = step(sample, boxed, Event(SCATTER, {"points": []}))  # Plotly's re-emit keeps the region
    assert not u.changed and u.spec.region is not None


def test_histogram_range_filters_that_feature_and_moves_its_slider(sample):
    u = step(sample, sample.spec(), Event(HISTOGRAM, {"range": {"x": [40.5, 70.2]}}, INCOME))
    # the brush selects whole bars: income 15-137 in 30 bars of 122/30; 40.5 -> bar edge 6, 70.2 -> edge 14
    width = 122 / 30
    lo, hi = u.spec.ranges[INCOME]
    assert lo == pytest.approx(15 + 6 * width) and hi == pytest.approx(15 + 14 * width) and hi < 15 + 14 * width
    assert aggregates.brush_of(aggregates.load(sample.store, sample.run.run_id), u.spec) is not None
    assert u.controls.ranges[INCOME] == [lo, hi]
    assert u.controls.ranges["Age"] == [18.0, 70.0]  # untouched sliders show their full extent
    # a selection running past the data is clipped to it
    u = step(sample, sample.spec(), Event(HISTOGRAM, {"range": {"x": [-50, 70]}}, INCOME))
    assert u.spec.ranges[INCOME][0] == 15.0 and u.spec.ranges[INCOME][1] == pytest.approx(15 + 14 * width)
    # Plotly's points-only re-emit after a redraw keeps it; deselecting (double-click) removes it
    kept = step(sample, u.spec.to_dict(), Event(HISTOGRAM, {"points": []}, INCOME))
    assert not kept.changed
    u2 = step(sample, u.spec.to_dict(), Event(HISTOGRAM, None, INCOME))
    assert u2.spec.ranges == {}


def test_slider_at_full_extent_filters_nothing(sample):
    u = step(sample, sample.spec(ranges={"Age": [20, 30]}), Event(RANGE, [18.0, 70.0], "Age"))
    assert u.changed and u.spec.ranges == {}
    u = step(sample, sample.spec(), Event(RANGE, [25, 40], "Age"))
    assert u.spec.ranges == {"Age": (25.0, 40.0)}


def test_profile_row_click_selects_that_segment_and_again_lets_go(sample):
    u = step(sample, sample.spec(), Event(PROFILE_ROW, {"rowId": "3", "colId": "name", "value": "x"}))
    assert u.spec.segments == (3,)
    assert u.controls.segments == [3]  # the checklist shows it
    again = step(sample, u.spec.to_dict(), Event(PROFILE_ROW, {"rowId": "3"}))
    assert again.spec.segments == ()


def test_checklist_and_category_pickers(sample):
    u = step(sample, sample.spec(), Event(SEGMENTS, [2, 1]), Event(CATEGORY, ["Female"], "Gender"))
    assert u.spec.segments == (1, 2)
    assert u.spec.categories == {"Gender": ("Female",)}
    assert u.controls.categories == {"Gender": ["Female"]}
    u = step(sample, u.spec.to_dict(), Event(CATEGORY, [], "Gender"))
    assert u.spec.categories == {}


def test_clear_all_resets_everything_and_the_controls(sample):
    busy = sample.spec(segments=[1], ranges={"Age": [20, 30]}, categories={"Gender": ["Male"]},
                       region={"kind": "box", "x": [0, 50], "y": [0, 50]})
    u = step(sample, busy, Event(CLEAR))
    assert u.spec.is_empty and u.clear_selections
    assert u.controls.segments == [] and u.controls.categories == {"Gender": []}
    assert u.controls.ranges == {c: list(BOUNDS[c]) for c in RANGES}


@pytest.mark.parametrize(
    "event",
    [
        Event(SCATTER, {"range": {"x": ["a", 2], "y": [0, 1]}}),
        Event(SCATTER, {"range": {"x": [0, 1]}}),
        Event(SCATTER, {"lassoPoints": {"x": [0, 1], "y": [0]}}),
        Event(HISTOGRAM, {"range": {"x": [float("nan"), 3]}}, INCOME),
        Event(HISTOGRAM, {"range": {"x": [1, 2]}}, "x\"; DROP TABLE runs; --"),
        Event(PROFILE_ROW, {"rowId": "99"}),
        Event(PROFILE_ROW, {"rowId": "1 OR 1=1"}),
        Event(SEGMENTS, ["1"]),
        Event(SEGMENTS, list(range(100_000))),
        Event(RANGE, "0-10", "Age"),
        Event(CATEGORY, [1, 2], "Gender"),
        Event(CATEGORY, ["Male"], "Nope"),
    ],
)
def test_forged_selections_are_refused(sample, event):
    with pytest.raises(InputError):
        step(sample, sample.spec(), event)
    update, err = filter_update(sample.store, sample.spec(), [event], BOUNDS, RANGES, CATS)
    assert update is None and err is not None and err.color == "danger"


def test_a_forged_current_spec_is_refused(sample):
    update, err = filter_update(sample.store, {"run_id": "'; DROP TABLE runs; --"}, [Event(CLEAR)], BOUNDS,
                                RANGES, CATS)
    assert update is None and "unknown run" in str(err.children)


def test_triggered_inputs_become_events_of_their_kind():
    grouping = {
        "scatter": {"id": ids.SCATTER_REGION, "property": "data", "value": None, "triggered": False},
        "hists": [{"id": ids.hist("Age"), "property": "selectedData", "value": {"range": {"x": [1, 2]}},
                   "triggered": True}],
        "kinds": [{"id": ids.filter_control("original"), "property": "value", "value": True, "triggered": True}],
    }
    events = events_from_inputs(grouping)
    assert [(e.kind, e.value, e.column) for e in events] == [
        ("ranges", {"range": {"x": [1, 2]}}, "Age"), ("original", True, None)]
    grouping["clear"] = {"id": ids.CLEAR_FILTERS, "property": "n_clicks", "value": 1, "triggered": True}
    assert [e.kind for e in events_from_inputs(grouping)] == [CLEAR]


def test_original_values_switch_sets_and_clears_the_original_kind(sample):
    u = next_filter(sample.store, sample.spec(), [Event("original", True)], BOUNDS, RANGES, CATS, ["original"])
    assert u.changed and u.spec.to_dict()["original"] is True
    assert u.controls.kinds == {"original": True}
    off = next_filter(sample.store, u.spec.to_dict(), [Event("original", False)], BOUNDS, RANGES, CATS, ["original"])
    assert off.spec.original is None and "original" not in off.spec.to_dict()


def test_rule_kind_selects_exactly_the_customers_matching_the_stored_rule(sample):
    seg = next(s for s in sample.run.segments if s.rule)
    update, err = filter_update(sample.store, sample.spec(), [Event("rule", seg.id)], BOUNDS, RANGES, CATS, ["rule"])
    assert err is None and update.spec.rule.segment == seg.id
    selected, _ = count(sample.store, update.spec)
    with sample.store.cursor() as cur:
        expected = cur.execute(f"SELECT count(*) FROM {sample.run.table} WHERE {seg.rule}").fetchone()[0]
    assert selected == expected > 0


def test_rule_kind_is_refused_when_the_run_has_no_rules(sample):
    run = dataclasses.replace(sample.run, segments=[dataclasses.replace(s, rule=None) for s in sample.run.segments])
    with pytest.raises(InputError, match="no segment rules"):
        FilterSpec.from_dict({"run_id": run.run_id, "rule": 1}, [], [], run.k, run=run)


def test_unknown_kind_is_refused(sample):
    update, err = filter_update(sample.store, sample.spec(), [Event("nope", 1)], BOUNDS, RANGES, CATS)
    assert update is None and "unknown filter kind" in str(err.children)


def test_kind_controls_appear_only_when_the_run_can_use_them(sample):
    run = dataclasses.replace(sample.run, segments=[dataclasses.replace(s, rule=None) for s in sample.run.segments],
                              filled={})
    assert kind_filters(run) == []  # no rules and nothing filled: no kind controls
    run.segments[2].rule = '"Age" < 30'
    run.filled = {"Age": {"method": "median", "value": 36.0, "count": 4}}
    controls = kind_filters(run)
    picker = controls[0].children[1]
    assert picker.id == ids.filter_control("rule")
    assert [o["value"] for o in picker.options] == [3]  # only segments that have a rule
    switch = controls[1].children
    assert switch.id == ids.filter_control("original") and switch.value is False
