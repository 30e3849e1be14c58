"""Finding customers and seeing filled values (issue 15 items 2, 6, 7): filled flags of grid pages,
the "search" filter kind, the export's Filled column, the chips' parts and the scatter's ids."""
from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from core import export, filters, scatter, views
from core.errors import InputError
from core.filled import FILLED, filled_note
from core.models import ROW, SEGMENT
from core.store import dataset_table, run_table


@pytest.fixture
def holes(store, make_run, frames):
    """400 customers; age blank in every 7th row of the file (the run filled those with 1)."""
    frame = frames.synthetic(400, seed=11)
    frame["age"] = frame["age"].astype(float)
    frame.loc[frame.index % 7 == 0, "age"] = np.nan
    frame["region"] = np.where(frame.index % 5 == 0, "North-East", frame["region"])
    run = make_run(frame, id_column="id", features=["age", "spend"])
    with store.cursor() as cur:
        cur.execute(f"UPDATE {run_table(run.run_id)} SET age = 1 WHERE age IS NULL")
    frame[ROW] = np.arange(1, len(frame) + 1)
    return run, frame


def spec(store, run, **data):
    return views.parse_spec(store, {"run_id": run.run_id, **data})


def test_grid_pages_flag_the_filled_cells_as_plain_sql_finds_them(store, holes):
    run, _ = holes
    rows, total = views.grid_page(store, spec(store, run), 0, 500)
    assert total == 400 and len(rows) == 400
    with store.cursor() as cur:
        blank = {r for (r,) in cur.execute(f"SELECT {ROW} FROM {dataset_table(run.dataset_id)} WHERE age IS NULL").fetchall()}
    assert len(blank) == 58  # rows 1, 8, 15, ... of 400
    assert {r[ROW] for r in rows if r[FILLED]} == blank
    assert all(r[FILLED] == ["age"] for r in rows if r[ROW] in blank)
    assert all(r["age"] == 1 for r in rows if r[ROW] in blank)  # the grid shows the filled value, flagged
    assert filled_note(run, "age") == "filled with the median 1" and filled_note(run, "spend") == ""


def test_a_grid_page_is_flagged_on_its_own_rows(store, holes):
    run, frame = holes
    rows, _ = views.grid_page(store, spec(store, run), 10, 30, [{"colId": "spend", "sort": "desc"}])
    expected = frame.sort_values(["spend", ROW], ascending=[False, True]).iloc[10:30]
    assert [r[ROW] for r in rows] == expected[ROW].tolist()
    assert [bool(r[FILLED]) for r in rows] == expected["age"].isna().tolist()


SEARCHES = {
    "id": ({"text": "1010"}, lambda f: f["id"].astype(str).str.contains("1010")),
    "text, any case": ({"text": "EAST"}, lambda f: f["region"].str.lower().str.contains("east")),
    "row number": ({"text": "7"}, lambda f: f["id"].astype(str).str.contains("7") | (f[ROW] == 7)),
    "column contains": ({"columns": {"region": "th-e"}}, lambda f: f["region"].str.contains("th-E")),
    "both": ({"text": "10", "columns": {"region": "no"}},
             lambda f: (f["id"].astype(str).str.contains("10") | (f[ROW] == 10)) & f["region"].str.lower().str.contains("no")),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_search_kind_selects_what_pandas_selects(store, holes, name):
    run, frame = holes
    data, mask = SEARCHES[name]
    s = spec(store, run, search=data)
    expected = frame[mask(frame)]
    assert len(expected) > 0
    assert views.count(store, s)[0] == len(expected)
    rows, total = views.grid_page(store, s, 0, 500)
    assert total == len(expected) and [r[ROW] for r in rows] == expected[ROW].tolist()
    assert s.to_dict()["search"] == data


def test_search_kind_refuses_bad_input_and_clears_when_empty(store, holes):
    run, _ = holes
    for bad in ({"text": 5}, {"text": "x" * 201}, {"columns": {"age": "1"}}, {"columns": {"nope": "a"}}, "abc"):
        with pytest.raises(InputError):
            spec(store, run, search=bad)
    assert spec(store, run, search={"text": "  "}).is_empty
    quoted = spec(store, run, search={"text": "'; DROP TABLE x; --"})  # a bound value, never SQL
    assert views.count(store, quoted)[0] == 0


def test_chip_parts_are_removed_one_at_a_time(store, holes):
    run, frame = holes
    s = spec(store, run, segments=[1], ranges={"spend": [10, 200], "age": [20, 50]},
             categories={"region": ["north"]}, search={"text": "10", "columns": {"region": "no"}})
    items = filters.active_items(s, ["One", "Two", "Three", "Four"])
    assert [(k, c) for k, c, _ in items] == [("segments", None), ("ranges", "spend"), ("ranges", "age"),
                                             ("categories", "region"), ("search", None), ("search", "region")]
    assert items[1][2] == "spend 10 to 200" and items[5][2] == 'region contains "no"'
    without_age = views.parse_spec(store, filters.remove_item(s.to_dict(), "ranges", "age"))
    assert without_age.ranges == {"spend": (10.0, 200.0)} and without_age.segments == (1,)
    without_text = views.parse_spec(store, filters.remove_item(s.to_dict(), "search", None))
    assert without_text.search.text is None and without_text.search.columns == (("region", "no"),)
    expected = frame[(frame[SEGMENT] == 1) & frame["spend"].between(10, 200) & (frame["region"] == "north")
                     & frame["region"].str.lower().str.contains("no") & (frame["id"].astype(str).str.contains("10")
                                                            | (frame[ROW] == 10))]
    assert views.count(store, without_age)[0] == len(expected)


def test_export_lists_the_filled_fields_per_row(store, holes, tmp_path):
    run, frame = holes
    out = tmp_path / "filled.xlsx"
    export.export_workbook(store, spec(store, run), out)
    rows = list(openpyxl.load_workbook(out)["Customers"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("id", "Segment", "Segment name") and header[-1] == "Filled"
    assert [r[-1] for r in body] == ["age" if na else None for na in frame["age"].isna()]


def test_scatter_sample_carries_each_points_id(store, holes):
    run, frame = holes
    data = scatter.scatter_sample(store, spec(store, run, segments=[2]), 50, 0)
    by_row = dict(zip(frame[ROW], frame["id"]))
    assert data.id_label == "id" and len(data.ids) == data.shown == 50
    # a whole-number identifier column comes back as numbers (the figure sends them as a typed array)
    assert data.ids == [int(by_row[r]) for r in data.row] and all(type(v) is int for v in data.ids)


def test_scatter_without_identifier_has_no_ids(store, make_run, frames):
    run = make_run(frames.synthetic(100, seed=2).drop(columns=["id"]))
    data = scatter.scatter_sample(store, spec(store, run), 30, 0)
    assert data.ids == [] and data.id_label == "" and len(data.row) == 30


def test_export_with_the_original_values_filter_has_no_filled_rows(store, holes, tmp_path):
    run, frame = holes
    out = tmp_path / "original.xlsx"
    result = export.export_workbook(store, spec(store, run, original=True, search={"text": "1"}), out)
    rows = list(openpyxl.load_workbook(out)["Customers"].iter_rows(values_only=True))[1:]
    expected = frame[frame["age"].notna() & (frame["id"].astype(str).str.contains("1") | (frame[ROW] == 1))]
    assert result.rows == len(rows) == len(expected) > 0
    assert {r[-1] for r in rows} == {None}
