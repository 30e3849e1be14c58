"""Every query the dashboard draws from: counts, histograms, scatter samples, grid pages, filter choices.

Each function takes a validated FilterSpec (see `parse_spec`), turns it into the one WHERE of
core/filters.py and returns a small dataclass whose size is bounded whatever the number of customers:
histograms are binned in DuckDB (or read from the run's pre-aggregated tables, core/aggregates.py), the
grid is paged (core/grid_seek.py). The scatter's sample is in core/scatter.py.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
from dataclasses import dataclass
from typing import Any


from core import agg_memory, aggregates, grid_seek, lru
from core.errors import InputError
from core.filled import FILLED, filled_by_row
from core.filter_base import int_arg as _int_arg
from core.filters import FilterSpec, describe, where_clause
from core.search import search_columns
from core.dates import is_date_type
from core.models import CATEGORICAL, DATE, IDENTIFIER, NUMERIC, ROW, SEGMENT, X, Y, DatasetInfo, Run
from core.store import Store, check_id, quote_ident, run_table

SEGMENT_NAME = "__segment_name"  # computed column of grid pages and exports
MAX_BINS = 200
MAX_HISTOGRAMS = 24
MAX_PAGE_ROWS = 500
MAX_CELL_CHARS = 1000  # longer text is cut in grid pages (the export keeps it whole)
MAX_SORT_COLUMNS = 5
MAX_CATEGORY_LIMIT = 1000
# DuckDB's integer types: histograms of these get one bin per value, sliders whole-number steps.
# Date columns stored as ISO text ("2010-12-01") by kind of dataset (docs/RFM.md: kept as text on purpose).
TEXT_DATE_COLUMNS = {"transactions": ("first_purchase", "last_purchase")}
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                           "UINTEGER", "UBIGINT", "UHUGEINT"})


# -- results ----------------------------------------------------------------------------------
@dataclass
class RunContext:
    """A run with what every view needs to know about its table (cached: a run never changes)."""

    run: Run
    dataset: DatasetInfo
    table: str
    columns: list[str]  # dataset columns present in the run table, in the dataset's order
    types: dict[str, str]  # column -> DuckDB type of the run table
    numeric: list[str]  # filterable numeric columns (identifiers excluded)
    categorical: list[str]
    identifiers: list[str]
    segment_names: list[str]  # index i holds the name of segment i + 1

    def segment_name(self, segment: int) -> str:
        return self.segment_names[segment - 1] if 1 <= segment <= len(self.segment_names) else ""

    @property
    def date_columns(self) -> list[str]:
        """Columns holding dates, filtered by date range: DATE-role (or date-typed) columns, and the ISO
        date text a transactions table keeps (first and last purchase). Never value pickers."""
        text_dates = TEXT_DATE_COLUMNS.get(self.dataset.kind, ())
        return [c.name for c in self.dataset.columns if c.name in self.columns and (
            c.role == DATE or is_date_type(self.types.get(c.name, "")) or c.name in text_dates)]

    @property
    def integer_columns(self) -> set[str]:
        """Numeric columns stored as integers (one histogram bin per value, whole-number sliders)."""
        return {c for c in self.numeric if self.types.get(c, "").upper() in INTEGER_TYPES}


@dataclass
class Histogram:
    feature: str
    edges: list[float]  # bins + 1 edges, fixed over the whole run
    counts: dict[int, list[int]]  # segment -> count of selected rows per bin (every segment of the run)

    def to_dict(self) -> dict:
        return {"feature": self.feature, "edges": self.edges,
                "counts": {str(s): c for s, c in self.counts.items()}}


@dataclass
class SegmentSize:
    segment: int
    name: str
    selected: int  # rows of this segment the filter selects
    total: int  # rows of this segment in the run


# -- run metadata -----------------------------------------------------------------------------
# Per Store (core/lru.py, dropped with it): run contexts by run id, per-segment counts by
# (run id, WHERE, params). A run never changes, so neither goes stale.
def _cache(store: Store, name: str) -> lru.Lru:
    return lru.cache(store, name, {"contexts": 64, "sizes": 256}[name])


def clear_caches() -> None:
    """Forget cached run contexts and counts (tests and benchmarks)."""
    lru.clear("contexts", "sizes")


def run_context(store: Store, run: Run | str) -> RunContext:
    """The run, its dataset and the columns of its table (raises InputError for an unknown run).

    A published run never changes (its table and its JSON are written once, in one transaction), so
    contexts are cached per Store and run id: a filter change costs no catalogue queries.
    """
    run_id = check_id(run if isinstance(run, str) else run.run_id, "run")
    return _cache(store, "contexts").get_or_compute(
        run_id, lambda: _load_context(store, run if isinstance(run, Run) else store.get_run(run_id)))


def _load_context(store: Store, run: Run) -> RunContext:
    table = run_table(run.run_id)
    dataset = store.get_dataset(run.dataset_id)
    with store.cursor() as cur:
        rows = cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    if not rows:
        raise InputError("the run's customers are not stored any more; run the segmentation again")
    types = {name: dtype for name, dtype in rows}
    present = [c for c in dataset.columns if c.name in types and c.name not in (ROW, SEGMENT, X, Y)]
    names = [s.name for s in sorted(run.segments, key=lambda s: s.id)]
    return RunContext(
        run=run,
        dataset=dataset,
        table=table,
        columns=[c.name for c in present],
        types=types,
        numeric=[c.name for c in present if c.role == NUMERIC],
        categorical=[c.name for c in present if c.role == CATEGORICAL],
        identifiers=[c.name for c in present if c.role == IDENTIFIER],
        segment_names=names,
    )


def run_columns(store: Store, run: Run | str) -> tuple[list[str], list[str]]:
    """The filterable (numeric non-identifier, categorical) columns of a run table."""
    ctx = run_context(store, run)
    return ctx.numeric, ctx.categorical


def parse_spec(store: Store, data: Any) -> FilterSpec:
    """Validate a client-sent filter spec against its run's columns and k."""
    if not isinstance(data, dict):
        raise InputError("filter must be an object")
    ctx = run_context(store, check_id(data.get("run_id"), "run"))
    return FilterSpec.from_dict(data, ctx.numeric, ctx.categorical, ctx.run.k, run=ctx.run,
                                dataset_columns=ctx.dataset.names(), dates=ctx.date_columns, store=store,
                                search_columns=search_columns(ctx))


