"""Bin-seek grid pages (core/grid_seek.py) equal the plain `ORDER BY ... LIMIT ... OFFSET` query, row for
row, on a real DuckDB file: random filters, depths (first page, last page, pages across bin boundaries),
directions and multi-key sorts over integer, double (NaN, +-inf, NULL), DECIMAL, DATE, BIGINT, BOOLEAN
and text columns. Small bins and read limits make every page go through the splitting paths."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import numpy as np
import pandas as pd
import pytest

from core import grid_seek, views
from core.models import ROW, SEGMENT
from core.store import new_id, quote_ident, run_table

N = 3000
NAMES = ["Delta", "alpha", "Charlie", "Bravo"]  # not in sorted order
COLUMNS = ["i", "d", "m", "dt", "big", "flag", "t", "code", "same", "tm"]
BINNABLE = ["i", "d", "m", "dt", "big", "flag", "t", "code", "same", ROW, SEGMENT, views.SEGMENT_NAME]
SMALL = {"bins": 8, "max_read": 60}  # tiny bins and reads: splits, ties and fallbacks on 3,000 rows
LABEL = f"(?::VARCHAR[])[{SEGMENT}] AS {views.SEGMENT_NAME}"


@pytest.fixture
def table(store):
    """A run-shaped table (rows stored in shuffled order) and its column types."""
    rng = np.random.default_rng(11)
    d = rng.normal(50, 20, N).round(2)
    d[rng.choice(N, 90, replace=False)] = np.nan
    d[rng.choice(N, 400, replace=False)] = 50.0  # a heavy tie inside one bin
    d[:3], d[3:5] = np.inf, -np.inf
    d[5:60], d[60:120] = -0.0, 0.0  # equal in DuckDB's order: ties, ordered by the next keys
    frame = pd.DataFrame({
        ROW: rng.permutation(np.arange(1, N + 1)),
        SEGMENT: rng.integers(1, 5, N),
        "i": rng.choice([1, 2, 3, 5, 8, 13], N, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05]).astype(float),
        "d": d,
        "d_null": rng.random(N) < 0.05,
        "m": rng.uniform(-1000, 1000, N).round(3),
        "days": rng.integers(0, 4000, N),
        "big": (2**60 + rng.integers(0, 40, N)).astype("int64"),  # equal as doubles, different as BIGINT
        "flag": rng.random(N) < 0.3,
        "t": rng.choice(["north", "south", "east", "west", "Zed", "", "é-accent", "northern"], N),
        # text ids sharing their first 9 bytes, with a few non-ASCII ones
        "code": [f"CUSTOMER-{int(v):05d}" + ("ü" if v % 7 == 0 else "") for v in rng.integers(0, 20000, N)],
        "same": np.ones(N),
    })
    frame.loc[rng.random(N) < 0.06, "i"] = np.nan  # NULLs in an integer column
    frame.loc[rng.random(N) < 0.05, ["m", "days", "t", "code"]] = np.nan
    name = run_table(new_id())
    with store.transaction() as cur:
        cur.register("frame_view", frame)
        cur.execute(f"""
            CREATE TABLE {name} AS SELECT {ROW}::BIGINT AS {ROW}, {SEGMENT}::INTEGER AS {SEGMENT},
                i::INTEGER AS i, CASE WHEN d_null THEN NULL ELSE d END AS d, m::DECIMAL(12, 3) AS m,
                DATE '2015-01-01' + days::INTEGER AS dt, big, flag, t, code, same,
                make_time(days::INTEGER % 24, 0, 0) AS tm
            FROM frame_view""")
        types = dict(cur.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = ?", [name]).fetchall())
    return name, types


FILTERS = [
    ("TRUE", []),
    (f"{SEGMENT} IN (?, ?)", [2, 4]),
    ("d > ?", [40.0]),
    ("i IN (1, 3) OR m < ?", [-500]),
    ("dt BETWEEN ? AND ?", [dt.date(2016, 1, 1), dt.date(2020, 6, 30)]),
    ("t <> ?", ["east"]),
]


def select_list(types) -> list[str]:
    return [quote_ident(c) for c in COLUMNS] + [ROW, SEGMENT, LABEL]


def plain(store, table, where, params, keys, start, stop) -> list[tuple]:
    """The expected page: the whole selection sorted, skipped to `start` (the query grid_page ran)."""
    order = ", ".join(f"{q} {'ASC' if asc else 'DESC'} NULLS LAST" for q, asc in keys)
    with store.cursor() as cur:
        return cur.execute(
            f"SELECT {', '.join(select_list(None))} FROM {table} WHERE {where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            [NAMES] + params + [stop - start, start]).fetchall()


def seek(store, table, types, where, params, keys, start, stop, total, **kw) -> list[tuple]:
    return grid_seek.page_rows(store, table, types, where, params, keys, select_list(types), NAMES,
                               start, stop, total, **{**SMALL, **kw})


def comparable(rows: list[tuple]) -> list[tuple]:
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]


def selected(store, table, where, params) -> int:
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0]


def keys_of(*sort: tuple[str, bool]) -> list[tuple[str, bool]]:
    return [(quote_ident(c) if c not in (ROW, SEGMENT) else c, asc) for c, asc in sort] + [(ROW, True)]


@pytest.fixture
def no_plain(monkeypatch):
    """Fail if a page falls back to the whole-selection query."""
    def refuse(*_a, **_k):
        raise AssertionError("the page was read by the plain query")
    monkeypatch.setattr(grid_seek, "plain_rows", refuse)


def test_random_pages_equal_the_plain_query(store, table):
    name, types = table
    rng = np.random.default_rng(5)
    cols = BINNABLE + ["tm"]
    for case in range(160):
        where, params = FILTERS[case % len(FILTERS)]
        total = selected(store, name, where, params)
        first = BINNABLE[case % len(BINNABLE)]  # every binnable first key, in turn
        rest = [str(c) for c in rng.choice(cols, int(rng.integers(0, 3)), replace=False) if c != first]
        keys = keys_of(*[(c, bool(rng.integers(0, 2))) for c in [first] + rest])
        size = int(rng.choice([1, 7, 50, 100, 500]))
        start = int(rng.choice([0, max(0, total - size), int(rng.integers(0, total))]))
        stop = min(total, start + size)
        got = seek(store, name, types, where, params, keys, start, stop, total)
        want = plain(store, name, where, params, keys, start, stop)
        assert len(want) == stop - start
        assert comparable(got) == comparable(want), (case, where, keys, start, stop)


@pytest.mark.parametrize("sort", [
    [("d", True)], [("d", False)], [("i", False), ("m", True)], [("m", False)], [("dt", True), ("t", False)],
    [("big", False)], [("flag", True), ("d", False)], [("same", True), ("i", True)], [(ROW, False)],
    [("t", True)], [("code", False)], [(views.SEGMENT_NAME, False), ("m", True)],
])
def test_consecutive_pages_walk_the_whole_selection_in_order(store, table, no_plain, sort):
    """Every page boundary, so pages start inside bins, on their edges and across them."""
    name, types = table
    where, params = FILTERS[2]
    total = selected(store, name, where, params)
    keys = keys_of(*sort)
    got = []
    for start in range(0, total, 37):
        got += seek(store, name, types, where, params, keys, start, min(total, start + 37), total)
    assert comparable(got) == comparable(plain(store, name, where, params, keys, 0, total))


def test_nulls_nan_and_infinities_sort_as_duckdb_sorts_them(store, table, no_plain):
    name, types = table
    total = selected(store, name, "TRUE", [])
    for asc in (True, False):
        keys = keys_of(("d", asc))
        rows = seek(store, name, types, "TRUE", [], keys, 0, total, total, max_read=100)
        d = [r[1] for r in rows]
        nulls = sum(v is None for v in d)
        assert nulls > 0 and all(v is None for v in d[total - nulls:])  # NULLs last either way
        values = d[: total - nulls]
        nan = [i for i, v in enumerate(values) if math.isnan(v)]
        # NaN sorts above +inf: at the end ascending, at the start descending
        assert nan == (list(range(len(values) - len(nan), len(values))) if asc else list(range(len(nan))))
        finite = [v for v in values if not math.isnan(v)]
        assert finite == sorted(finite, reverse=not asc) and math.inf in finite and -math.inf in finite


@pytest.mark.parametrize("column", ["m", "code", "t", views.SEGMENT_NAME])
def test_reads_stay_bounded_when_bins_can_split(store, table, column):
    """A piece reads the page's own rows plus at most max_read rows of each partly used bin at its ends,
    when the key's values can be told apart."""
    name, types = table
    scan = grid_seek._Scan(store, [], 32, 60)
    keys = keys_of((column, True))
    columns = grid_seek._key_columns(keys, types, NAMES)
    total = selected(store, name, "TRUE", [])
    for start in (0, 1234, total - 100):
        pieces = grid_seek._locate(scan, name, "TRUE", keys, columns, 0, [], [], start, start + 100, 0, None)
        assert sum(limit for _, _, _, limit in pieces) == 100
        for conds, values, offset, limit in pieces:
            n = selected(store, name, " AND ".join(conds or ["TRUE"]), values)
            assert offset + limit <= n <= limit + 2 * 60


