"""Pre-aggregated binned tables of a run (data tiles, after Mosaic and Falcon): brushes answer from small
tables instead of scanning every customer. Built once per run by core/aggregates_build.py.

Per run, beside run_<id>:
- agg_<id>_f   (a, ab, g, gb, s, n): customers per bin `ab` of brushed feature `a`, bin `gb` of feature `g`
               and segment `s` (every ordered pair of the cube's features, a == g included);
- agg_<id>_xy  (xb, yb, g, gb, s, n): the same for a cell (xb, yb) of the scatter plane;
- agg_<id>_m   (a, ab, ab2, s, n, c_j, t_j, q_j): per bin of a feature (a >= 0) or cell of the plane
               (a = -1, ab = xb, ab2 = yb) and segment: customers, and per profile feature j its
               non-missing count, sum and sum of squares (means are sums over counts: exact);
- agg_<id>_sample: per segment the rows with the smallest hash(__row) (the scatter's own order), so the
               scatter's sample is read from a few hundred thousand rows instead of all of them;
- agg_<id>_meta: this module's Cube as JSON (features, bin edges, sample sizes).

Exact by construction: a brush the dashboard draws is snapped to whole bins (`snap`): a histogram brush
to whole bars (the histogram's own edges), a scatter box to whole cells of a GRID_BINS x GRID_BINS grid.
A snapped range [edge_i, just below edge_j] selects with the ordinary SQL `BETWEEN` exactly the rows the
build counted in bins i..j-1 (the build bins every value against the same edge list, so floating point
rounding cannot put a row in a different bin). A lasso selects the grid cells whose centre it encloses
(core.filters parses it so; its rows are found by the same binning, core/bins.py, so again the rows it
selects are the ones the tables count). Any other filter (categories, a range with a box, an unsnapped
slider value, ...) is answered from the rows as before: `brush_of` returns None.
"""
from __future__ import annotations

import json
import math
import threading
import weakref
from dataclasses import dataclass, replace

import numpy as np

from core.bins import bin_parts
from core.filters import FilterSpec, Region
from core.lasso import GridCells, centres_inside
from core.models import SEGMENT, X, Y
from core.sampling import MIN_POINTS_PER_SEGMENT
from core.store import AGG_PARTS as PARTS, Store, agg_table, quote_ident, run_table

CUBE_BINS = 30  # the dashboard's histogram bins: a brush on a histogram selects whole bars
GRID_BINS = 64  # cells per axis of the scatter plane: a box snaps to 1/64 of each axis
MAX_CUBE_FEATURES = 8  # pairs grow with the square: 8 features = 64 (brushed, shown) pairs
SAMPLE_PER_SEGMENT = 100_000  # rows per segment kept in the scatter's sample table
ENOUGH_POINTS = 1_000  # a scatter drawn from the sample table needs at least this many selected points
JOINT_MAX_CELLS = 500_000  # the joint table (every feature's bin at once) is kept up to this many cells
CUBE_VERSION = 3  # of agg_<run>_meta; a cube of another version is ignored (views read the rows)
# Kinds a cube answers; any other active kind sends the view to the rows.
_CUBE_KINDS = {"segments", "ranges", "region"}


