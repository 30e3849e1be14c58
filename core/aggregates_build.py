"""Building a run's pre-aggregated tables (core/aggregates.py says what they hold and why they are exact).

One transaction after the run is stored: the run's rows are binned once (every value against the same
edge list the dashboard's histograms draw, so no rounding can disagree), then two GROUPING SETS queries
count the (brushed bin, shown bin, segment) pairs and sum the profile features per bin. A run whose build
fails keeps working: the views read its rows.
"""
from __future__ import annotations

import logging

from core import aggregates
from core.aggregates import (CUBE_BINS, JOINT_MAX_CELLS, MAX_CUBE_FEATURES, SAMPLE_PER_SEGMENT, Cube, agg_table,
                             binned_select, grid_edges)
from core.models import ROW, SEGMENT, X, Y
from core.profiling import profile_values
from core.sampling import HASH_KEY, HASH_SQL, _threshold
from core.store import Store
from core.views import RunContext, _bounds_and_nonfinite, _edges, run_context

log = logging.getLogger(__name__)


def build_quietly(store: Store, run_id: str) -> Cube | None:
    """build(), logging instead of raising: the run stands either way (views then read rows)."""
    try:
        return build(store, run_id)
    except Exception:  # noqa: BLE001 - a missing cube only costs speed, never a run
        log.exception("pre-aggregating run %s failed; its views read the rows", run_id)
        return None


def build(store: Store, run_id: str) -> Cube:
    """Create (or replace) agg_<run>_* for a stored run and return its Cube."""
    ctx = run_context(store, run_id)
    run = ctx.run  # only its features matter here (names are not part of the cube)
    features = _cube_features(ctx)
    bounds, _ = _bounds_and_nonfinite(store, ctx, features)
    features = [f for f in features if f in bounds]
    edges = {f: tuple(_edges(bounds[f], CUBE_BINS, ctx.types.get(f, ""))) for f in features}
    xy, _ = _plane_bounds(store, ctx)
    values = profile_values(run, list(ctx.types))
    totals = _totals(store, ctx)
    cube = Cube(run_id=run_id, features=tuple(features), edges=edges,
                x_edges=grid_edges(*xy[0]), y_edges=grid_edges(*xy[1]),
                moments=tuple(v[0] for v in values), moment_columns=tuple((c, lvl) for _, c, lvl in values),
                sample_rows={}, totals=totals)
    with store.transaction() as cur:
        for part in aggregates.PARTS:
            cur.execute(f"DROP TABLE IF EXISTS {agg_table(run_id, part)}")
        binned_sql, binned_params = binned_select(cube)
        cur.execute(f"CREATE TEMP TABLE __binned AS {binned_sql}", binned_params)
        try:
            _count_pairs(cur, cube)
            _sum_moments(cur, cube)
            joint = _joint(cur, cube)
        finally:
            cur.execute("DROP TABLE IF EXISTS __binned")
        sample = _sample(cur, ctx, cube)
        cube = Cube(**{**cube.__dict__, "sample_rows": sample, "joint": joint})
        cur.execute(f"CREATE TABLE {agg_table(run_id, 'meta')} AS SELECT ?::VARCHAR AS spec", [cube.to_json()])
    aggregates.forget(store, run_id)
    return cube


def _cube_features(ctx: RunContext) -> list[str]:
    """The run's numeric clustering features first, then the other numeric columns, at most
    MAX_CUBE_FEATURES (the histograms the dashboard shows come from the same list)."""
    first = [f for f in ctx.run.features if f in ctx.numeric]
    return (first + [c for c in ctx.numeric if c not in first])[:MAX_CUBE_FEATURES]