def test_other_first_keys_and_small_selections_take_the_plain_query(store, table, monkeypatch):
    name, types = table
    calls = []
    real = grid_seek.plain_rows
    monkeypatch.setattr(grid_seek, "plain_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    total = selected(store, name, "TRUE", [])
    for first, max_read in (("tm", 60), ("d", total)):
        keys = keys_of((first, False))
        got = seek(store, name, types, "TRUE", [], keys, 900, 1000, total, max_read=max_read)
        assert comparable(got) == comparable(plain(store, name, "TRUE", [], keys, 900, 1000))
    assert len(calls) == 2


def test_empty_ranges_and_cached_histograms_give_the_same_rows(store, table):
    name, types = table
    where, params = "d < ?", [-1e9]  # only -inf
    total = selected(store, name, where, params)
    assert total == 2
    keys = keys_of(("d", True))
    assert seek(store, name, types, where, params, keys, 0, 2, total, max_read=1) == plain(
        store, name, where, params, keys, 0, 2)
    keys = keys_of(("m", False), ("i", True))
    first = seek(store, name, types, "TRUE", [], keys, 2000, 2100, N)
    again = seek(store, name, types, "TRUE", [], keys, 2000, 2100, N)  # histograms from the cache
    want = plain(store, name, "TRUE", [], keys, 2000, 2100)
    assert comparable(first) == comparable(again) == comparable(want)


# -- through grid_page --------------------------------------------------------------------------------
def test_grid_page_seeks_and_keeps_its_output(store, make_run, frames, monkeypatch, no_plain):
    frame = frames.synthetic(2000, k=4, seed=3)
    frame.loc[frame.index % 17 == 0, "spend"] = np.nan
    run = make_run(frame, id_column="id", features=["age", "spend"])
    monkeypatch.setattr(grid_seek, "BINS", 8)
    monkeypatch.setattr(grid_seek, "MAX_READ_ROWS", 50)
    spec = views.parse_spec(store, {"run_id": run.run_id, "ranges": {"age": [25, 60]}})
    ctx, where, params = views.run_where(store, spec)
    fields = [c for c in ctx.columns] + [ROW, SEGMENT, views.SEGMENT_NAME]
    for sort, start in (([{"colId": "spend", "sort": "desc"}], 0), ([{"colId": "age", "sort": "asc"}], 733),
                        ([{"colId": "id", "sort": "desc"}, {"colId": "region", "sort": "asc"}], 1001)):
        page, total = views.grid_page(store, spec, start, start + 100, sort)
        order = ", ".join(f"{quote_ident(s['colId'])} {s['sort'].upper()} NULLS LAST" for s in sort)
        with store.cursor() as cur:
            want = cur.execute(
                f"SELECT {ROW}, spend FROM {run_table(run.run_id)} WHERE {where} ORDER BY {order}, {ROW} "
                "LIMIT 100 OFFSET ?", params + [start]).fetchall()
            assert total == cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE {where}",
                                        params).fetchone()[0]
        assert [(r[ROW], r["spend"]) for r in page] == [(w[0], None if w[1] is None or math.isnan(w[1])
                                                          else w[1]) for w in want]
        assert list(page[0]) == fields + ["__filled"]
        assert page[0][views.SEGMENT_NAME] == ctx.segment_name(page[0][SEGMENT])


