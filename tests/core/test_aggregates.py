"""The run's pre-aggregated tables (core/aggregates.py) give the same answers as direct SQL over the rows.

Expected values come from plain SQL or numpy over the run table, never from core.views: segment
counts with a plain BETWEEN, histogram bins with numpy.searchsorted on the same edges, means with avg().
Random snapped brushes (histogram ranges, scatter boxes, with and without a segment choice) on a table
with NULL, NaN and infinite values, integer, decimal and double columns, and a tiny segment.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from core import aggregates, scatter, views
from core.aggregates_build import build
from core.filters import FilterSpec, Region
from core.models import ROW, SEGMENT, X, Y
from core.profiling import profile_segments
from core.store import AGG_PARTS, agg_table, quote_ident, run_table

BRUSHES = 16


@pytest.fixture
def awkward(store, make_run):
    """3,000 customers, 4 segments (one of 7 customers), integer, double and decimal-like columns with
    NULLs, NaN and infinities, values exactly on bin edges, a category."""
    rng = np.random.default_rng(5)
    n = 3000
    seg = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2])
    seg[:7] = 4
    income = np.round(rng.gamma(3, 20, n), 2)  # money with two decimals
    income[::97] = np.nan  # missing
    score = rng.integers(1, 101, n).astype(float)  # integers, many exactly on edges
    spend = rng.normal(50, 30, n)
    spend[5] = np.inf
    spend[11] = -np.inf
    spend[::53] = np.nan
    frame = pd.DataFrame({
        "id": np.arange(n), "income": income, "score": score.astype("int64"), "spend": spend,
        "region": rng.choice(["north", "south", "east"], n),
        SEGMENT: seg, X: rng.normal(0, 1, n) + seg, Y: rng.normal(0, 1, n) * seg,
    })
    frame.loc[3, "score"] = 100  # the maximum, on the closed last bin
    run = make_run(frame, id_column="id", features=["income", "score", "spend"])
    cube = build(store, run.run_id)
    views.clear_caches()
    return run, cube


def _rows(store, run) -> pd.DataFrame:
    with store.cursor() as cur:
        return cur.execute(f"SELECT * FROM {run_table(run.run_id)}").fetchdf()


def _random_specs(store, run, cube, seed: int) -> list[FilterSpec]:
    rng = np.random.default_rng(seed)
    specs = [FilterSpec(run.run_id)]
    for i in range(BRUSHES):
        segments = tuple(sorted(rng.choice([1, 2, 3, 4], size=int(rng.integers(0, 3)), replace=False).tolist()))
        if i % 3 == 2:  # a lasso: a random 9-gon around a random centre
            cx, cy = rng.uniform(cube.x_edges[0], cube.x_edges[-1]), rng.uniform(cube.y_edges[0], cube.y_edges[-1])
            rx = (cube.x_edges[-1] - cube.x_edges[0]) * rng.uniform(0.1, 0.5)
            ry = (cube.y_edges[-1] - cube.y_edges[0]) * rng.uniform(0.1, 0.5)
            angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
            pts = tuple((float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in angles)
            # parsed as the dashboard parses it: on a run with tables the lasso is snapped to grid cells
            raw = {"run_id": run.run_id, "segments": list(segments),
                   "region": {"kind": "lasso", "points": [list(p) for p in pts]}}
            specs.append(views.parse_spec(store, raw))
        elif i % 4 == 1:  # two or three histogram brushes at once (the joint table)
            cols = list(rng.choice(cube.features, size=int(rng.integers(2, 4)), replace=False))
            ranges = {}
            for col in cols:
                e = cube.edges[col]
                lo, hi = sorted(rng.uniform(e[0], e[-1], 2))
                ranges[col] = aggregates.snap_pair(e, lo, hi)
            specs.append(FilterSpec(run.run_id, segments=segments, ranges=ranges))
        elif i % 2 == 0:
            col = cube.features[i % len(cube.features)]
            e = cube.edges[col]
            lo, hi = sorted(rng.uniform(e[0] - 5, e[-1] + 5, 2))
            specs.append(FilterSpec(run.run_id, segments=segments, ranges={col: aggregates.snap_pair(e, lo, hi)}))
        else:
            xs = sorted(rng.uniform(cube.x_edges[0], cube.x_edges[-1], 2))
            ys = sorted(rng.uniform(cube.y_edges[0], cube.y_edges[-1], 2))
            box = Region("box", aggregates.snap_pair(cube.x_edges, *xs), aggregates.snap_pair(cube.y_edges, *ys))
            specs.append(FilterSpec(run.run_id, segments=segments, region=box))
    return specs


def _selected(rows: pd.DataFrame, spec: FilterSpec, cube) -> pd.Series:
    """The rows a spec selects, by the spec's own bounds (inclusive), in pandas."""
    keep = pd.Series(True, index=rows.index)
    if spec.segments:
        keep &= rows[SEGMENT].isin(spec.segments)
    for col, (lo, hi) in spec.ranges.items():
        v = rows[col].astype(float)
        keep &= (v >= lo) & (v <= hi)
    if spec.region is not None and spec.region.kind == "box":
        keep &= rows[X].between(*spec.region.x) & rows[Y].between(*spec.region.y)
    elif spec.region is not None:
        # a lasso selects the grid cells whose centre it encloses (even-odd ray casting of the centres);
        # a row is in the cell its x and y fall in by the grid's edges (bins closed at the top)
        xe, ye = np.asarray(cube.x_edges), np.asarray(cube.y_edges)
        cx, cy = np.meshgrid((xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2, indexing="ij")
        inside = np.zeros(cx.shape, dtype=bool)
        pts = spec.region.points
        for (xi, yi), (xj, yj) in zip(pts, pts[1:] + pts[:1]):
            if yi != yj:
                inside ^= (cy >= min(yi, yj)) & (cy < max(yi, yj)) & (cx < xi + (xj - xi) / (yj - yi) * (cy - yi))
        x, y = rows[X].to_numpy(dtype=float), rows[Y].to_numpy(dtype=float)
        finite = np.isfinite(x) & np.isfinite(y)
        bx = np.minimum(np.searchsorted(xe, np.where(finite, x, xe[0]), side="right") - 1, len(xe) - 2)
        by = np.minimum(np.searchsorted(ye, np.where(finite, y, ye[0]), side="right") - 1, len(ye) - 2)
        keep &= finite & inside[bx, by]
    return keep


def _numpy_hist(values: pd.Series, edges: tuple[float, ...]) -> list[int]:
    v = values.astype(float).to_numpy()
    v = v[np.isfinite(v)]
    idx = np.searchsorted(np.asarray(edges), v, side="right") - 1
    idx[v == edges[-1]] = len(edges) - 2  # the last bin is closed
    return np.bincount(idx, minlength=len(edges) - 1).tolist()


def test_every_brush_is_answered_by_the_cube_and_equals_plain_sql(store, awkward):
    run, cube = awkward
    rows = _rows(store, run)
    assert set(cube.features) == {"income", "score", "spend"} and cube.joint
    for spec in _random_specs(store, run, cube, seed=1):
        assert aggregates.brush_of(cube, spec) is not None, spec
        keep = _selected(rows, spec, cube)
        # segment sizes: plain SQL with the spec's bounds
        where = ["TRUE"]
        params: list = []
        for col, (lo, hi) in spec.ranges.items():
            where.append(f"{quote_ident(col)} BETWEEN ? AND ?")
            params += [lo, hi]
        if spec.region is not None and spec.region.kind == "box":
            where.append(f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?")
            params += [*spec.region.x, *spec.region.y]
        elif spec.region is not None:  # a lasso: the expected counts are numpy's (above)
            where.append(f"list_contains(?::BIGINT[], {ROW})")
            params.append(rows.loc[keep, ROW].astype(int).tolist())
        if spec.segments:
            where.append(f"list_contains(?::INTEGER[], {SEGMENT})")
            params.append(list(spec.segments))
        with store.cursor() as cur:
            expected = dict(cur.execute(
                f"SELECT {SEGMENT}, count(*) FROM {run_table(run.run_id)} WHERE {' AND '.join(where)} GROUP BY 1",
                params).fetchall())
        got = {z.segment: z.selected for z in views.segment_sizes(store, spec) if z.selected}
        assert got == expected, spec
        assert int(keep.sum()) == sum(expected.values())
        # histogram bins: numpy over the selected rows, per segment
        for h in views.histograms(store, spec, list(cube.features), aggregates.CUBE_BINS):
            for s in range(1, 5):
                sel = rows[keep & (rows[SEGMENT] == s)]
                assert h.counts[s] == _numpy_hist(sel[h.feature], tuple(h.edges)), (spec, h.feature, s)
        # profile means: pandas means over the selected rows' values (missing ones skipped, as avg()
        # does); an infinity makes the mean undefined (None, shown as a dash)
        for p in profile_segments(store, dataclasses.replace(spec), medians=False):
            sel = rows[keep & (rows[SEGMENT] == p.segment)]
            assert p.size == len(sel)
            for f in ("income", "score", "spend"):
                v = sel[f].astype(float).dropna()
                if len(v) == 0 or not np.isfinite(v).all():
                    assert p.means[f] is None, (f, p.means[f])
                else:
                    assert p.means[f] == pytest.approx(v.mean(), rel=1e-9)


def test_cube_answers_equal_the_row_answers_of_the_views(store, awkward):
    """The same views with the cube hidden (rows scanned) give the same sizes, bars, means and scatter."""
    run, cube = awkward
    for spec in _random_specs(store, run, cube, seed=2):
        fast = (views.segment_sizes(store, spec), views.histograms(store, spec, list(cube.features), 30),
                profile_segments(store, spec, medians=False), scatter.scatter_sample(store, spec, 500, 200))
        views.clear_caches()
        aggregates.forget(store)
        aggregates._CUBES[store][run.run_id] = None  # as if the run had no cube
        slow = (views.segment_sizes(store, spec), views.histograms(store, spec, list(cube.features), 30),
                profile_segments(store, spec, medians=False), scatter.scatter_sample(store, spec, 500, 200))
        aggregates.forget(store)
        views.clear_caches()
        assert fast[0] == slow[0]
        assert [(h.edges, h.counts) for h in fast[1]] == [(h.edges, h.counts) for h in slow[1]]
        assert [(p.segment, p.size) for p in fast[2]] == [(p.segment, p.size) for p in slow[2]]
        for a, b in zip(fast[2], slow[2]):
            assert a.means.keys() == b.means.keys()
            for f, m in a.means.items():
                assert (m is None and b.means[f] is None) or m == pytest.approx(b.means[f], rel=1e-9)
        assert fast[3].to_dict() == slow[3].to_dict()


def test_snapped_range_holds_exactly_its_bins():
    edges = tuple([0.1 * i for i in range(30)] + [3.0])  # rounding-prone edges
    for first in range(30):
        for last in range(first, 30):
            lo, hi = aggregates.range_of(edges, first, last)
            assert lo == edges[first]
            assert hi == (edges[-1] if last == 29 else math.nextafter(edges[last + 1], -math.inf))
            assert aggregates.bins_of(edges, lo, hi) == (first, last)
    assert aggregates.bins_of(edges, 0.15, 0.9) is None  # not on the edges: the rows answer
    assert aggregates.snap_pair(edges, 0.04, 0.26) == aggregates.range_of(edges, 0, 2)
    assert aggregates.snap_pair(edges, 1.0, 1.01) == aggregates.range_of(edges, 10, 10)  # at least one bin


def test_filters_the_cube_cannot_hold_go_to_the_rows(store, awkward):
    run, cube = awkward
    e = cube.edges["income"]
    two = {"income": aggregates.range_of(e, 2, 5), "score": (3.0, 41.5)}  # one of them typed, not snapped
    for spec in (FilterSpec(run.run_id, ranges={"income": (10.0, 20.0)}),  # typed values, not bin edges
                 FilterSpec(run.run_id, ranges=two),
                 FilterSpec(run.run_id, categories={"region": ("north",)}),
                 FilterSpec(run.run_id, ranges={"income": aggregates.range_of(e, 2, 5)},
                            region=Region("box", aggregates.range_of(cube.x_edges, 1, 9),
                                          aggregates.range_of(cube.y_edges, 1, 9)))):
        assert aggregates.brush_of(cube, spec) is None
    # and the views still answer them exactly (plain SQL)
    spec = FilterSpec(run.run_id, categories={"region": ("north",)}, ranges=two)
    with store.cursor() as cur:
        n = cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE region = 'north' AND income "
                        "BETWEEN ? AND ? AND score BETWEEN ? AND ?", [*two["income"], *two["score"]]).fetchone()[0]
    assert views.count(store, spec)[0] == n


def test_build_replaces_and_deleting_the_dataset_drops_the_tables(store, awkward):
    run, cube = awkward
    again = build(store, run.run_id)  # rebuilding replaces, never duplicates
    assert again.totals == cube.totals and sum(again.totals.values()) == 3000
    with store.cursor() as cur:
        assert cur.execute(f"SELECT sum(n) FROM {agg_table(run.run_id, 'm')} WHERE a = -1").fetchone()[0] == 3000
    store.delete_dataset(run.dataset_id)
    with store.cursor() as cur:
        left = [r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert not [t for t in left if t.startswith("agg_")]
    assert len(AGG_PARTS) == 6


def test_a_run_made_by_the_engine_gets_its_cube(store, mall_csv):
    from core.ingest import load_file
    from core.segmentation import run_segmentation

    info = load_file(store, mall_csv)
    run = run_segmentation(store, info.dataset_id, features=["Annual Income (k$)", "Spending Score (1-100)"], k=5)
    cube = aggregates.load(store, run.run_id)
    assert cube is not None and cube.features[:2] == ("Annual Income (k$)", "Spending Score (1-100)")
    assert sum(cube.totals.values()) == 200 and sum(cube.sample_rows.values()) == 200


def test_the_scatter_takes_the_sample_when_it_holds_enough_points():
    cube = aggregates.Cube("000000000000", (), {}, (0.0, 1.0), (0.0, 1.0), (), (), sample_rows={1: 50, 2: 10},
                           totals={1: 1000, 2: 10})
    assert aggregates.enough(cube, {1: 40, 2: 10}, {1: 40, 2: 10})  # every quota met: the same points
    assert aggregates.enough(cube, {1: 36, 2: 10}, {1: 40, 2: 10})  # 46 of 50: 92% of the budget
    assert not aggregates.enough(cube, {1: 30, 2: 10}, {1: 40, 2: 10})  # 80%: read the whole table
    assert aggregates.enough(cube, {1: 0, 2: 10}, {1: 1, 2: 10})  # a sliver (under the floor) may go without
    assert not aggregates.enough(cube, {1: 0, 2: 600}, {1: 60, 2: 600})  # a real part of the selection: never
    assert aggregates.enough(cube, {2: 0}, {2: 0})  # nothing asked of it
    assert aggregates.enough(cube, {1: 40, 2: 3}, {1: 40, 2: 3})
    big = aggregates.Cube("000000000000", (), {}, (0.0, 1.0), (0.0, 1.0), (), (), sample_rows={1: 50_000},
                          totals={1: 2_000_000})
    assert aggregates.enough(big, {1: 5_000}, {1: 12_000})  # 5,000 points of one segment draw it well
    assert aggregates.enough(big, {1: 1_000}, {1: 12_000})  # 1,000 points of a uniform sample show it
    assert not aggregates.enough(big, {1: 999}, {1: 12_000})  # fewer: the whole table is sampled


def test_an_unreadable_or_older_cube_is_ignored(store, awkward):
    run, _ = awkward
    with store.transaction() as cur:
        cur.execute(f"UPDATE {agg_table(run.run_id, 'meta')} SET spec = ?", ['{"version": 0}'])
    aggregates.forget(store)
    assert aggregates.load(store, run.run_id) is None
    spec = FilterSpec(run.run_id, segments=(1,))
    with store.cursor() as cur:
        n = cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE {SEGMENT} = 1").fetchone()[0]
    assert views.count(store, spec)[0] == n  # the rows answer


def test_a_joint_table_over_its_cap_is_dropped_and_several_brushes_read_the_rows(store, awkward, monkeypatch):
    run, _ = awkward
    from core import aggregates_build

    monkeypatch.setattr(aggregates_build, "JOINT_MAX_CELLS", 10)
    cube = build(store, run.run_id)
    assert not cube.joint
    with store.cursor() as cur:
        names = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert agg_table(run.run_id, "j") not in names and agg_table(run.run_id, "f") in names
    e1, e2 = cube.edges["income"], cube.edges["score"]
    spec = FilterSpec(run.run_id, ranges={"income": aggregates.range_of(e1, 2, 9), "score": aggregates.range_of(e2, 1, 20)})
    assert aggregates.brush_of(cube, spec) is None
    with store.cursor() as cur:
        n = cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE income BETWEEN ? AND ? AND score "
                        "BETWEEN ? AND ?", [*spec.ranges["income"], *spec.ranges["score"]]).fetchone()[0]
    views.clear_caches()
    assert views.count(store, spec)[0] == n


def test_a_thin_selection_reads_its_points_from_the_rows_and_keeps_the_samples_background(store, awkward,
                                                                                           monkeypatch):
    """With a small sample table, a thin selection falls short: its points come from the whole table,
    the grey background still from the sample; the picture equals the one drawn from the rows alone."""
    import core.aggregates_build as aggregates_build

    run, _ = awkward
    monkeypatch.setattr(aggregates_build, "SAMPLE_PER_SEGMENT", 300)
    cube = build(store, run.run_id)
    aggregates.forget(store)
    views.clear_caches()
    assert cube.sample_rows[1] == 300 and not cube.sample_complete(1)
    thin = views.parse_spec(store, {"run_id": run.run_id, "ranges": {"score": [90, 100]}})
    reads = []
    original = store.cursor

    def counting_cursor():
        return _Counting(original(), reads, agg_table(run.run_id, "sample"))

    monkeypatch.setattr(store, "cursor", counting_cursor)
    fast = scatter.scatter_sample(store, thin, 200, 100)
    monkeypatch.setattr(store, "cursor", original)
    assert reads[-2:] == ["sample", "rows"]  # both parts from the sample, then the points from the rows
    views.clear_caches()
    aggregates.forget(store)
    aggregates._CUBES[store][run.run_id] = None  # as if the run had no cube: everything from the rows
    slow = scatter.scatter_sample(store, thin, 200, 100)
    aggregates.forget(store)
    assert 0 < fast.shown <= 200 and fast.background_shown == 100
    assert fast.to_dict() == slow.to_dict()


class _Counting:
    """A cursor context that notes which table each query reads: the sample table or the rows."""

    def __init__(self, cm, reads: list, sample: str):
        self.cm, self.reads, self.sample = cm, reads, sample

    def __enter__(self):
        self.cur = self.cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)

    def execute(self, sql, *args):
        self.reads.append("sample" if self.sample in sql else "rows")
        return self.cur.execute(sql, *args)