def run_where(store: Store, spec: FilterSpec) -> tuple[RunContext, str, list]:
    """The run context and the spec's WHERE over its run table (core.filters.where_clause)."""
    ctx = run_context(store, spec.run_id)
    sql, params = where_clause(spec, ctx.numeric, ctx.categorical)
    return ctx, sql, params


# -- counts -----------------------------------------------------------------------------------
def count(store: Store, spec: FilterSpec) -> tuple[int, int]:
    """(rows the filter selects, clustered rows of the run)."""
    sizes = segment_sizes(store, spec)
    return sum(z.selected for z in sizes), sum(z.total for z in sizes)


def segment_sizes(store: Store, spec: FilterSpec) -> list[SegmentSize]:
    """Per segment of the run: selected and total rows (every segment, zeros included)."""
    ctx, where, params = run_where(store, spec)
    return _segment_sizes(store, ctx, where, params, spec)


def _segment_sizes(store: Store, ctx: RunContext, where: str, params: list,
                   spec: FilterSpec | None = None) -> list[SegmentSize]:
    """Selected and total rows per segment. Cached per filter: a run never changes, and the same
    spec is counted by several views (count, scatter quotas, grid total) after one filter change.
    A brush the run's cube holds is counted from the cube (core.aggregates), not the rows."""
    key = (ctx.run.run_id, where, json.dumps(params))
    sizes = _cache(store, "sizes").get_or_compute(key, lambda: _count_sizes(store, ctx, where, params, spec))
    return [SegmentSize(*z) for z in sizes]