def _plane_bounds(store: Store, ctx: RunContext) -> tuple[list[tuple[float, float]], int]:
    with store.cursor() as cur:
        row = cur.execute(
            f"SELECT min({X}) FILTER (WHERE isfinite({X})), max({X}) FILTER (WHERE isfinite({X})), "
            f"min({Y}) FILTER (WHERE isfinite({Y})), max({Y}) FILTER (WHERE isfinite({Y})), count(*) "
            f"FROM {ctx.table}").fetchone()
    def pair(lo, hi):
        return (float(lo), float(hi)) if lo is not None else (0.0, 0.0)
    return [pair(row[0], row[1]), pair(row[2], row[3])], int(row[4])


def _totals(store: Store, ctx: RunContext) -> dict[int, int]:
    with store.cursor() as cur:
        rows = cur.execute(f"SELECT {SEGMENT}, count(*) FROM {ctx.table} GROUP BY {SEGMENT}").fetchall()
    return {int(s): int(n) for s, n in rows}


def _grouping_id(grouped: list[str], columns: list[str]) -> int:
    """DuckDB's GROUPING(columns...) of a grouping set: bit 1 where a column is NOT grouped, the first
    column the most significant."""
    n = len(columns)
    return sum(1 << (n - 1 - i) for i, c in enumerate(columns) if c not in grouped)


def _count_pairs(cur, cube: Cube) -> None:
    """agg_f and agg_xy from one GROUPING SETS scan of the binned rows."""
    nf = len(cube.features)
    b = [f"b{i}" for i in range(nf)]
    columns = ["s", *b, "xb", "yb"]
    sets = [["s", b[i], b[j]] for i in range(nf) for j in range(i + 1, nf)]
    sets += [["s", b[i]] for i in range(nf)]
    sets += [["s", "xb", "yb", b[j]] for j in range(nf)]
    f_table, xy_table = agg_table(cube.run_id, "f"), agg_table(cube.run_id, "xy")
    cur.execute(f"CREATE TABLE {f_table} (a SMALLINT, ab SMALLINT, g SMALLINT, gb SMALLINT, s SMALLINT, n BIGINT)")
    cur.execute(f"CREATE TABLE {xy_table} (xb SMALLINT, yb SMALLINT, g SMALLINT, gb SMALLINT, s SMALLINT, n BIGINT)")
    if not sets:
        return
    grouping = ", ".join(f"({', '.join(g)})" for g in sets)
    cur.execute(
        f"CREATE TEMP TABLE __pairs AS SELECT {', '.join(columns)}, GROUPING({', '.join(columns)}) AS gid, "
        f"count(*) AS n FROM __binned GROUP BY GROUPING SETS ({grouping})")
    try:
        parts = []
        for i in range(nf):
            for j in range(i + 1, nf):
                gid = _grouping_id(["s", b[i], b[j]], columns)
                parts.append(f"SELECT {i}, {b[i]}, {j}, {b[j]}, s, n FROM __pairs WHERE gid = {gid}")
                parts.append(f"SELECT {j}, {b[j]}, {i}, {b[i]}, s, n FROM __pairs WHERE gid = {gid}")
            gid = _grouping_id(["s", b[i]], columns)
            parts.append(f"SELECT {i}, {b[i]}, {i}, {b[i]}, s, n FROM __pairs WHERE gid = {gid}")
        cur.execute(f"INSERT INTO {f_table} SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2, 3, 4")
        parts = [f"SELECT xb, yb, {j}, {b[j]}, s, n FROM __pairs WHERE gid = "
                 f"{_grouping_id(['s', 'xb', 'yb', b[j]], columns)}" for j in range(nf)]
        cur.execute(f"INSERT INTO {xy_table} SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2, 3, 4")
    finally:
        cur.execute("DROP TABLE IF EXISTS __pairs")