def test_text_keys_with_few_values_group_by_value_and_others_bin(store, table):
    name, types = table
    keys = keys_of(("t", True), ("code", True))
    cols = dict(zip(["t", "code"], grid_seek._key_columns(keys, types, NAMES)))
    assert grid_seek._key_bounds(store, name, cols["t"][0], "text", cols["t"][2])[2] == -1  # 8 values
    assert grid_seek._key_bounds(store, name, cols["code"][0], "text", cols["code"][2])[2] == 9  # CUSTOMER-


def test_bins_are_exact_intervals_of_each_type(store, table, no_plain):
    """DECIMAL bins go back into SQL as their own Decimal values (no float rounding); DATE and integer
    bins as whole numbers (days since 1970 for dates)."""
    name, types = table
    assert types["m"].startswith("DECIMAL") and types["dt"] == "DATE" and types["i"] == "INTEGER"
    scan = grid_seek._Scan(store, [], 8, 60)
    for col, kind in (("m", decimal.Decimal), ("dt", int), ("i", int)):
        keys = keys_of((col, True))
        columns = grid_seek._key_columns(keys, types, NAMES)
        pieces = grid_seek._locate(scan, name, "TRUE", keys, columns, 0, [], [], 500, 600, 0, None)
        assert pieces and all(type(v) is kind for _, values, _, _ in pieces for v in values)


