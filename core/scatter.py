"""The scatter's points: a bounded, deterministic stratified sample of the selected customers (coloured
by segment) and, when a filter is active, a bounded sample of the rest (drawn light grey underneath).

Both samples keep, within each segment, the rows with the smallest hash(__row): the same customer stays
on screen while the filter narrows, and the picture is identical on every request (no random()). The
run's sample table (core/aggregates.py) holds those rows first, so the whole table is read only when
the sample falls short.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from core import aggregates, sample_index
from core.sample_index import id_sql
from core.filter_base import int_arg as _int_arg
from core.filters import FilterSpec
from core.models import ROW, SEGMENT, X, Y
from core.sampling import HASH_KEY, HASH_SQL, cutoffs, per_segment, quotas
from core.store import Store, agg_table
from core.views import _segment_sizes, run_where

MAX_SCATTER_POINTS = 100_000
MAX_BACKGROUND_POINTS = 50_000
# integer types whose every value fits a BIGINT (identifiers of these are read as numbers)
BIGINT_SAFE = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"})


@dataclass
class ScatterData:
    """A bounded, deterministic sample of the scatter; `row` is __row (for hover and linking)."""

    x: list[float]
    y: list[float]
    segment: list[int]
    row: list[int]
    shown: int  # points in x/y
    selected: int  # rows the filter selects
    total: int  # clustered rows of the run
    x_label: str = ""
    y_label: str = ""
    background_x: list[float] = field(default_factory=list)  # unselected rows, drawn light
    background_y: list[float] = field(default_factory=list)
    background_segment: list[int] = field(default_factory=list)
    background_shown: int = 0
    ids: list = field(default_factory=list)  # the identifier of each selected point ([] without one):
    # ints when the identifier column is a whole-number type, else text
    id_label: str = ""  # the identifier column's name

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# -- scatter ----------------------------------------------------------------------------------
def scatter_sample(
    store: Store, spec: FilterSpec, max_points: int = 20000, background_points: int = 5000
) -> ScatterData:
    """At most `max_points` selected points, stratified by segment, plus a background sample.

    Every selected segment gets a share proportional to its selected size but at least
    MIN_POINTS_PER_SEGMENT (or all its rows when fewer). The background (only when a filter is
    active) samples the rows the filter leaves out, at most `background_points`, stratified the same way.
    """
    max_points = _int_arg(max_points, "max_points", 1, MAX_SCATTER_POINTS)
    background_points = _int_arg(background_points, "background_points", 0, MAX_BACKGROUND_POINTS)
    ctx, where, params = run_where(store, spec)
    sizes = _segment_sizes(store, ctx, where, params, spec)
    k = max([s.segment for s in sizes] + [ctx.run.k])
    selected = {s.segment: s.selected for s in sizes}
    unselected = {s.segment: s.total - s.selected for s in sizes}
    quota_sel = quotas(selected, max_points)
    quota_bg = quotas(unselected, background_points) if not spec.is_empty else {}
    key = HASH_KEY  # a column of src: stored in the sample table, computed over the run table
    id_col = ctx.identifiers[0] if ctx.identifiers else None
    # whole-number identifiers stay numbers (the figure sends them as a typed array), others are text
    whole_ids = bool(id_col) and ctx.types.get(id_col, "").upper() in BIGINT_SAFE
    ident = id_sql(id_col, ctx.columns, whole_ids)
    # Each branch keeps, per segment, the rows with the smallest hash: a cut-off on the hash makes
    # the WHERE drop most rows cheaply, QUALIFY then trims to the exact quota.
    branch = f"""
        SELECT {ROW} AS r, {X} AS x, {Y} AS y, {SEGMENT} AS s, {{selected}} AS sel, {key} AS h, {ident} AS i
        FROM src
        WHERE {key} < ? AND {key} < (?::BIGINT[])[{SEGMENT}] AND {{condition}}
        QUALIFY row_number() OVER (PARTITION BY {SEGMENT} ORDER BY h, r) <= (?::BIGINT[])[{SEGMENT}]
    """
    # the highest cut-off again as a plain bound: the sample table is sorted by the key, so its row
    # groups above the bound are skipped unread
    cut_sel = cutoffs(quota_sel, selected, k)
    sel_sql = branch.format(selected="TRUE", condition=f"({where})")
    sel_params = [max(cut_sel, default=0), cut_sel] + params + [per_segment(quota_sel, k)]
    bg_sql, bg_params = f"SELECT * FROM ({sel_sql}) WHERE FALSE", list(sel_params)  # no background
    cut_bg: list[int] = []
    if quota_bg:
        cut_bg = cutoffs(quota_bg, unselected, k)
        bg_sql = branch.format(selected="FALSE", condition=f"({where}) IS NOT TRUE")
        bg_params = [max(cut_bg, default=0), cut_bg] + params + [per_segment(quota_bg, k)]
    # NOT MATERIALIZED: each part reads the table with its own filter (a materialised CTE would copy
    # every row first, which cost half the query)
    sample = f"WITH src AS NOT MATERIALIZED (SELECT * FROM {agg_table(ctx.run.run_id, 'sample')}) "
    rows = f"WITH src AS NOT MATERIALIZED (SELECT *, {HASH_SQL} AS {HASH_KEY} FROM {ctx.table}) "
    out = "SELECT r, x, y, s, sel, i, h FROM "
    cube = aggregates.load(store, ctx.run.run_id)
    brush = aggregates.brush_of(cube, spec)

    def from_sample(cur) -> dict:
        if brush is not None:  # the same rows, picked in memory (core/sample_index.py)
            index = sample_index.index_of(store, cube, id_col, ctx.columns, whole_ids)
            return sample_index.rows(index, brush, quota_sel, cut_sel, quota_bg, cut_bg)
        return cur.execute(f"{sample}{out}(({sel_sql}) UNION ALL ({bg_sql}))", sel_params + bg_params).fetchnumpy()

    cols = _sample_rows(store, cube, from_sample, f"{rows}{out}({sel_sql})", f"{rows}{out}({bg_sql})",
                        sel_params, bg_params, quota_sel, quota_bg)
    sel = np.asarray(cols["sel"], dtype=bool)
    x, y = _float_array(cols["x"]), _float_array(cols["y"])
    seg, row = np.asarray(cols["s"], dtype=np.int64), np.asarray(cols["r"], dtype=np.int64)
    n_sel = sum(selected.values())
    return ScatterData(
        x=_json_floats(x[sel]),
        y=_json_floats(y[sel]),
        segment=seg[sel].tolist(),
        row=row[sel].tolist(),
        shown=int(sel.sum()),
        selected=n_sel,
        total=n_sel + sum(unselected.values()),
        x_label=ctx.run.x_label,
        y_label=ctx.run.y_label,
        background_x=_json_floats(x[~sel]),
        background_y=_json_floats(y[~sel]),
        background_segment=seg[~sel].tolist(),
        background_shown=int((~sel).sum()),
        ids=_selected_ids(cols["i"], sel) if id_col else [],
        id_label=id_col or "",
    )


def _sample_rows(store: Store, cube: aggregates.Cube | None, from_sample: Callable[[Any], dict],
                 selected_from_rows: str, background_from_rows: str, sel_params: list, bg_params: list, quota_sel: dict,
                 quota_bg: dict) -> dict:
    """The scatter's rows, in (hash, row) order: first from the run's sample table (core.aggregates:
    per segment the rows with the smallest hash, the same order), both parts at once (`from_sample`: in
    memory for a brush the cube answers, core/sample_index.py, else one query); a part the
    sample is short of (aggregates.enough: the selected points under 90% of the budget and under
    ENOUGH_POINTS, or none for a real part of the selection; the grey background under half its
    budget) is read again, alone, from the whole table: a thin selection never makes the background,
    which is context only, scan every row too."""
    with store.cursor() as cur:
        if cube is None:
            return _in_order(_concat(cur.execute(selected_from_rows, sel_params).fetchnumpy(),
                                     cur.execute(background_from_rows, bg_params).fetchnumpy()))
        cols = from_sample(cur)
        sel = np.asarray(cols["sel"], dtype=bool)
        segs = np.asarray(cols["s"], dtype=np.int64)
        short_sel = not aggregates.enough(cube, dict(zip(*np.unique(segs[sel], return_counts=True))), quota_sel)
        short_bg = not aggregates.enough(cube, dict(zip(*np.unique(segs[~sel], return_counts=True))), quota_bg, 0.5)
        if short_sel:
            cols = _concat({k: v[~sel] for k, v in cols.items()},
                           cur.execute(selected_from_rows, sel_params).fetchnumpy())
        if short_bg:
            sel = np.asarray(cols["sel"], dtype=bool)
            cols = _concat({k: v[sel] for k, v in cols.items()},
                           cur.execute(background_from_rows, bg_params).fetchnumpy())
    return _in_order(cols)


def _concat(a: dict, b: dict) -> dict:
    return {k: (np.ma.concatenate if np.ma.isMaskedArray(a[k]) or np.ma.isMaskedArray(b[k]) else np.concatenate)(
        [a[k], b[k]]) for k in a}


def _in_order(cols: dict) -> dict:
    """The rows by (hash, row): the order the points are drawn in, the same whichever table gave them."""
    h, r = np.asarray(cols["h"], dtype=np.int64), np.asarray(cols["r"], dtype=np.int64)
    if len(r) and 0 <= r.min() and r.max() < 2**31 and h.max() < 2**32:  # one key: 3x faster than lexsort
        order = np.argsort(h * 2**31 + r)
    else:
        order = np.lexsort((r, h))
    return {k: v[order] for k, v in cols.items()}


def _selected_ids(values: Any, sel: np.ndarray) -> list:
    """The identifiers of the selected points, a missing one as None."""
    if np.ma.isMaskedArray(values) and np.ma.getmaskarray(values).any():
        return [None if m else v for v, m in zip(values.data[sel].tolist(), np.ma.getmaskarray(values)[sel])]
    return np.asarray(values)[sel].tolist()


def _float_array(a: Any) -> np.ndarray:
    if np.ma.isMaskedArray(a):
        return np.ma.filled(a.astype(np.float64), np.nan)
    return np.asarray(a, dtype=np.float64)


def _json_floats(a: np.ndarray) -> list[float | None]:
    """A float array as a JSON-safe list (NaN and infinities become None)."""
    if np.isfinite(a).all():
        return a.tolist()
    return [v if math.isfinite(v) else None for v in a.tolist()]