def _sum_moments(cur, cube: Cube) -> None:
    """agg_m: customers, non-missing counts, sums and sums of squares of the profile features per bin of
    every cube feature (a >= 0) and per cell of the plane (a = -1), and segment."""
    nf, nm = len(cube.features), len(cube.moments)
    b = [f"b{i}" for i in range(nf)]
    columns = ["s", *b, "xb", "yb"]
    aggs = "".join(f", count(m{j}) AS c_{j}, sum(m{j}) AS t_{j}, sum(m{j} * m{j}) AS q_{j}" for j in range(nm))
    sets = [["s", x] for x in b] + [["s", "xb", "yb"]]
    grouping = ", ".join(f"({', '.join(g)})" for g in sets)
    cur.execute(
        f"CREATE TEMP TABLE __moments AS SELECT {', '.join(columns)}, GROUPING({', '.join(columns)}) AS gid, "
        f"count(*) AS n{aggs} FROM __binned GROUP BY GROUPING SETS ({grouping})")
    try:
        stats = "".join(f", c_{j}, t_{j}, q_{j}" for j in range(nm))
        parts = [f"SELECT {i}::SMALLINT AS a, {b[i]}::SMALLINT AS ab, 0::SMALLINT AS ab2, s, n{stats} "
                 f"FROM __moments WHERE gid = {_grouping_id(['s', b[i]], columns)}" for i in range(nf)]
        parts.append(f"SELECT -1::SMALLINT, xb::SMALLINT, yb::SMALLINT, s, n{stats} FROM __moments "
                     f"WHERE gid = {_grouping_id(['s', 'xb', 'yb'], columns)}")
        cur.execute(f"CREATE TABLE {agg_table(cube.run_id, 'm')} AS SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 1, 2, 3")
    finally:
        cur.execute("DROP TABLE IF EXISTS __moments")


def _joint(cur, cube: Cube) -> bool:
    """agg_j: customers and profile sums per (segment, bin of every cube feature at once), kept when it
    has at most JOINT_MAX_CELLS cells (few features, or features whose bins go together): then any set
    of range brushes is answered from it. Otherwise dropped, and several brushes read the rows."""
    nf, nm = len(cube.features), len(cube.moments)
    if nf < 2:
        return False
    cols = ", ".join(["s"] + [f"b{i}" for i in range(nf)])
    sums = "".join(f", count(m{j}) AS c_{j}, sum(m{j}) AS t_{j}" for j in range(nm))
    table = agg_table(cube.run_id, "j")
    cur.execute(f"CREATE TABLE {table} AS SELECT {cols}, count(*) AS n{sums} FROM __binned GROUP BY {cols} "
                f"ORDER BY {cols}")
    cells = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if cells > JOINT_MAX_CELLS:
        cur.execute(f"DROP TABLE {table}")
        return False
    return True


def _sample(cur, ctx: RunContext, cube: Cube) -> dict[int, int]:
    """agg_sample: per segment the SAMPLE_PER_SEGMENT rows with the smallest (hash, __row), the order
    core.scatter.scatter_sample keeps; returns the rows kept per segment."""
    k = max(cube.totals, default=0)
    keep = [min(cube.totals.get(s, 0), SAMPLE_PER_SEGMENT) for s in range(1, k + 1)]
    cut = [_threshold(n, cube.totals.get(s, 0)) for s, n in zip(range(1, k + 1), keep)]
    key = HASH_SQL
    table = agg_table(cube.run_id, "sample")
    # sorted by the key: the scatter's bound on the key then skips whole row groups
    cur.execute(
        f"""CREATE TABLE {table} AS SELECT *, {key} AS {HASH_KEY} FROM {ctx.table}
            WHERE {key} < (?::BIGINT[])[{SEGMENT}]
            QUALIFY row_number() OVER (PARTITION BY {SEGMENT} ORDER BY {key}, {ROW}) <= (?::BIGINT[])[{SEGMENT}]
            ORDER BY {HASH_KEY}, {ROW}""",
        [cut, keep],
    )
    rows = cur.execute(f"SELECT {SEGMENT}, count(*) FROM {table} GROUP BY {SEGMENT}").fetchall()
    return {int(s): int(n) for s, n in rows}
