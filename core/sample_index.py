"""The scatter's sample table in memory: a brush the cube answers (core.aggregates.Brush) picks the
scatter's points with numpy instead of a DuckDB query.

A run's agg_<id>_sample table holds, per segment, the rows with the smallest hash(__row) (at most
SAMPLE_PER_SEGMENT each, a few hundred thousand rows in all). Reading the points a brush selects from
it costs a query over all of them: a complete small segment, or a thin slice of a large one, sets the
hash cut-off so high that no row group is skipped (about 20 ms of two cores at 1M customers, the
largest single cost of an interaction). Kept in memory with each row's bins (the same binning as the
tables, core/bins.py) the same answer is a few vectorised comparisons.

The answer equals the SQL's exactly (tests/core/test_sample_index.py): a snapped brush selects whole
bins, and a row is in a bin by the same edges in both. Memory: about 60 bytes a sample row (30 MB for
a run of 500,000 sample rows), for the last INDEXES runs used (core/lru.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import lru
from core.aggregates import GRID_BINS, Brush, Cube
from core.bins import bin_of
from core.models import ROW, SEGMENT, X, Y
from core.sampling import HASH_KEY
from core.store import Store, agg_table, quote_ident

INDEXES = 3  # runs whose sample is kept in memory


@dataclass(frozen=True)
class SampleIndex:
    """The sample table's rows sorted by (segment, hash, row), with their bins."""

    seg: np.ndarray  # int16
    h: np.ndarray  # int64 (the hash key)
    row: np.ndarray  # int64 (__row)
    x: np.ndarray  # the scatter's coordinates as read (float64, maybe masked)
    y: np.ndarray
    ids: np.ndarray  # the identifier as the scatter reads it (maybe masked), or NULLs
    cell: np.ndarray  # int32: x bin * GRID_BINS + y bin, -1 where either is missing
    xb: np.ndarray  # int8: the x bin, -1 where x or y is missing (as the cell)
    yb: np.ndarray  # int8: the y bin, -1 likewise
    bins: tuple[np.ndarray, ...]  # per cube feature (Cube.features order): int16 bin, -1 when missing
    starts: dict[int, tuple[int, int]]  # segment -> [start, end) of its rows


def id_sql(id_col: str | None, columns: list[str], whole: bool) -> str:
    """The scatter's identifier expression: the column as BIGINT (`whole`) or text, NULL without one."""
    if not id_col:
        return "NULL::VARCHAR"
    return quote_ident(id_col, columns) + ("::BIGINT" if whole else "::VARCHAR")


def index_of(store: Store, cube: Cube, id_col: str | None, columns: list[str], whole: bool) -> SampleIndex:
    """The run's sample index (built on first use, then shared; the identifier, read as id_sql()
    reads it, is part of the key)."""
    cache = lru.cache(store, "sample_index", INDEXES)
    key = (cube.run_id, cube.to_json(), id_col, tuple(columns), whole)
    return cache.get_or_compute(key, lambda: _build(store, cube, id_col, list(columns), whole))


def _build(store: Store, cube: Cube, id_col: str | None, columns: list[str], whole: bool) -> SampleIndex:
    feats = [quote_ident(f, list(cube.features)) + "::DOUBLE" for f in cube.features]
    ident = id_sql(id_col, columns, whole)
    cols = ", ".join([f"{SEGMENT} AS s", f"{HASH_KEY} AS h", f"{ROW} AS r", f"{X} AS x", f"{Y} AS y", f"{ident} AS i"]
                     + [f"{sql} AS f{n}" for n, sql in enumerate(feats)])
    with store.cursor() as cur:
        d = cur.execute(f"SELECT {cols} FROM {agg_table(cube.run_id, 'sample')} ORDER BY s, h, r").fetchnumpy()
    seg = np.asarray(d["s"], dtype=np.int16)
    xb = bin_of(np.ma.filled(np.ma.asarray(d["x"], dtype=np.float64), np.nan), cube.x_edges)
    yb = bin_of(np.ma.filled(np.ma.asarray(d["y"], dtype=np.float64), np.nan), cube.y_edges)
    found = (xb >= 0) & (yb >= 0)
    cell = np.where(found, xb * GRID_BINS + yb, -1).astype(np.int32)
    bins = tuple(bin_of(np.ma.filled(np.ma.asarray(d[f"f{n}"], dtype=np.float64), np.nan),
                        cube.edges[f]).astype(np.int16) for n, f in enumerate(cube.features))
    segments, first = np.unique(seg, return_index=True)
    ends = list(first[1:]) + [len(seg)]
    return SampleIndex(seg=seg, h=np.asarray(d["h"], dtype=np.int64), row=np.asarray(d["r"], dtype=np.int64),
                       x=d["x"], y=d["y"], ids=d["i"], cell=cell, bins=bins,
                       xb=np.where(found, xb, -1).astype(np.int8), yb=np.where(found, yb, -1).astype(np.int8),
                       starts={int(s): (int(a), int(b)) for s, a, b in zip(segments, first, ends)})


