"""Lasso geometry for the region filter: simplifying a freehand path, and its even-odd SQL test.

Kept apart from core/filters.py because it is numeric geometry, not filter bookkeeping; the region
kind there calls `simplify` when it parses a lasso and `lasso_sql` when it builds its WHERE.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from core.bins import bin_sql
from core.models import X, Y

LASSO_VERTICES = 32  # vertices used in SQL; longer paths are simplified (simplify)
SIMPLIFY_TOLERANCE = 0.004  # of the lasso's size (bounding-box diagonal): closer points are dropped
LASSO_PLAIN_EDGES = 8  # up to this many edges the exact test runs alone; beyond, a raster decides first
LASSO_GRID = 64  # raster cells per side (at most 64: a column's rows are one 64-bit mask)
_CELL_MARGIN = 0.01  # of a cell: an edge this close to a cell makes it a boundary cell


def simplify(points: list[tuple[float, float]], n: int) -> list[tuple[float, float]]:
    """At most n vertices that follow the drawn path closely (Douglas-Peucker, best point first).

    The lasso's SQL costs time per edge on every row, so a long freehand path is reduced to the
    vertices that matter: starting from the two points farthest apart, the point farthest from the
    current outline is added until there are n vertices or none is farther than SIMPLIFY_TOLERANCE
    of the lasso's size. A path of at most n points is kept as drawn (so parsing is idempotent).
    """
    if len(points) <= n:
        return points
    pts = np.asarray(points, dtype=np.float64)
    span = float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0))))
    first = 0
    far = int(np.argmax(np.hypot(*(pts - pts[first]).T)))
    if far == first:
        return points[:3]
    ring = np.vstack([pts, pts[:1]])  # close the path: index len(pts) is the first point again
    end = len(pts)
    heap: list[tuple[float, int, int, int]] = []

    def push(i: int, j: int) -> None:
        if j - i < 2:
            return
        d, k = _farthest(ring, i, j)
        heapq.heappush(heap, (-d, i, j, k))

    keep = {first, far}
    push(first, far)
    push(far, end)
    while heap and len(keep) < n:
        d, i, j, k = heapq.heappop(heap)
        if -d <= SIMPLIFY_TOLERANCE * span:
            break
        keep.add(k)
        push(i, k)
        push(k, j)
    return [points[i] for i in sorted(keep)]


def _farthest(ring: np.ndarray, i: int, j: int) -> tuple[float, int]:
    """The point strictly between i and j farthest from the segment ring[i]-ring[j], and its distance."""
    a, b = ring[i], ring[j]
    mid = ring[i + 1 : j]
    ab = b - a
    length2 = float(ab @ ab)
    if length2 == 0.0:
        dist = np.hypot(*(mid - a).T)
    else:
        t = np.clip((mid - a) @ ab / length2, 0.0, 1.0)
        dist = np.hypot(*(mid - (a + t[:, None] * ab)).T)
    k = int(np.argmax(dist))
    return float(dist[k]), i + 1 + k


def lasso_sql(pts: list[tuple[float, float]]) -> tuple[str, list]:
    """Even-odd ray casting: one term per non-horizontal edge, behind a bounding-box test.

    The per-edge test costs time on every row it sees, so for more than LASSO_PLAIN_EDGES edges a
    LASSO_GRID x LASSO_GRID raster over the bounding box decides most rows first: cells that no edge
    comes near are wholly inside (1) or outside (0) and need one list lookup; only rows in cells an
    edge crosses (2) run the exact test. The result is the same as the exact test alone. The raster is
    bound as two lists of one 64-bit mask per column (inside rows, boundary rows): small constants
    with a shift and a bit test per row are cheaper than a list of n * n classes.
    """
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    terms, exact_params = [], []
    for (xi, yi), (xj, yj) in zip(pts, pts[1:] + pts[:1]):
        if yi == yj:
            continue
        slope = (xj - xi) / (yj - yi)
        terms.append(f"CASE WHEN {Y} >= ? AND {Y} < ? AND {X} < ? + ? * ({Y} - ?) THEN 1 ELSE 0 END")
        exact_params += [min(yi, yj), max(yi, yj), xi, slope, yi]
    if not terms or x1 <= x0:  # no area: nothing is inside
        return "FALSE", []
    box = f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?"
    exact = f"({' + '.join(terms)}) % 2 = 1"
    if len(terms) <= LASSO_PLAIN_EDGES:
        return f"({box} AND {exact})", [x0, x1, y0, y1] + exact_params
    n = LASSO_GRID
    cw, ch = (x1 - x0) / n, (y1 - y0) / n
    classes = _lasso_cells(pts, x0, y0, cw, ch, n)
    # one bit per cell: per raster column, a mask of the inside rows and one of the boundary rows
    bits = np.uint64(1) << np.arange(n, dtype=np.uint64)
    inside = [int(v) for v in ((classes == 1) * bits).sum(axis=1, dtype=np.uint64)]
    boundary = [int(v) for v in ((classes == 2) * bits).sum(axis=1, dtype=np.uint64)]
    # clamped before the cast, so NaN or infinite coordinates cannot fail it (the box excludes them)
    col = f"greatest(least(floor(({X} - ?) / ?), {n - 1}), 0)::BIGINT"
    row = f"greatest(least(floor(({Y} - ?) / ?), {n - 1}), 0)::BIGINT"
    bit = f"((((?::UBIGINT[])[1 + {col}]) >> {row}) & 1) = 1"
    return (
        f"({box} AND ({bit} OR ({bit} AND {exact})))",
        [x0, x1, y0, y1, inside, x0, cw, y0, ch, boundary, x0, cw, y0, ch] + exact_params,
    )


@dataclass(frozen=True)
class GridCells:
    """A lasso snapped to the scatter's grid of the run's pre-aggregated tables (core/aggregates.py): the
    cells whose centre it encloses. Rows are in a cell by the tables' own binning (core/bins.py), so the
    rows this selects are exactly the customers the tables count for those cells."""

    x_edges: tuple[float, ...]
    y_edges: tuple[float, ...]
    cells: tuple[int, ...]  # x bin * (len(y_edges) - 1) + y bin


def grid_cells_sql(grid: GridCells) -> tuple[str, list]:
    """Rows in the grid's cells: the bounding box of the cells first (a superset, cheap), then the row's
    cell by the tables' binning, tested against one 64-bit mask of y bins per x bin."""
    n = len(grid.y_edges) - 1
    if not grid.cells or n > 64:
        return "FALSE", []
    masks = [0] * (len(grid.x_edges) - 1)
    cols, rows = zip(*(divmod(c, n) for c in grid.cells))
    for c, r in zip(cols, rows):
        masks[c] |= 1 << r
    bx, bx_p = bin_sql(X, grid.x_edges)
    by, by_p = bin_sql(Y, grid.y_edges)
    box = f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?"
    box_p = [grid.x_edges[min(cols)], grid.x_edges[max(cols) + 1], grid.y_edges[min(rows)], grid.y_edges[max(rows) + 1]]
    test = f"((((?::UBIGINT[])[1 + {bx}]) >> ({by})::UBIGINT) & 1) = 1"
    return f"({box} AND isfinite({X}) AND isfinite({Y}) AND {test})", box_p + [masks] + bx_p + by_p


