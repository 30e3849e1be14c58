"""The filter kinds of scored and compared runs (core/model_filters.py): poor fit and transition, each
checked against plain SQL or a hand count, refused when forged, and the export's previous-segment columns."""
from __future__ import annotations

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from core.errors import InputError
from core.export import export_workbook
from core.filters import KINDS, UNCHANGED
from core.ingest import load_file
from core.model_filters import transition_from_click
from core.model_file import run_model
from core.scoring import score_dataset
from core.segmentation import run_segmentation
from core.transitions import transition_matrix
from core.views import count, parse_spec

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture
def mall(store, mall_csv):
    info = load_file(store, mall_csv)
    return info, run_segmentation(store, info.dataset_id, MALL_FEATURES, k=5)


def _sql(store, query: str, params=()) -> int:
    with store.cursor() as cur:
        return cur.execute(query, list(params)).fetchone()[0]


def test_poor_fit_selects_exactly_the_customers_far_from_every_segment(store, mall, mall_csv, tmp_path):
    _, run = mall
    frame = pd.read_csv(mall_csv)
    extreme = pd.DataFrame({"CustomerID": [901, 902, 903], "Gender": ["Male"] * 3, "Age": [30, 40, 50],
                            "Annual Income (k$)": [900, 1200, 1500], "Spending Score (1-100)": [50, 60, 70]})
    pd.concat([frame, extreme]).to_csv(tmp_path / "next.csv", index=False)
    scored = score_dataset(store, run_model(store, run.run_id), load_file(store, tmp_path / "next.csv").dataset_id)
    spec = parse_spec(store, {"run_id": scored.run_id, "poor_fit": True})
    selected, total = count(store, spec)
    assert total == 203
    assert selected == 3  # by hand: the three customers with incomes of 900k-1.5M, far beyond the file's 137k
    with store.cursor() as cur:
        ids = sorted(r[0] for r in cur.execute(
            f'SELECT "CustomerID" FROM run_{scored.run_id} WHERE __poor_fit').fetchall())
    assert ids == [901, 902, 903]
    assert spec.to_dict()["poor_fit"] is True
    assert parse_spec(store, {"run_id": scored.run_id, "poor_fit": False}).poor_fit is None


def test_poor_fit_is_refused_on_a_fitted_run_and_for_non_booleans(store, mall):
    _, run = mall
    with pytest.raises(InputError, match="scored with a saved model"):
        parse_spec(store, {"run_id": run.run_id, "poor_fit": True})
    with pytest.raises(InputError, match="true or false"):
        parse_spec(store, {"run_id": run.run_id, "poor_fit": "1 OR 1=1"})


def test_transition_on_one_dataset_counts_what_plain_sql_counts(store, mall):
    info, a = mall
    b = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=3)
    matrix = transition_matrix(store, a.run_id, b.run_id)
    assert sum(map(sum, matrix.counts)) == 200
    for i, src in enumerate(matrix.from_ids):
        for j, dst in enumerate(matrix.to_ids):
            expected = _sql(store, f"SELECT count(*) FROM run_{a.run_id} a JOIN run_{b.run_id} b USING (__row) "
                                   "WHERE a.__segment = ? AND b.__segment = ?", [src, dst])
            spec = parse_spec(store, {"run_id": b.run_id, "transition": {"run": a.run_id, "from": src, "to": dst}})
            assert count(store, spec)[0] == expected == matrix.counts[i][j]


