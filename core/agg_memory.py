"""A run's pre-aggregated tables (core/aggregates.py) in memory, and the brush answers over them.

The tables are small (at 1M customers agg_m holds about 3,000 rows, agg_f 7,500, agg_xy 40,000,
agg_j 10,000; agg_j is capped at JOINT_MAX_CELLS), yet each DuckDB query over them cost 3-5 ms of two
cores, mostly per-query overhead, and one interaction asked four of them. Read once per run into numpy
(core/lru.py keeps the last TABLES runs), a brush is a boolean mask and a bincount: well under a
millisecond. Counts are summed as integers (exact); sums of profile values as doubles, so a mean may
differ from DuckDB's sum() in the last bits (tests compare them to 1e-9).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import lru
from core.aggregates import GRID_BINS, Brush, Cube
from core.store import Store, agg_table

TABLES = 3  # runs whose tables are kept in memory


@dataclass(frozen=True)
class Tables:
    m: dict[str, np.ndarray]  # a, ab, ab2, s, n, c_j, t_j
    f: dict[str, np.ndarray]  # a, ab, g, gb, s, n
    xy: dict[str, np.ndarray]  # xb, yb, g, gb, s, n
    j: dict[str, np.ndarray] | None  # s, b0.., n, c_j, t_j (None: the run has no joint table)


def tables(store: Store, cube: Cube) -> Tables:
    cache = lru.cache(store, "agg_tables", TABLES)
    return cache.get_or_compute((cube.run_id, cube.to_json()), lambda: _load(store, cube))


def _load(store: Store, cube: Cube) -> Tables:
    nm = len(cube.moments)
    stats = [f"c_{j}" for j in range(nm)] + [f"t_{j}" for j in range(nm)]

    def read(part: str, columns: list[str]) -> dict[str, np.ndarray]:
        with store.cursor() as cur:
            d = cur.execute(f"SELECT {', '.join(columns)} FROM {agg_table(cube.run_id, part)}").fetchnumpy()
        out = {}
        for c in columns:  # NULL sums (a group without a value) count as 0, as sum() skips them
            v = np.ma.filled(np.ma.asarray(d[c]), 0)
            out[c] = v.astype(np.float64 if c.startswith("t_") else np.int64)
        return out

    nf = len(cube.features)
    return Tables(
        m=read("m", ["a", "ab", "ab2", "s", "n"] + stats),
        f=read("f", ["a", "ab", "g", "gb", "s", "n"]),
        xy=read("xy", ["xb", "yb", "g", "gb", "s", "n"]),
        j=read("j", ["s"] + [f"b{i}" for i in range(nf)] + ["n"] + stats) if cube.joint else None,
    )


# -- masks -----------------------------------------------------------------------------------------
def _segments(t: dict[str, np.ndarray], brush: Brush) -> np.ndarray:
    s = t["s"]
    if not brush.segments:
        return np.ones(len(s), dtype=bool)
    chosen = np.zeros(max(max(brush.segments), int(s.max(initial=0))) + 1, dtype=bool)
    chosen[np.asarray(brush.segments, dtype=np.int64)] = True
    return chosen[s]


def _cells(x: np.ndarray, y: np.ndarray, brush: Brush) -> np.ndarray:
    """Rows whose plane cell (x bin, y bin) the box or lasso selects."""
    if brush.lasso is not None:
        inside = np.zeros(GRID_BINS * GRID_BINS + 1, dtype=bool)  # the last entry: a cell off the grid
        inside[np.asarray(brush.lasso.inside, dtype=np.int64)] = True
        cell = np.where((x >= 0) & (y >= 0) & (x < GRID_BINS) & (y < GRID_BINS), x * GRID_BINS + y, -1)
        return inside[cell]
    x0, x1, y0, y1 = brush.cells
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _m_rows(t: Tables, brush: Brush) -> np.ndarray:
    """agg_m rows of the brush (one partition of the customers: a feature's bins or the plane's cells)."""
    m = t.m
    if brush.bins is not None:
        keep = (m["a"] == brush.feature) & (m["ab"] >= brush.bins[0]) & (m["ab"] <= brush.bins[1])
    elif brush.cells is not None or brush.lasso is not None:
        keep = (m["a"] == -1) & _cells(m["ab"], m["ab2"], brush)
    else:
        keep = m["a"] == -1
    return keep & _segments(m, brush)


def _j_rows(t: Tables, brush: Brush) -> np.ndarray:
    keep = _segments(t.j, brush)
    for i, first, last in brush.ranges:
        b = t.j[f"b{int(i)}"]
        keep &= (b >= first) & (b <= last)
    return keep


def _by_segment(s: np.ndarray, values: np.ndarray) -> dict[int, float]:
    if not len(s):
        return {}
    sums = np.bincount(s, weights=values)
    present = np.bincount(s) > 0
    return {int(k): sums[k] for k in np.flatnonzero(present)}


def _int_sums(s: np.ndarray, n: np.ndarray) -> dict[int, int]:
    """Exact integer sums per segment (bincount's weights are doubles: exact only below 2**53)."""
    out: dict[int, int] = {}
    if not len(s):
        return out
    order = np.argsort(s, kind="stable")
    segs, starts = np.unique(s[order], return_index=True)
    totals = np.add.reduceat(n[order], starts)
    return {int(k): int(v) for k, v in zip(segs, totals)}


# -- answers -----------------------------------------------------------------------------------------
def segment_counts(store: Store, cube: Cube, brush: Brush) -> dict[int, int]:
    """Customers the brush selects, per segment (zeros left out)."""
    t = tables(store, cube)
    table = t.j if brush.ranges else t.m
    keep = _j_rows(t, brush) if brush.ranges else _m_rows(t, brush)
    return {s: n for s, n in _int_sums(table["s"][keep], table["n"][keep]).items() if n}


def histogram_counts(store: Store, cube: Cube, brush: Brush, features: list[str]
                     ) -> dict[str, dict[int, list[int]]]:
    """feature -> segment -> count per bin of the selected customers, for the features of the cube."""
    wanted = [f for f in features if f in cube.edges]
    if not wanted:
        return {}
    t = tables(store, cube)
    out: dict[str, dict[int, list[int]]] = {f: {} for f in wanted}
    if brush.ranges:
        keep = _j_rows(t, brush)
        s, n = t.j["s"][keep], t.j["n"][keep]
        for f in wanted:
            _add(out[f], s, t.j[f"b{cube.features.index(f)}"][keep], n, len(cube.edges[f]) - 1)
        return out
    if brush.cells is not None or brush.lasso is not None:
        table = t.xy
        keep = _cells(table["xb"], table["yb"], brush)
    elif brush.bins is not None:
        table = t.f
        keep = (table["a"] == brush.feature) & (table["ab"] >= brush.bins[0]) & (table["ab"] <= brush.bins[1])
    else:  # no brush: each feature's own diagonal holds its histogram
        table = t.f
        keep = table["a"] == table["g"]
    keep &= _segments(table, brush) & (table["gb"] >= 0)
    g, gb, s, n = table["g"][keep], table["gb"][keep], table["s"][keep], table["n"][keep]
    for f in wanted:
        on = g == cube.features.index(f)
        _add(out[f], s[on], gb[on], n[on], len(cube.edges[f]) - 1)
    return out


def _add(into: dict[int, list[int]], s: np.ndarray, b: np.ndarray, n: np.ndarray, bins: int) -> None:
    """Counts n summed per (segment, bin), bins below 0 (missing values) left out."""
    ok = b >= 0
    s, b, n = s[ok], b[ok], n[ok]
    for seg in np.unique(s):
        on = s == seg
        counts = np.zeros(bins, dtype=np.int64)
        np.add.at(counts, b[on], n[on])
        into[int(seg)] = counts.tolist()


def segment_means(store: Store, cube: Cube, brush: Brush) -> dict[int, tuple[int, dict[str, float | None]]]:
    """segment -> (customers selected, mean of every profile feature); segments without any left out."""
    t = tables(store, cube)
    table = t.j if brush.ranges else t.m
    keep = _j_rows(t, brush) if brush.ranges else _m_rows(t, brush)
    s = table["s"][keep]
    sizes = _int_sums(s, table["n"][keep])
    counts = [_int_sums(s, table[f"c_{j}"][keep]) for j in range(len(cube.moments))]
    sums = [_by_segment(s, table[f"t_{j}"][keep]) for j in range(len(cube.moments))]
    out = {}
    for seg in sorted(sizes):
        if not sizes[seg]:
            continue
        means = {}
        for j, enc in enumerate(cube.moments):
            c = counts[j].get(seg, 0)
            means[enc] = float(sums[j][seg]) / c if c else None
        out[seg] = (sizes[seg], means)
    return out