@dataclass(frozen=True)
class Cube:
    """What the build stored: the features binned, their edges, the plane's edges, the profile features."""

    run_id: str
    features: tuple[str, ...]  # index = the code a / g of the tables
    edges: dict[str, tuple[float, ...]]  # feature -> CUBE_BINS + 1 edges (or one per integer value)
    x_edges: tuple[float, ...]
    y_edges: tuple[float, ...]
    moments: tuple[str, ...]  # encoded profile features, j = index
    moment_columns: tuple[tuple[str, str | None], ...]  # per moment: its column and one-hot level (or None)
    sample_rows: dict[int, int]  # segment -> rows in the sample table
    totals: dict[int, int]  # segment -> rows of the run
    joint: bool = False  # agg_<id>_j holds (s, b0, b1, ...): any set of range brushes at once

    def to_json(self) -> str:
        d = dict(self.__dict__, version=CUBE_VERSION)
        d["sample_rows"] = {str(k): v for k, v in self.sample_rows.items()}
        d["totals"] = {str(k): v for k, v in self.totals.items()}
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> "Cube":
        d = json.loads(text)
        if d.get("version") != CUBE_VERSION:
            raise ValueError("a cube of another version")
        return cls(
            run_id=d["run_id"], features=tuple(d["features"]),
            edges={k: tuple(v) for k, v in d["edges"].items()},
            x_edges=tuple(d["x_edges"]), y_edges=tuple(d["y_edges"]), moments=tuple(d["moments"]),
            moment_columns=tuple((c, lvl) for c, lvl in d["moment_columns"]),
            sample_rows={int(k): int(v) for k, v in d["sample_rows"].items()},
            totals={int(k): int(v) for k, v in d["totals"].items()}, joint=bool(d["joint"]),
        )

    def table(self, part: str) -> str:
        return agg_table(self.run_id, part)

    def sample_complete(self, segment: int) -> bool:
        return self.sample_rows.get(segment, 0) >= self.totals.get(segment, 0)


@dataclass(frozen=True)
class Brush:
    """A filter a cube answers: the segments chosen and at most one snapped brush (bins inclusive)."""

    segments: tuple[int, ...]
    feature: int | None = None  # index into Cube.features for a histogram brush
    bins: tuple[int, int] | None = None  # first and last bin of the feature
    cells: tuple[int, int, int, int] | None = None  # x0, x1, y0, y1 cells of a scatter box
    lasso: "Lasso | None" = None  # a lasso snapped to the grid: the cells whose centre it encloses
    ranges: tuple[tuple[int, int, int], ...] = ()  # several range brushes (feature, first, last): joint table


@dataclass(frozen=True)
class Lasso:
    points: tuple[tuple[float, float], ...]
    inside: tuple[int, ...]  # cells (xb * GRID_BINS + yb) whose centre the lasso encloses


# -- edges and snapping --------------------------------------------------------------------------
def grid_edges(lo: float, hi: float, bins: int = GRID_BINS) -> tuple[float, ...]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        lo, hi = (lo - 0.5, lo + 0.5) if math.isfinite(lo) else (-0.5, 0.5)
    width = (hi - lo) / bins
    return tuple([lo + i * width for i in range(bins)] + [hi])


def range_of(edges: tuple[float, ...], first: int, last: int) -> tuple[float, float]:
    """The inclusive value range [low, high] that holds exactly bins first..last: from the first bin's
    lower edge to just below the next bin's lower edge (the last bin is closed at the maximum)."""
    top = len(edges) - 1
    hi = edges[top] if last >= top - 1 else math.nextafter(edges[last + 1], -math.inf)
    return edges[first], hi


def bins_of(edges: tuple[float, ...], lo: float, hi: float) -> tuple[int, int] | None:
    """The bins (first, last) a range holds exactly, or None when it does not fall on the edges."""
    top = len(edges) - 1
    for first in _candidates(edges, lo):
        for last in _candidates(edges, hi):
            if first <= last < top and range_of(edges, first, last) == (lo, hi):
                return first, last
    return None


def _candidates(edges: tuple[float, ...], v: float) -> list[int]:
    width = (edges[-1] - edges[0]) / (len(edges) - 1)
    i = int(math.floor((v - edges[0]) / width)) if width > 0 and math.isfinite(v) else 0
    return [j for j in (i - 1, i, i + 1) if 0 <= j < len(edges) - 1]


def snap_pair(edges: tuple[float, ...], lo: float, hi: float) -> tuple[float, float]:
    """A brushed [lo, hi] moved to the nearest bin edges (at least one bin), as an exact range."""
    top = len(edges) - 1
    width = (edges[-1] - edges[0]) / top
    first = min(max(round((lo - edges[0]) / width), 0), top - 1)
    end = min(max(round((hi - edges[0]) / width), first + 1), top)
    return range_of(edges, first, end - 1)