@pytest.mark.slow
def test_the_benchmark_runs_at_a_tiny_size(tmp_path, capsys):
    """bench/grid_seek_bench.py end to end on 3,000 customers (no timing asserted): both modes give the
    same pages, and the report is written."""
    from bench import grid_seek_bench

    assert grid_seek_bench.main(["--rows", "3000", "--pages", "6", "--repeats", "1", "--max-read", "100",
                                 "--folder", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "grid_seek_results.json").read_text())
    assert report["results"]["identical_pages"] is True
    assert set(report["results"]) >= {f"{mode}, {policy}" for mode in ("before", "after")
                                      for policy in ("cold", "sort change")}
    assert grid_seek.MAX_READ_ROWS == 200_000  # restored


def test_first_unsorted_pages_read_the_table_start_only_when_it_is_in_row_order(store, table):
    name, _ = table
    where, params = "i > ?", [1]
    with store.cursor() as cur:
        expected = [r[0] for r in cur.execute(f"SELECT {ROW} FROM {name} WHERE i > 1 ORDER BY {ROW} LIMIT 50").fetchall()]
        # the fixture's rows are stored shuffled: the head read cannot prove its rows are the first ones
        assert grid_seek._head(store, name, where, params, 50) is None
        ordered = run_table(new_id())
        cur.execute(f"CREATE TABLE {ordered} AS SELECT * FROM {name} ORDER BY {ROW}")
    assert grid_seek._head(store, ordered, where, params, 50) == expected
    assert grid_seek._head(store, ordered, "i > 1000", [], 50) == []


def test_first_pages_from_a_bounded_read_are_the_first_rows_in_any_table_order(store, table):
    """_bounded_head reads the rows up to a __row bound once: on a shuffled table its page equals the
    plain ORDER BY __row LIMIT (or it gives up, None), for dense, sparse and uneven selections."""
    name, _ = table
    select = [ROW, "d", f"(?::VARCHAR[])[{SEGMENT}] AS name"]
    answered = 0
    with store.cursor() as cur:
        for where, params in (("i > ?", [1]), ("i = ?", [13]), ("m BETWEEN ? AND ?", [-5.0, 5.0]),
                              (f"{ROW} > ?", [N // 2]), ("d > ?", [1e9])):
            total = cur.execute(f"SELECT count(*) FROM {name} WHERE {where}", params).fetchone()[0]
            for stop in (1, 50, 300):
                expected = cur.execute(f"SELECT {', '.join(select)} FROM {name} WHERE {where} ORDER BY {ROW} LIMIT ?",
                                       [NAMES] + params + [stop]).fetchall()
                got = grid_seek._bounded_head(store, name, where, params, stop, total, select, NAMES)
                if got is not None:
                    answered += 1
                    assert got == expected, (where, stop)
        # uneven: every selected row sits at the table's end, so the evenly spread bound finds too few
        assert grid_seek._bounded_head(store, name, f"{ROW} > ?", [N - 400], 50, 400, select, NAMES) is None
        # ... or only some of them: fewer than the page below the bound is no answer either
        few = f"({ROW} > ? OR {ROW} < ?)"
        assert grid_seek._bounded_head(store, name, few, [N - 400, 20], 50, 419, select, NAMES) is None
    assert answered >= 5
