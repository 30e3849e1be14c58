"""Dashboard queries: counts, segment sizes, histograms, scatter samples and grid pages agree with
direct computations on the same rows, stay bounded, and handle empty selections."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core import scatter, views
from core.sampling import MIN_POINTS_PER_SEGMENT
from core.errors import InputError
from core.filled import FILLED
from core.models import ROW, SEGMENT, X, Y
from core.store import run_table

N = 3000
LASSO = [[0, -6], [12, -6], [12, 2], [5, -2], [0, 2]]  # concave


def inside(px, py, poly) -> bool:
    hit = False
    for i in range(len(poly)):
        (xi, yi), (xj, yj) = poly[i], poly[(i + 1) % len(poly)]
        if yi != yj and min(yi, yj) <= py < max(yi, yj) and px < xi + (xj - xi) / (yj - yi) * (py - yi):
            hit = not hit
    return hit


@pytest.fixture
def synth(make_run, frames):
    frame = frames.synthetic(N, k=4, seed=3)
    run = make_run(frame, id_column="id", features=["age", "spend"])
    frame[ROW] = np.arange(1, N + 1)
    return run, frame


def spec(store, run, **data):
    return views.parse_spec(store, {"run_id": run.run_id, **data})


FILTERS = {
    "none": ({}, lambda f: np.ones(len(f), bool)),
    "segments": ({"segments": [2, 4]}, lambda f: f[SEGMENT].isin([2, 4])),
    "range": ({"ranges": {"age": [30, 45], "spend": [20, 150]}},
              lambda f: f["age"].between(30, 45) & f["spend"].between(20, 150)),
    "category": ({"categories": {"region": ["north", "east"]}}, lambda f: f["region"].isin(["north", "east"])),
    "box": ({"region": {"kind": "box", "x": [1, 6], "y": [-4, 0]}},
            lambda f: f[X].between(1, 6) & f[Y].between(-4, 0)),
    "lasso": ({"region": {"kind": "lasso", "points": LASSO}},
              lambda f: np.array([inside(x, y, LASSO) for x, y in zip(f[X], f[Y])])),
    "combined": ({"segments": [1, 2, 4], "ranges": {"age": [20, 60]}, "categories": {"region": ["south"]},
                  "region": {"kind": "lasso", "points": LASSO}},
                 lambda f: f[SEGMENT].isin([1, 2, 4]) & f["age"].between(20, 60) & (f["region"] == "south")
                 & np.array([inside(x, y, LASSO) for x, y in zip(f[X], f[Y])])),
}


# -- run metadata and spec parsing ---------------------------------------------------------------
def test_run_columns_leave_out_identifiers(store, synth):
    run, _ = synth
    assert views.run_columns(store, run) == (["age", "spend"], ["region"])
    assert views.run_columns(store, run.run_id) == (["age", "spend"], ["region"])


def test_parse_spec_validates_against_the_run(store, synth):
    run, _ = synth
    assert spec(store, run, segments=[4]).segments == (4,)
    with pytest.raises(InputError, match="unknown run"):
        views.parse_spec(store, {"run_id": "0123456789ab"})
    with pytest.raises(InputError):
        views.parse_spec(store, {"run_id": "../../etc"})
    with pytest.raises(InputError):
        views.parse_spec(store, "not a spec")
    with pytest.raises(InputError, match="unknown column"):
        spec(store, run, ranges={"id": [1, 2]})  # identifiers are not filters
    with pytest.raises(InputError):
        spec(store, run, segments=[5])  # k = 4


def test_feature_bounds_and_category_values(store, synth):
    run, frame = synth
    bounds = views.feature_bounds(store, run)
    assert bounds == {"age": (frame["age"].min(), frame["age"].max()),
                      "spend": (frame["spend"].min(), frame["spend"].max())}
    values = views.category_values(store, run)
    counts = frame["region"].value_counts()
    assert values == {"region": sorted(counts.index, key=lambda v: (-counts[v], v))}
    assert views.category_values(store, run, limit=2) == {"region": values["region"][:2]}
    with pytest.raises(InputError):
        views.category_values(store, run, limit=0)


# -- counts and sizes ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FILTERS))
def test_count_and_segment_sizes_match_direct_counts(store, synth, name):
    run, frame = synth
    data, mask_fn = FILTERS[name]
    s = spec(store, run, **data)
    mask = np.asarray(mask_fn(frame), dtype=bool)
    assert views.count(store, s) == (int(mask.sum()), N)
    # and the same through SQL written here, not through the views module
    with store.cursor() as cur:
        total = cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)}").fetchone()[0]
    assert total == N
    sizes = views.segment_sizes(store, s)
    assert [z.segment for z in sizes] == [1, 2, 3, 4]
    for z in sizes:
        assert z.selected == int((mask & (frame[SEGMENT] == z.segment)).sum())
        assert z.total == int((frame[SEGMENT] == z.segment).sum())
        assert z.name == run.segments[z.segment - 1].name


@pytest.mark.parametrize("name", list(FILTERS))
def test_histogram_totals_match_selection(store, synth, name):
    run, frame = synth
    data, mask_fn = FILTERS[name]
    s = spec(store, run, **data)
    mask = np.asarray(mask_fn(frame), dtype=bool)
    hists = views.histograms(store, s, ["spend", "age"], bins=30)
    assert [h.feature for h in hists] == ["spend", "age"]
    for h in hists:
        assert set(h.counts) == {1, 2, 3, 4}
        assert len(h.edges) == len(next(iter(h.counts.values()))) + 1
        for seg, counts in h.counts.items():
            assert sum(counts) == int((mask & (frame[SEGMENT] == seg)).sum())
    # bins agree with numpy on the same fixed edges
    spend = hists[0]
    sel = frame[mask]
    for seg, counts in spend.counts.items():
        values = sel.loc[sel[SEGMENT] == seg, "spend"].to_numpy()
        expected, _ = np.histogram(values, bins=spend.edges)
        assert counts == expected.tolist()


def test_histogram_edges_are_fixed_over_the_whole_run(store, synth):
    run, frame = synth
    full = views.histograms(store, spec(store, run), ["spend"], bins=20)[0]
    narrow = views.histograms(store, spec(store, run, ranges={"spend": [50, 60]}), ["spend"], bins=20)[0]
    assert full.edges == narrow.edges
    assert full.edges[0] == frame["spend"].min() and full.edges[-1] == frame["spend"].max()
    assert len(full.edges) == 21


def test_integer_histogram_uses_one_bin_per_value_when_it_fits(store, synth):
    run, frame = synth
    h = views.histograms(store, spec(store, run), ["age"], bins=60)[0]
    lo, hi = frame["age"].min(), frame["age"].max()
    assert h.edges[0] == lo - 0.5 and h.edges[-1] == hi + 0.5 and len(h.edges) == hi - lo + 2
    assert sum(h.counts[1]) == int((frame[SEGMENT] == 1).sum())


def test_histograms_refuse_bad_requests(store, synth):
    run, _ = synth
    s = spec(store, run)
    for features, bins in ((["region"], 10), (["id"], 10), (['age" --'], 10), (["age"], 0),
                           (["age"], 10_000), ("age", 10), (["age"] * 100, 10), (["age"], 2.5)):
        with pytest.raises(InputError):
            views.histograms(store, s, features, bins=bins)
    assert views.histograms(store, s, []) == []


def test_histogram_of_a_constant_column(store, make_run, frames):
    frame = frames.synthetic(200, seed=4)
    frame["flat"] = 7.5
    run = make_run(frame, id_column="id")
    h = views.histograms(store, views.parse_spec(store, {"run_id": run.run_id}), ["flat"], bins=10)[0]
    assert h.edges[0] < 7.5 < h.edges[-1]
    assert sum(sum(c) for c in h.counts.values()) == 200


# -- scatter -------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_points", [4, 10, 100, 1000, 20000])
def test_scatter_sample_is_bounded_and_keeps_every_segment(store, synth, max_points):
    run, frame = synth
    sc = scatter.scatter_sample(store, spec(store, run), max_points=max_points)
    assert sc.shown == len(sc.x) == len(sc.y) == len(sc.segment) == len(sc.row) <= max_points
    assert sc.selected == sc.total == N
    assert len(set(sc.row)) == sc.shown
    if max_points >= 4:
        assert set(sc.segment) == {1, 2, 3, 4}  # the 1% segment too
    if max_points >= N:
        assert sc.shown == N
    by_row = frame.set_index(ROW)
    for r, x, y, s in list(zip(sc.row, sc.x, sc.y, sc.segment))[:200]:
        assert (by_row.at[r, X], by_row.at[r, Y], by_row.at[r, SEGMENT]) == (x, y, s)


def test_scatter_sample_is_proportional_with_a_floor(store, synth):
    run, frame = synth
    sc = scatter.scatter_sample(store, spec(store, run), max_points=600)
    assert sc.shown == 600
    shown = pd.Series(sc.segment).value_counts()
    sizes = frame[SEGMENT].value_counts()
    assert shown[4] >= min(sizes[4], MIN_POINTS_PER_SEGMENT)
    assert shown[1] > shown[2] > shown[3]  # larger segments get more points
    assert abs(shown[1] / 600 - sizes[1] / N) < 0.1


def test_scatter_sample_is_deterministic_and_only_selected(store, synth):
    run, frame = synth
    data, mask_fn = FILTERS["combined"]
    s = spec(store, run, **data)
    a = scatter.scatter_sample(store, s, max_points=50, background_points=40)
    b = scatter.scatter_sample(store, s, max_points=50, background_points=40)
    assert a == b
    selected = set(frame.loc[np.asarray(mask_fn(frame), dtype=bool), ROW])
    assert set(a.row) <= selected and a.selected == len(selected)
    assert 0 < a.background_shown <= 40 == len(a.background_x)
    # background points are unselected rows
    unselected = frame.loc[~frame[ROW].isin(selected)]
    pairs = set(zip(unselected[X], unselected[Y]))
    assert all((x, y) in pairs for x, y in zip(a.background_x, a.background_y))
    assert json.loads(json.dumps(a.to_dict(), allow_nan=False))["shown"] == a.shown


def test_scatter_sample_is_stable_while_the_filter_narrows(store, synth):
    run, _ = synth
    wide = scatter.scatter_sample(store, spec(store, run, segments=[1]), max_points=100)
    narrow = scatter.scatter_sample(store, spec(store, run, segments=[1], ranges={"age": [18, 60]}),
                                  max_points=100)
    assert len(set(wide.row) & set(narrow.row)) > 60


def test_scatter_without_filter_has_no_background(store, synth):
    run, _ = synth
    sc = scatter.scatter_sample(store, spec(store, run), max_points=100)
    assert sc.background_shown == 0 and sc.background_x == []
    assert sc.x_label == "age" and sc.y_label == "spend"
    with pytest.raises(InputError):
        scatter.scatter_sample(store, spec(store, run), max_points=0)
    with pytest.raises(InputError):
        scatter.scatter_sample(store, spec(store, run), max_points=10**9)


# -- grid ----------------------------------------------------------------------------------------
def test_grid_pages_cover_the_selection_in_sort_order(store, synth):
    run, frame = synth
    data, mask_fn = FILTERS["range"]
    s = spec(store, run, **data)
    sort = [{"colId": "region", "sort": "asc"}, {"colId": "spend", "sort": "desc"}]
    rows, seen = [], None
    for start in range(0, N, 100):
        page, total = views.grid_page(store, s, start, start + 100, sort)
        seen = total
        rows += page
        if len(page) < 100:
            break
    sel = frame[np.asarray(mask_fn(frame), dtype=bool)]
    expected = sel.sort_values(["region", "spend", ROW], ascending=[True, False, True])
    assert seen == len(sel) == len(rows)
    assert [r[ROW] for r in rows] == expected[ROW].tolist()
    first = rows[0]
    assert list(first) == ["id", "age", "spend", "region", ROW, SEGMENT, views.SEGMENT_NAME, FILLED]
    original = frame.set_index(ROW).loc[first[ROW]]
    assert (first["id"], first["age"], first["spend"], first["region"]) == (
        original["id"], original["age"], original["spend"], original["region"])
    assert first[views.SEGMENT_NAME] == run.segments[first[SEGMENT] - 1].name
    json.dumps(rows, allow_nan=False)


def test_grid_default_order_and_sorting_by_segment_name(store, synth):
    run, frame = synth
    s = spec(store, run)
    page, total = views.grid_page(store, s, 10, 20)
    assert total == N and [r[ROW] for r in page] == list(range(11, 21))
    page, _ = views.grid_page(store, s, 0, 5, [{"colId": views.SEGMENT_NAME, "sort": "desc"}])
    names = sorted((seg.name for seg in run.segments), reverse=True)
    assert page[0][views.SEGMENT_NAME] == names[0]


def test_grid_page_size_is_capped_and_bad_sorts_refused(store, synth):
    run, _ = synth
    s = spec(store, run)
    page, total = views.grid_page(store, s, 0, 5000)
    assert len(page) == views.MAX_PAGE_ROWS and total == N
    assert views.grid_page(store, s, N + 10, N + 110) == ([], N)
    assert views.grid_page(store, s, 50, 40) == ([], N)
    for sort in ([{"colId": "nope", "sort": "asc"}], [{"colId": 'age" DESC; --', "sort": "asc"}],
                 [{"colId": "age", "sort": "sideways"}], [{"colId": "age"}], "age", [["age", "asc"]],
                 [{"colId": "age", "sort": "asc"}] * 20):
        with pytest.raises(InputError):
            views.grid_page(store, s, 0, 10, sort)
    for start, end in ((-1, 10), (0.5, 10), ("0", 10), (True, 10)):
        with pytest.raises(InputError):
            views.grid_page(store, s, start, end)


def test_grid_values_are_json_safe_and_bounded(store, make_run, frames):
    frame = frames.synthetic(50, seed=9)
    frame["ratio"] = [math.nan, math.inf, -math.inf] + [1.5] * 47
    frame["note"] = ["y" * 1_000_000] + ["short"] * 49
    run = make_run(frame, id_column="id")
    rows, _ = views.grid_page(store, views.parse_spec(store, {"run_id": run.run_id}), 0, 3)
    assert [r["ratio"] for r in rows] == [None, None, None]
    assert len(rows[0]["note"]) == views.MAX_CELL_CHARS and rows[0]["note"].endswith("…")
    assert rows[1]["note"] == "short"
    assert len(json.dumps(rows, allow_nan=False)) < 10_000


# -- empty selections ----------------------------------------------------------------------------
def test_empty_selection_returns_zeros(store, synth):
    run, _ = synth
    s = spec(store, run, ranges={"age": [1000, 2000]})
    assert views.count(store, s) == (0, N)
    assert all(z.selected == 0 for z in views.segment_sizes(store, s))
    hists = views.histograms(store, s, ["age", "spend"])
    assert all(sum(c) == 0 for h in hists for c in h.counts.values())
    sc = scatter.scatter_sample(store, s, max_points=100, background_points=50)
    assert (sc.shown, sc.selected, sc.total, sc.x) == (0, 0, N, [])
    assert sc.background_shown == 50
    assert views.grid_page(store, s, 0, 100, [{"colId": "age", "sort": "asc"}]) == ([], 0)


def test_describe_filter(store, synth):
    run, _ = synth
    s = spec(store, run, segments=[2], ranges={"age": [20, 30]}, categories={"region": ["north"]},
             region={"kind": "lasso", "points": LASSO})
    text = views.describe_filter(s, views.run_context(store, run).segment_names)
    assert text == (f"segment 2 ({run.segments[1].name}); age 20 to 30; region: north; "
                    "lasso region (5 points)")
    assert views.describe_filter(spec(store, run)).startswith("none")


def test_nan_and_infinite_values_do_not_break_views(store, make_run, frames):
    frame = frames.synthetic(300, seed=12)
    frame["score"] = np.where(np.arange(300) % 10 == 0, np.nan, np.arange(300, dtype=float))
    frame.loc[5, "score"] = math.inf
    frame.loc[6, "score"] = -math.inf
    frame.loc[7, X] = math.nan
    frame.loc[8, Y] = math.inf
    run = make_run(frame, id_column="id")
    assert views.feature_bounds(store, run)["score"] == (1.0, 299.0)
    lasso = {"kind": "lasso", "points": [[-5, -9], [15, -9], [15, 5], [5, 0], [-5, 5]] + [[-5, 4.9 - i / 10] for i in range(40)]}
    s = views.parse_spec(store, {"run_id": run.run_id, "region": lasso, "ranges": {"score": [0, 1000]}})
    selected, total = views.count(store, s)
    assert total == 300 and 0 < selected < 300
    h = views.histograms(store, s, ["score"], bins=10)[0]
    assert sum(sum(c) for c in h.counts.values()) == selected  # only finite scores pass the range
    sc = scatter.scatter_sample(store, s, max_points=50, background_points=50)
    assert sc.shown <= 50 and None not in sc.x
    json.dumps(sc.to_dict(), allow_nan=False)
    everything = views.parse_spec(store, {"run_id": run.run_id})
    assert sum(sum(c) for c in views.histograms(store, everything, ["score"])[0].counts.values()) == 300 - 30 - 2