def grid_outline(grid: GridCells) -> list[tuple[float, float, float, float]]:
    """The border of the grid's cells as line segments (x0, y0, x1, y1): each side of a chosen cell whose
    neighbour across it is not chosen, so the scatter can draw what the snapped lasso selects."""
    n = len(grid.y_edges) - 1
    chosen = np.zeros((len(grid.x_edges) + 1, n + 2), dtype=bool)  # padded by one cell all round
    for c in grid.cells:
        chosen[c // n + 1, c % n + 1] = True
    xe, ye = grid.x_edges, grid.y_edges
    out = []
    for i, j in zip(*np.nonzero(chosen)):
        x0, x1, y0, y1 = xe[i - 1], xe[i], ye[j - 1], ye[j]
        if not chosen[i - 1, j]:
            out.append((x0, y0, x0, y1))
        if not chosen[i + 1, j]:
            out.append((x1, y0, x1, y1))
        if not chosen[i, j - 1]:
            out.append((x0, y0, x1, y0))
        if not chosen[i, j + 1]:
            out.append((x0, y1, x1, y1))
    return out


def centres_inside(pts: list[tuple[float, float]], cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """[i, j]: whether the point (cx[i], cy[j]) is inside the polygon (even-odd, as lasso_sql)."""
    px, py = np.meshgrid(np.asarray(cx, dtype=np.float64), np.asarray(cy, dtype=np.float64), indexing="ij")
    inside = np.zeros(px.shape, dtype=bool)
    for (xi, yi), (xj, yj) in zip(pts, pts[1:] + pts[:1]):
        if yi == yj:
            continue
        slope = (xj - xi) / (yj - yi)
        inside ^= (py >= min(yi, yj)) & (py < max(yi, yj)) & (px < xi + slope * (py - yi))
    return inside


def _lasso_cells(
    pts: list[tuple[float, float]], x0: float, y0: float, cw: float, ch: float, n: int
) -> np.ndarray:
    """Cell classes [col, row]: 2 where an edge passes within _CELL_MARGIN of the cell,
    else 1 inside / 0 outside by the even-odd test of the cell's centre (parity only changes across
    an edge, and the margin covers rounding in the SQL's cell arithmetic)."""
    boundary = np.zeros((n, n), dtype=bool)
    mx, my = cw * _CELL_MARGIN, ch * _CELL_MARGIN
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        if ax > bx:
            ax, ay, bx, by = bx, by, ax, ay
        c_lo = max(0, int(math.floor((ax - mx - x0) / cw)))
        c_hi = min(n - 1, int(math.floor((bx + mx - x0) / cw)))
        for c in range(c_lo, c_hi + 1):
            # the part of the edge within this column, widened by the margin
            sx0, sx1 = max(ax, x0 + c * cw - mx), min(bx, x0 + (c + 1) * cw + mx)
            if bx == ax:
                ya, yb = ay, by
            else:
                t = (by - ay) / (bx - ax)
                ya, yb = ay + t * (sx0 - ax), ay + t * (sx1 - ax)
            r_lo = max(0, int(math.floor((min(ya, yb) - my - y0) / ch)))
            r_hi = min(n - 1, int(math.floor((max(ya, yb) + my - y0) / ch)))
            boundary[c, r_lo : r_hi + 1] = True
    inside = centres_inside(pts, x0 + (np.arange(n) + 0.5) * cw, y0 + (np.arange(n) + 0.5) * ch)  # [col, row]
    return np.where(boundary, 2, inside.astype(np.uint8))