def _count_sizes(store: Store, ctx: RunContext, where: str, params: list,
                 spec: FilterSpec | None) -> tuple[tuple, ...]:
    cube = aggregates.load(store, ctx.run.run_id) if spec is not None else None
    brush = aggregates.brush_of(cube, spec) if cube is not None else None
    if brush is not None:
        chosen = agg_memory.segment_counts(store, cube, brush)
        ids = sorted(set(range(1, ctx.run.k + 1)) | set(cube.totals))
        return tuple((s, ctx.segment_name(s), chosen.get(s, 0), cube.totals.get(s, 0)) for s in ids)
    # The filter runs as a WHERE (conditions short-circuit there), the totals in a second cheap scan.
    with store.cursor() as cur:
        rows = cur.execute(
            f"""
            WITH counts AS (
                SELECT {SEGMENT} AS s, count(*) AS selected, 0 AS total
                FROM {ctx.table} WHERE {where} GROUP BY {SEGMENT}
                UNION ALL
                SELECT {SEGMENT}, 0, count(*) FROM {ctx.table} GROUP BY {SEGMENT}
            )
            SELECT s, sum(selected), sum(total) FROM counts GROUP BY s
            """,
            params,
        ).fetchall()
    found = {int(s): (int(sel), int(tot)) for s, sel, tot in rows}
    ids = sorted(set(range(1, ctx.run.k + 1)) | set(found))
    return tuple((s, ctx.segment_name(s), *found.get(s, (0, 0))) for s in ids)


# -- filter controls --------------------------------------------------------------------------
def feature_bounds(store: Store, run: Run | str) -> dict[str, tuple[float, float]]:
    """Min and max of every numeric column over the whole run, ignoring NaN and infinities
    (columns without finite values left out)."""
    return _bounds(store, run_context(store, run))


def _bounds(store: Store, ctx: RunContext, columns: list[str] | None = None
            ) -> dict[str, tuple[float, float]]:
    return _bounds_and_nonfinite(store, ctx, ctx.numeric if columns is None else columns)[0]


def _bounds_and_nonfinite(store: Store, ctx: RunContext, columns: list[str]
                          ) -> tuple[dict[str, tuple[float, float]], set[str]]:
    """Finite min and max per column, and the columns holding NaN or infinities. Plain min/max come
    from the table's statistics; only a column whose min or max is not finite is scanned again."""
    if not columns:
        return {}, set()
    qs = [quote_ident(c, ctx.numeric) for c in columns]
    with store.cursor() as cur:
        row = cur.execute(
            f"SELECT {', '.join(f'min({q})::DOUBLE, max({q})::DOUBLE' for q in qs)} FROM {ctx.table}"
        ).fetchone()
        found = {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)}
        odd = [c for c, (lo, hi) in found.items()
               if lo is not None and not (math.isfinite(lo) and math.isfinite(hi))]
        if odd:
            again = cur.execute(
                "SELECT " + ", ".join(
                    f"min({q}::DOUBLE) FILTER (WHERE isfinite({q})), max({q}::DOUBLE) FILTER (WHERE isfinite({q}))"
                    for q in (quote_ident(c, ctx.numeric) for c in odd)
                ) + f" FROM {ctx.table}"
            ).fetchone()
            found.update({c: (again[2 * i], again[2 * i + 1]) for i, c in enumerate(odd)})
    bounds = {c: (float(lo), float(hi)) for c, (lo, hi) in found.items()
              if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)}
    return bounds, set(odd)


def date_bounds(store: Store, run: Run | str) -> dict[str, tuple[_dt.date, _dt.date]]:
    """The first and last day of every date column over the whole run (columns without a date left out)."""
    ctx = run_context(store, run)
    cols = ctx.date_columns
    if not cols:
        return {}
    days = [f"TRY_CAST({quote_ident(c, cols)} AS DATE)" for c in cols]
    with store.cursor() as cur:
        row = cur.execute(f"SELECT {', '.join(f'min({d}), max({d})' for d in days)} FROM {ctx.table}").fetchone()
    return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(cols) if row[2 * i] is not None}


def category_values(store: Store, run: Run | str, limit: int = 50) -> dict[str, list[str]]:
    """The most frequent values of every categorical column (ties alphabetical), at most `limit` each."""
    limit = _int_arg(limit, "limit", 1, MAX_CATEGORY_LIMIT)
    ctx = run_context(store, run)
    if not ctx.categorical:
        return {}
    parts = []
    for i, col in enumerate(ctx.categorical):
        q = quote_ident(col, ctx.categorical)
        parts.append(
            f"""(SELECT {i} AS col, {q}::VARCHAR AS value, count(*) AS n FROM {ctx.table}
                 WHERE {q} IS NOT NULL GROUP BY {q}
                 ORDER BY n DESC, value LIMIT ?)"""
        )
    sql = " UNION ALL ".join(parts) + " ORDER BY col, n DESC, value"
    with store.cursor() as cur:
        rows = cur.execute(sql, [limit] * len(parts)).fetchall()
    out: dict[str, list[str]] = {c: [] for c in ctx.categorical}
    for i, value, _ in rows:
        out[ctx.categorical[i]].append(value)
    return out