def mask(index: SampleIndex, brush: Brush) -> np.ndarray:
    """The sample rows the brush selects (segment choice included)."""
    m = _within(index, brush, 0, len(index.seg))
    if brush.segments:  # a lookup table: np.isin sorts, ten times slower here
        chosen = np.zeros(max(max(brush.segments), int(index.seg.max(initial=0))) + 1, dtype=bool)
        chosen[np.asarray(brush.segments, dtype=np.int64)] = True
        m &= chosen[index.seg]
    return m


def _within(index: SampleIndex, brush: Brush, a: int, b: int) -> np.ndarray:
    """Rows a..b-1 the brush's bins, cells or ranges hold (the segment choice aside)."""
    m = np.ones(b - a, dtype=bool)
    if brush.bins is not None:
        v = index.bins[brush.feature][a:b]
        m &= (v >= brush.bins[0]) & (v <= brush.bins[1])
    for feature, first, last in brush.ranges:
        v = index.bins[feature][a:b]
        m &= (v >= first) & (v <= last)
    if brush.cells is not None:
        x0, x1, y0, y1 = brush.cells
        xb, yb = index.xb[a:b], index.yb[a:b]
        m &= (xb >= x0) & (xb <= x1) & (yb >= y0) & (yb <= y1)  # bins >= 0
    if brush.lasso is not None:
        inside = np.zeros(GRID_BINS * GRID_BINS + 1, dtype=bool)  # the last entry: cell -1
        inside[np.asarray(brush.lasso.inside, dtype=np.int64)] = True
        m &= inside[index.cell[a:b]]
    return m


def pick(index: SampleIndex, brush: Brush, selected: bool, quota: dict[int, int], cut: list[int]) -> np.ndarray:
    """Positions of the rows the scatter's SQL keeps from the sample table: per segment, among the rows
    the brush selects (or, for the background, leaves out) with hash below the segment's cut-off, the
    first `quota` by (hash, row). Only the rows under the cut-off are tested."""
    out = []
    for s, q in quota.items():
        if q <= 0 or s not in index.starts or s - 1 >= len(cut):
            continue
        a, b = index.starts[s]
        end = a + int(np.searchsorted(index.h[a:b], cut[s - 1], side="left"))  # hash < cut-off
        held = _within(index, brush, a, end) if not brush.segments or s in brush.segments \
            else np.zeros(end - a, dtype=bool)
        found = np.flatnonzero(held if selected else ~held)[:q]
        out.append(found + a)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def rows(index: SampleIndex, brush: Brush, quota_sel: dict[int, int], cut_sel: list[int],
         quota_bg: dict[int, int], cut_bg: list[int]) -> dict:
    """The scatter's columns (r, x, y, s, sel, i, h) as the sample-table query returns them."""
    sel = pick(index, brush, True, quota_sel, cut_sel)
    bg = pick(index, brush, False, quota_bg, cut_bg) if quota_bg else np.zeros(0, dtype=np.int64)
    at = np.concatenate([sel, bg])
    flag = np.concatenate([np.ones(len(sel), dtype=bool), np.zeros(len(bg), dtype=bool)])
    return {"r": index.row[at], "x": index.x[at], "y": index.y[at], "s": index.seg[at].astype(np.int64),
            "sel": flag, "i": index.ids[at], "h": index.h[at]}
