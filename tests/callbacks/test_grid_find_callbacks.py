"""Finding customers and seeing filters (issue 15 items 2, 6, 7), through the callbacks' plain
functions with a real Store: grid filters and chips into the one spec, undo/redo, filled marks."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from callbacks.chips import chips_view
from callbacks.explore import events_from_inputs, grid_response, scatter_view, summary_view, undo_redo
from callbacks.filter_state import HISTORY_LIMIT, REMOVE, RESTORE, UNDO, Event, next_filter, record
from cb_helpers import TESTS_DIR, Sample, open_store, text_of
from core.grid_filters import GRID
from core.pipeline import segment_path
from core.views import count, run_context
from layouts import ids
from layouts.tables import grid_columns

INCOME, SCORE = "Annual Income (k$)", "Spending Score (1-100)"
BOUNDS = {INCOME: (15.0, 137.0), SCORE: (1.0, 99.0), "Age": (18.0, 70.0)}
RANGES, CATS = [INCOME, SCORE, "Age"], ["Gender"]


def step(sample, current, *events, kinds=("search",)):
    return next_filter(sample.store, current, list(events), BOUNDS, RANGES, CATS, list(kinds))


def triggered(cid, value):
    return {"x": [{"id": cid, "property": "value", "value": value, "triggered": True}]}


def test_inputs_become_remove_grid_and_undo_events():
    chip = ids.chip_remove("ranges", "Age")
    assert events_from_inputs(triggered(chip, 1)) == [Event(REMOVE, ("ranges", "Age"))]
    assert events_from_inputs(triggered(ids.chip_remove("segments", ""), 2)) == [Event(REMOVE, ("segments", None))]
    assert events_from_inputs(triggered(chip, 0)) == []  # a chip just drawn: no click yet
    model = {"Age": {"filterType": "number", "type": "inRange", "filter": 20, "filterTo": 30}}
    assert events_from_inputs(triggered(ids.CUSTOMER_GRID, model)) == [Event(GRID, model)]
    assert events_from_inputs(triggered(ids.UNDO_FILTER, 1)) == [Event(UNDO)]
    assert events_from_inputs(triggered(ids.filter_control("search"), "15")) == [Event("search", "15")]


def test_grid_column_filters_go_into_the_spec_and_count_like_sql(sample):
    model = {"Age": {"filterType": "number", "type": "inRange", "filter": 20, "filterTo": 40},
             INCOME: {"filterType": "number", "type": "greaterThanOrEqual", "filter": 60},
             "Gender": {"filterType": "text", "type": "contains", "filter": "FEM"}}
    u = step(sample, sample.spec(), Event(GRID, model))
    assert u.spec.ranges == {"Age": (20.0, 40.0), INCOME: (60.0, 137.0)}
    assert u.spec.search.columns == (("Gender", "FEM"),)
    expected = sample.sql_count(f'"Age" BETWEEN 20 AND 40 AND "{INCOME}" >= 60 AND lower("Gender") LIKE \'%fem%\'')
    assert count(sample.store, u.spec)[0] == expected > 0
    # the grid shows the spec back: one-sided filters become ranges within the data
    assert u.controls.grid[INCOME] == {"filterType": "number", "type": "inRange", "filter": 60.0, "filterTo": 137.0}
    cleared = step(sample, u.spec.to_dict(), Event(GRID, {}))
    assert cleared.spec.is_empty and cleared.controls.grid == {}


def test_quick_search_finds_a_customer_by_id(sample):
    u = step(sample, sample.spec(), Event("search", "117"))
    assert u.controls.kinds == {"search": "117"}
    rows = grid_response(sample.store, u.spec.to_dict(), {"startRow": 0, "endRow": 100})[0]["rowData"]
    assert [r["CustomerID"] for r in rows] == [117]  # ids 1..200: only 117 contains "117"
    assert step(sample, u.spec.to_dict(), Event("search", "")).spec.is_empty


def test_a_chip_removes_only_its_filter(sample):
    spec = sample.spec(segments=[1], ranges={"Age": [20, 50], SCORE: [10, 90]}, categories={"Gender": ["Male"]})
    chips = chips_view(sample.store, spec).chips
    texts = [text_of(c.children[0]) for c in chips]
    assert len(texts) == 4 and texts[1] == "Age 20 to 50"
    assert [c.children[1].id for c in chips][1] == ids.chip_remove("ranges", "Age")
    u = step(sample, spec, Event(REMOVE, ("ranges", "Age")))
    assert u.spec.ranges == {SCORE: (10.0, 90.0)} and u.spec.segments == (1,)
    assert count(sample.store, u.spec)[0] == sample.sql_count(
        f'__segment = 1 AND "{SCORE}" BETWEEN 10 AND 90 AND "Gender" = \'Male\'')


def test_undo_and_redo_restore_the_previous_specs(sample):
    history, current = {"past": [], "future": []}, sample.spec()
    counts = []
    for ev in (Event("ranges", [20, 40], "Age"), Event("categories", ["Female"], "Gender")):
        u = step(sample, current, ev)
        history, current = record(history, current, u.spec.to_dict()), u.spec.to_dict()
        counts.append(count(sample.store, u.spec)[0])
    assert history["past"] and not history["future"]  # Undo enabled, Redo not
    events, history, stepped = undo_redo([Event(UNDO)], current, history)
    assert stepped and events[0].kind == RESTORE
    back = step(sample, current, *events)
    assert count(sample.store, back.spec)[0] == counts[0] == sample.sql_count('"Age" BETWEEN 20 AND 40')
    assert history["past"] and history["future"]  # both enabled
    events, history, _ = undo_redo([Event("redo")], back.spec.to_dict(), history)
    again = step(sample, back.spec.to_dict(), *events)
    assert count(sample.store, again.spec)[0] == counts[1]
    events, _, stepped = undo_redo([Event(UNDO)], current, {"past": [], "future": []})
    assert stepped and events == []  # nothing to undo: nothing changes


def test_history_is_bounded_and_per_run(sample):
    history, current = {"past": [], "future": []}, sample.spec()
    for lo in range(HISTORY_LIMIT + 10):
        new = sample.spec(ranges={"Age": [18 + lo % 40, 70]})
        history, current = record(history, current, new), new
    assert len(history["past"]) == HISTORY_LIMIT
    other = record(history, {"run_id": "other"}, {"run_id": "other", "segments": [1]})
    assert other["past"] == [{"run_id": "other"}]


def test_profile_row_click_keeps_every_segment_row(sample):
    view = summary_view(sample.store, sample.spec(segments=[2]))
    rows = view.profile_rows
    assert [r["segment"] for r in rows] == [s.id for s in sorted(sample.run.segments, key=lambda s: s.id) if s.size]
    assert [r["segment"] for r in rows if r["selected"]] == [2]


def test_scatter_hover_names_the_customer(sample):
    fig = scatter_view(sample.store, sample.spec()).figure
    traces = [t for t in fig["data"] if t.get("customdata")]
    assert traces and all("CustomerID: %{customdata}" in t["hovertemplate"] for t in traces)
    # whole-number ids travel as a typed array (4 bytes a point)
    assert all(t["customdata"]["dtype"] == "i4" for t in traces)
    ids_shown = {int(v) for t in traces
                 for v in np.frombuffer(base64.b64decode(t["customdata"]["bdata"]), dtype="<i4")}
    assert ids_shown <= set(range(1, 201)) and len(ids_shown) == 200


@pytest.fixture(scope="module")
def missing(tmp_path_factory) -> Sample:
    store = open_store(tmp_path_factory.mktemp("missing"))
    result = segment_path(store, TESTS_DIR / "data" / "customers_missing.csv", k=3)
    yield Sample(store, result.run)
    store.close()


def test_filled_cells_are_marked_in_the_grid(missing):
    run = missing.run
    assert run.filled, "the file has blanks the run fills"
    column = next(iter(run.filled))
    defs = {d["field"]: d for d in grid_columns(run_context(missing.store, run))}
    assert "csi-filled" in defs[column]["cellClassRules"]
    assert f"filled with the {run.filled[column]['method']}" in defs[column]["tooltipValueGetter"]["function"]
    rows = grid_response(missing.store, missing.spec(), {"startRow": 0, "endRow": 500})[0]["rowData"]
    with missing.store.cursor() as cur:
        blank = cur.execute(f'SELECT count(*) FROM ds_{run.dataset_id} d JOIN {run.table} r USING (__row) '
                            f'WHERE d."{column}" IS NULL').fetchone()[0]
    assert sum(column in r["__filled"] for r in rows) == blank > 0
