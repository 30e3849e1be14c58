"""core/bins.py: the one-expression bin and the build's two-step bin agree with each other and with numpy."""
from __future__ import annotations

import duckdb
import numpy as np

from core.aggregates import grid_edges
from core.bins import bin_of, bin_parts, bin_sql


def test_bin_sql_equals_the_builds_bins_and_numpy_on_edges_and_between_them():
    rng = np.random.default_rng(3)
    edges = grid_edges(-1.7, 2.3)
    # values on every edge, just below and above each, and random ones: where rounding could differ
    e = np.asarray(edges)
    values = np.concatenate([e, np.nextafter(e, -np.inf), np.nextafter(e, np.inf), rng.uniform(-1.7, 2.3, 5000)])
    values = values[(values >= edges[0]) & (values <= edges[-1])]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::DOUBLE[]) AS v", [values.tolist()])
    one, one_p = bin_sql("v", edges)
    inner, inner_p, outer, outer_p = bin_parts(0, "v", edges)
    got = con.execute(f"SELECT {one} AS a FROM t ORDER BY rowid", one_p).fetchnumpy()["a"]
    build = con.execute(f"SELECT {outer} AS b FROM (SELECT rowid AS r, {inner} FROM t) ORDER BY r",
                        outer_p + inner_p).fetchnumpy()["b"]
    assert np.array_equal(got, build)
    assert np.array_equal(got, bin_of(values, edges))
    assert got.min() == 0 and got.max() == len(edges) - 2  # the maximum falls in the last (closed) bin


def test_bin_of_puts_missing_values_in_bin_minus_one():
    assert bin_of(np.array([np.nan, np.inf, 0.5]), (0.0, 1.0)).tolist() == [-1, -1, 0]