def snap(cube: Cube | None, spec: FilterSpec, range_columns: list[str], box: bool) -> FilterSpec:
    """The spec with the ranges of `range_columns` (just brushed on a histogram) and, when `box`, the
    scatter's box moved to whole bins of the cube, so the cube answers exactly."""
    if cube is None:
        return spec
    ranges = dict(spec.ranges)
    for col in range_columns:
        if col in ranges and col in cube.edges:
            ranges[col] = snap_pair(cube.edges[col], *ranges[col])
    region = spec.region
    if box and region is not None and region.kind == "box":
        region = Region("box", snap_pair(cube.x_edges, *region.x), snap_pair(cube.y_edges, *region.y))
    return replace(spec, ranges=ranges, region=region)


def brush_of(cube: Cube | None, spec: FilterSpec) -> Brush | None:
    """The spec as a cube question, or None when the rows must answer it."""
    if cube is None or spec.run_id != cube.run_id:
        return None
    active = {key for key, value in spec.to_dict().items()
              if key != "run_id" and value not in (None, [], {}, ())}
    if not active <= _CUBE_KINDS or ("ranges" in active and "region" in active):
        return None
    segments = tuple(spec.segments)
    if len(spec.ranges) > 1:
        found = [(c, bins_of(cube.edges[c], *r)) for c, r in spec.ranges.items() if c in cube.edges]
        if not cube.joint or len(found) < len(spec.ranges) or any(b is None for _, b in found):
            return None
        return Brush(segments, ranges=tuple(sorted((cube.features.index(c), *b) for c, b in found)))
    if spec.ranges:
        (col, (lo, hi)), = spec.ranges.items()
        if col not in cube.edges:
            return None
        bins = bins_of(cube.edges[col], lo, hi)
        return Brush(segments, cube.features.index(col), bins) if bins else None
    if spec.region is not None:
        if spec.region.kind == "lasso":  # only a lasso the filter itself snapped (core.filters)
            grid = spec.region.grid
            if grid is None or grid.x_edges != cube.x_edges or grid.y_edges != cube.y_edges:
                return None
            return Brush(segments, lasso=Lasso(spec.region.points, grid.cells))
        bx, by = bins_of(cube.x_edges, *spec.region.x), bins_of(cube.y_edges, *spec.region.y)
        return Brush(segments, cells=(*bx, *by)) if bx and by else None
    return Brush(segments)


# -- loading -------------------------------------------------------------------------------------
_CUBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def load(store: Store, run_id: str) -> Cube | None:
    """The run's cube (cached per Store: a run never changes), or None when it has none."""
    with _LOCK:
        cubes = _CUBES.setdefault(store, {})
        if run_id in cubes:
            return cubes[run_id]
    cube = None
    with store.cursor() as cur:
        found = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [agg_table(run_id, "meta")]).fetchone()[0]
        if found:
            text = cur.execute(f"SELECT spec FROM {agg_table(run_id, 'meta')}").fetchone()[0]
            try:
                cube = Cube.from_json(text)
            except (KeyError, TypeError, ValueError):
                cube = None  # written by another version: the views read the rows until it is rebuilt
    with _LOCK:
        _CUBES.setdefault(store, {})[run_id] = cube
    return cube


def forget(store: Store, run_id: str | None = None) -> None:
    """Drop cached cubes (after a build or a delete; tests)."""
    with _LOCK:
        cubes = _CUBES.get(store, {})
        if run_id is None:
            cubes.clear()
        else:
            cubes.pop(run_id, None)