def test_transition_between_two_snapshots_joins_on_the_customer_id(store, mall_csv, tmp_path):
    frame = pd.read_csv(mall_csv)
    frame.iloc[:150].to_csv(tmp_path / "jan.csv", index=False)
    frame.iloc[50:].to_csv(tmp_path / "feb.csv", index=False)
    jan, feb = load_file(store, tmp_path / "jan.csv"), load_file(store, tmp_path / "feb.csv")
    a = run_segmentation(store, jan.dataset_id, MALL_FEATURES, k=4)
    b = run_segmentation(store, feb.dataset_id, MALL_FEATURES, k=4)
    matrix = transition_matrix(store, a.run_id, b.run_id)
    assert sum(map(sum, matrix.counts)) == 100 and matrix.result.new == 50 and matrix.result.gone == 50
    for src in matrix.from_ids:
        for dst in matrix.to_ids:
            expected = _sql(store, f'SELECT count(*) FROM run_{a.run_id} a JOIN run_{b.run_id} b USING ("CustomerID") '
                                   "WHERE a.__segment = ? AND b.__segment = ?", [src, dst])
            spec = parse_spec(store, {"run_id": b.run_id, "transition": {"run": a.run_id, "from": src, "to": dst}})
            assert count(store, spec)[0] == expected


@pytest.mark.parametrize("bad, message", [
    ({"run": "000000000000", "from": 1, "to": 1}, "unknown run"),
    ({"run": "x'; DROP TABLE runs; --", "from": 1, "to": 1}, "run"),
    ({"run": "OTHER", "from": 9, "to": 1}, "'from' must be a segment"),
    ({"run": "OTHER", "from": 1, "to": 0}, "'to' must be a segment"),
    ({"run": "OTHER", "from": True, "to": 1}, "'from' must be a segment"),
    ({"run": "OTHER", "from": 1, "to": 1, "sql": "1=1"}, "transition must be"),
    ({"run": "SELF", "from": 1, "to": 1}, "another run"),
    ([1, 2, 3], "transition must be"),
])
def test_forged_transitions_are_refused(store, mall, bad, message):
    info, a = mall
    b = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=3)
    if isinstance(bad, dict):
        bad = {**bad, "run": {"OTHER": a.run_id, "SELF": b.run_id}.get(bad["run"], bad["run"])}
    with pytest.raises(InputError, match=message):
        parse_spec(store, {"run_id": b.run_id, "transition": bad})


def test_a_matrix_click_sets_and_a_second_click_clears_the_transition(store, mall):
    click = {"points": [{"x": "b", "y": "a", "z": 4, "customdata": ["abcdefabcdef", 2, 3]}]}
    kind = KINDS["transition"]
    cell = kind.apply(None, click, None, {})
    assert cell == {"run": "abcdefabcdef", "from": 2, "to": 3}
    assert kind.apply(cell, click, None, {}) is None
    assert transition_from_click({"points": []}) is UNCHANGED
    assert transition_from_click({"points": [{"customdata": "abcdefabcdef:2:3"}]}) == cell
    with pytest.raises(InputError, match="must carry"):
        transition_from_click({"points": [{"customdata": "abcdefabcdef:2"}]})


def test_the_filtered_export_carries_both_segment_columns(store, mall, tmp_path):
    info, a = mall
    b = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=3)
    matrix = transition_matrix(store, a.run_id, b.run_id)
    i, j = max(((i, j) for i in range(len(matrix.from_ids)) for j in range(len(matrix.to_ids))),
               key=lambda ij: matrix.counts[ij[0]][ij[1]])
    spec = parse_spec(store, {"run_id": b.run_id, "transition": {
        "run": a.run_id, "from": matrix.from_ids[i], "to": matrix.to_ids[j]}})
    result = export_workbook(store, spec, tmp_path / "moved.xlsx")
    rows = CalamineWorkbook.from_path(str(tmp_path / "moved.xlsx")).get_sheet_by_name("Customers").to_python()
    header = rows[0]
    at = header.index("Segment")  # right after the id (issue 15): then the previous segment
    assert header[at:at + 4] == ["Segment", "Segment name", "Previous segment", "Previous segment name"]
    assert result.rows == len(rows) - 1 == matrix.counts[i][j]
    assert {tuple(r[at:at + 4]) for r in rows[1:]} == {
        (matrix.to_ids[j], matrix.to_names[j], matrix.from_ids[i], matrix.from_names[i])}
