"""A lasso snapped to the grid (core/lasso.py GridCells): which cells, which rows, and its outline."""
from __future__ import annotations

import duckdb
import numpy as np

from core.aggregates import grid_edges
from core.bins import bin_of
from core.lasso import GridCells, centres_inside, grid_cells_sql, grid_outline


def test_centres_inside_a_square_by_hand():
    # cells of width 1 from 0 to 4: centres 0.5, 1.5, 2.5, 3.5; a square from 1 to 3 holds 1.5 and 2.5
    square = [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)]
    centres = np.arange(4) + 0.5
    inside = centres_inside(square, centres, centres)
    assert sorted(zip(*np.nonzero(inside))) == [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_grid_cells_sql_selects_exactly_the_rows_in_the_cells():
    rng = np.random.default_rng(5)
    xe, ye = grid_edges(-2.0, 3.0), grid_edges(-1.0, 1.0)
    x = np.concatenate([rng.uniform(-2, 3, 20000), np.asarray(xe), np.nextafter(np.asarray(xe), -np.inf)[1:]])
    y = np.concatenate([rng.uniform(-1, 1, 20000), rng.uniform(-1, 1, 2 * len(xe) - 1)])
    x[:10] = np.nan  # missing coordinates are never selected
    cells = tuple(sorted(set(rng.integers(0, 64 * 64, 900).tolist())))
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::DOUBLE[]) AS __x, unnest(?::DOUBLE[]) AS __y",
                [x.tolist(), y.tolist()])
    sql, params = grid_cells_sql(GridCells(xe, ye, cells))
    got = con.execute(f"SELECT count(*) FROM t WHERE {sql}", params).fetchone()[0]
    bx, by = bin_of(x, xe), bin_of(y, ye)
    expected = int(np.isin(bx * 64 + by, cells)[(bx >= 0) & (by >= 0)].sum())
    assert got == expected and got > 0
    assert grid_cells_sql(GridCells(xe, ye, ()))[0] == "FALSE"


def test_outline_of_an_l_shape_is_its_border():
    edges = (0.0, 1.0, 2.0)  # a 2 x 2 grid
    cells = (0 * 2 + 0, 1 * 2 + 0, 0 * 2 + 1)  # (0,0), (1,0), (0,1): an L
    segments = {tuple(float(v) for v in s) for s in grid_outline(GridCells(edges, edges, cells))}
    assert segments == {
        (0.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 2.0),  # left side
        (0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 2.0, 0.0),  # bottom
        (2.0, 0.0, 2.0, 1.0),  # right of (1,0)
        (1.0, 1.0, 2.0, 1.0),  # top of (1,0)
        (1.0, 1.0, 1.0, 2.0),  # right of (0,1)
        (0.0, 2.0, 1.0, 2.0),  # top of (0,1)
    }