# -- answers: core/agg_memory.py (the tables in memory) -------------------------------------------
def enough(cube: Cube, got: dict[int, int], quota: dict[int, int], share: float = 0.9) -> bool:
    """True when the sample's points will do: at least `share` of the point budget (or ENOUGH_POINTS), and
    a point for every segment whose quota is above the per-segment floor (MIN_POINTS_PER_SEGMENT: a segment with a real part
    of the selection). When every segment got its quota the points are exactly the full table's (both
    keep the rows with the smallest hash); a thin sliver of a large segment (a few hundred of its
    customers in the selection) can get fewer of its points than its share, or none."""
    want = {s: q for s, q in quota.items() if q > 0}
    if any(got.get(s, 0) == 0 and q > MIN_POINTS_PER_SEGMENT and not cube.sample_complete(s)
           for s, q in want.items()):
        return False
    have = sum(min(got.get(s, 0), q) for s, q in want.items())
    # a uniform sample of the selection: 1,000 points show where it lies as faithfully as 16,000 (fewer,
    # not other points; the note says how many are shown); with 100,000 rows a segment in the sample,
    # only a selection under about 1% of a 2-million segment is sampled from the whole table
    return have >= min(share * sum(want.values()), ENOUGH_POINTS)


# -- the rows of a run, binned as the build bins them ----------------------------------------------
def value_sql(column: str, level: str | None, present: list[str]) -> str:
    """A profile feature's value per row as a DOUBLE: the number, or for a one-hot feature 1.0 where the
    column holds the level (one parameter: the level; NULL where the column is missing), so its mean is
    the level's share."""
    q = quote_ident(column, present)
    return f"{q}::DOUBLE" if level is None else f"({q}::VARCHAR = ?)::DOUBLE"


def binned_select(cube: Cube, where: str = "TRUE", where_params: list | None = None) -> tuple[str, list]:
    """Per row of the run (those `where` keeps): s, b<i> per cube feature, xb, yb (SMALLINT bins) and
    m<j> per profile feature, as avg() sees it (an infinity makes a mean undefined)."""
    features = list(cube.features)
    present = [c for c, _ in cube.moment_columns] + features
    nf = len(features)
    inner_sql, outer_sql = [f"{SEGMENT}::SMALLINT AS s"], ["s"]
    inner_p: list = []
    outer_p: list = []
    for i, f in enumerate(features):
        inner, i_p, outer, o_p = bin_parts(i, quote_ident(f, features), cube.edges[f])
        inner_sql.append(inner)
        outer_sql.append(f"({outer})::SMALLINT AS b{i}")
        inner_p += i_p
        outer_p += o_p
    inner, i_p, outer, o_p = bin_parts(nf, X, cube.x_edges)
    inner_sql.append(inner)
    outer_sql.append(f"({outer})::SMALLINT AS xb")
    inner_p += i_p
    outer_p += o_p
    inner, i_p, outer, o_p = bin_parts(nf + 1, Y, cube.y_edges)
    inner_sql.append(inner)
    outer_sql.append(f"({outer})::SMALLINT AS yb")
    inner_p += i_p
    outer_p += o_p
    for j, (col, level) in enumerate(cube.moment_columns):
        inner_sql.append(f"{value_sql(col, level, present)} AS m{j}")
        inner_p += [] if level is None else [level]
        outer_sql.append(f"m{j}")
    sql = (f"SELECT {', '.join(outer_sql)} FROM (SELECT {', '.join(inner_sql)} "
           f"FROM {run_table(cube.run_id)} WHERE {where})")
    return sql, outer_p + inner_p + list(where_params or [])


# -- lassos: snapped to whole cells of the grid, like a box -------------------------------------------
def lasso_cells(cube: Cube, points: tuple[tuple[float, float], ...]) -> Lasso:
    """The grid's cells whose centre (the middle of its edges) the lasso encloses (even-odd)."""
    xe, ye = np.asarray(cube.x_edges), np.asarray(cube.y_edges)
    inside = centres_inside(list(points), (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2)  # [x bin, y bin]
    cols, rows = np.nonzero(inside)
    return Lasso(tuple(points), tuple((cols * GRID_BINS + rows).tolist()))


def lasso_grid(cube: Cube, points: tuple[tuple[float, float], ...]) -> GridCells:
    """The lasso as the filter selects it on a run with tables (core.lasso.grid_cells_sql)."""
    return GridCells(cube.x_edges, cube.y_edges, lasso_cells(cube, points).inside)