# -- histograms -------------------------------------------------------------------------------
def histograms(store: Store, spec: FilterSpec, features: list[str], bins: int = 30) -> list[Histogram]:
    """Per feature, counts of the selected rows per bin and segment.

    Edges are fixed over the whole run so bars do not jump while filtering. Integer columns whose
    range fits in `bins` get one bin per integer value (edges at half-integers).
    """
    bins = _int_arg(bins, "bins", 1, MAX_BINS)
    if not isinstance(features, (list, tuple)) or len(features) > MAX_HISTOGRAMS:
        raise InputError(f"choose at most {MAX_HISTOGRAMS} features for histograms")
    ctx, where, params = run_where(store, spec)
    features = list(dict.fromkeys(features))
    for f in features:
        quote_ident(f, ctx.numeric)
    if not features:
        return []
    cube = aggregates.load(store, ctx.run.run_id) if bins == aggregates.CUBE_BINS else None
    brush = aggregates.brush_of(cube, spec)
    from_cube = agg_memory.histogram_counts(store, cube, brush, features) if brush is not None else {}
    rest = [f for f in features if f not in from_cube]
    hists = {f: _cube_histogram(f, cube, counts, ctx.run.k) for f, counts in from_cube.items()}
    hists.update({h.feature: h for h in _row_histograms(store, ctx, where, params, rest, bins)})
    return [hists[f] for f in features if f in hists]


def _cube_histogram(feature: str, cube: aggregates.Cube, counts: dict[int, list[int]], k: int) -> Histogram:
    bins = len(cube.edges[feature]) - 1
    full = {s: counts.get(s, [0] * bins) for s in range(1, k + 1)}
    full.update(counts)
    return Histogram(feature, list(cube.edges[feature]), full)


def _row_histograms(store: Store, ctx: RunContext, where: str, params: list, features: list[str],
                    bins: int) -> list[Histogram]:
    """Histograms counted over the selected rows (one scan for all features)."""
    if not features:
        return []
    bounds, nonfinite = _bounds_and_nonfinite(store, ctx, features)
    edges = {f: _edges(bounds.get(f), bins, ctx.types.get(f, "")) for f in features}
    # One scan: every selected row gets a bin per feature (-1 where the value is missing, NaN or
    # infinite: not counted), then one grouping set per feature counts (segment, bin).
    bin_sql, bin_params = [], []
    for i, f in enumerate(features):
        e = edges[f]
        q = quote_ident(f, ctx.numeric)
        binned = f"least(greatest(floor(({q} - ?) / ?), 0), ?)::BIGINT"
        # DuckDB's greatest() skips NULLs: a missing value would land in the first bar without this
        finite = f"isfinite({q})" if f in nonfinite else f"{q} IS NOT NULL"
        binned = f"CASE WHEN {finite} THEN {binned} END"
        bin_sql.append(f"coalesce({binned}, -1) AS b{i}")
        bin_params += [e[0], (e[-1] - e[0]) / (len(e) - 1), len(e) - 2]
    names = [f"b{i}" for i in range(len(features))]
    sql = f"""
        SELECT {", ".join(names)}, s, count(*) AS n
        FROM (SELECT {SEGMENT} AS s, {", ".join(bin_sql)} FROM {ctx.table} WHERE {where})
        GROUP BY GROUPING SETS ({", ".join(f"(s, {b})" for b in names)})
    """
    with store.cursor() as cur:
        rows = cur.execute(sql, bin_params + params).fetchall()
    segments = range(1, ctx.run.k + 1)
    counts = {f: {s: [0] * (len(edges[f]) - 1) for s in segments} for f in features}
    for row in rows:
        *bins_, seg, n = row
        i = next(j for j, b in enumerate(bins_) if b is not None)  # the grouping set of this row
        if bins_[i] < 0:
            continue  # missing values are not counted
        f = features[i]
        counts[f].setdefault(int(seg), [0] * (len(edges[f]) - 1))[int(bins_[i])] += int(n)
    return [Histogram(f, edges[f], counts[f]) for f in features]


def _edges(bounds: tuple[float, float] | None, bins: int, sql_type: str) -> list[float]:
    lo, hi = bounds if bounds else (0.0, 1.0)
    if sql_type.upper() in INTEGER_TYPES and hi - lo + 1 <= bins:
        return [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    return [lo + i * width for i in range(bins)] + [hi]


# -- grid -------------------------------------------------------------------------------------
def grid_columns(store: Store, run: Run | str) -> list[str]:
    """Field names of grid rows, in display order (sortable colIds)."""
    ctx = run_context(store, run)
    return _grid_fields(ctx)


def _grid_fields(ctx: RunContext) -> list[str]:
    return [c for c in ctx.columns if c != SEGMENT_NAME] + [ROW, SEGMENT, SEGMENT_NAME]


def grid_page(
    store: Store, spec: FilterSpec, start: int, end: int, sort_model: list[dict] | None = None
) -> tuple[list[dict], int]:
    """Rows start..end (at most MAX_PAGE_ROWS) of the selection for AG Grid's infinite row model,
    and the number of selected rows. Ties and unsorted pages are ordered by __row.

    Deep pages seek by bins of the first sort key instead of a deep OFFSET (core/grid_seek.py).
    """
    start = _int_arg(start, "start row", 0, 2**62)
    end = _int_arg(end, "end row", 0, 2**62)
    limit = max(0, min(end - start, MAX_PAGE_ROWS))
    ctx, where, params = run_where(store, spec)
    fields = _grid_fields(ctx)
    keys = _sort_keys(sort_model, fields) + [(ROW, True)]
    select = [quote_ident(c, ctx.columns) for c in fields[:-3]]
    select += [ROW, SEGMENT, f"(?::VARCHAR[])[{SEGMENT}] AS {SEGMENT_NAME}"]
    total = sum(z.selected for z in _segment_sizes(store, ctx, where, params, spec))
    if limit == 0 or start >= total:
        return [], total
    stop = min(start + limit, total)
    rows = grid_seek.page_rows(store, ctx.table, ctx.types, where, params, keys, select, ctx.segment_names,
                               start, stop, total)
    page = [{f: _grid_value(v) for f, v in zip(fields, row)} for row in rows]
    filled = filled_by_row(store, ctx.run, ctx.dataset.names(), [r[ROW] for r in page])
    for r in page:  # the fields whose value was filled for the run (the grid marks those cells)
        r[FILLED] = filled.get(r[ROW], [])
    return page, total


def _sort_keys(sort_model: Any, fields: list[str]) -> list[tuple[str, bool]]:
    """AG Grid's sortModel as (quoted column, ascending) pairs, validated against the grid's fields."""
    if sort_model is None:
        return []
    if not isinstance(sort_model, list) or len(sort_model) > MAX_SORT_COLUMNS:
        raise InputError(f"sort by at most {MAX_SORT_COLUMNS} columns")
    out = []
    for item in sort_model:
        if not isinstance(item, dict):
            raise InputError("each sort entry needs colId and sort")
        direction = item.get("sort")
        if direction not in ("asc", "desc"):
            raise InputError("sort must be 'asc' or 'desc'")
        out.append((quote_ident(item.get("colId"), fields), direction == "asc"))
    return out


# -- helpers ----------------------------------------------------------------------------------
def _json_number(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _grid_value(v: Any) -> Any:
    if isinstance(v, str) and len(v) > MAX_CELL_CHARS:
        return v[: MAX_CELL_CHARS - 1] + "…"
    return _json_value(v)


def _json_value(v: Any) -> Any:
    """A value JSON can carry: NaN/inf become None, decimals floats, dates ISO text."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, decimal.Decimal):
        return _json_number(v)
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    return str(v)


def describe_filter(spec: FilterSpec, segment_names: list[str] | None = None) -> str:
    """The filter in words (core.filters.describe: each kind says its own part)."""
    return describe(spec, segment_names)
