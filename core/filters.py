"""The filter spec every view shares: one self-describing object per filter kind, found by key.

A FilterSpec is small (ids, ranges, a polygon) and lives in the browser's dcc.Store; the server
re-validates it on every request because a client can send anything. Each kind below (after
datasette's filters.py) keeps side by side how it parses its part of the client-sent spec, its SQL
(`where`, bound parameters only), its words (`describe`), the value its control shows
(`control_value`) and how a control or a selection changes it (`apply`). `KINDS` is the registry;
FilterSpec, where_clause and describe only loop over it.

Adding a kind: write a FilterKind subclass here, add a field of the same name to FilterSpec, register
it in KINDS; then give it a control in layouts/filters.py (docs/ARCHITECTURE.md, "Adding a filter kind").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.errors import InputError
from core.filter_values import (  # noqa: F401  (the selection helpers stay importable from here)
    UNCHANGED, _iso_day, day_number, day_text, range_from_selection, region_from_selection, segment_from_row,
)
from core.lasso import LASSO_VERTICES, grid_cells_sql, lasso_sql, simplify
from core.models import ROW, SEGMENT, X, Y, Run
from core.filter_base import (MAX_RANGES, FilterContext, FilterKind, _clip, _finite_pair, _fmt, _id_list,  # noqa: F401
                               _is_full, _number)
from core.search import Search, SearchKind
from core.store import check_id, dataset_table, quote_ident

MAX_SEGMENTS = 11  # k + 1 with an outlier group
MAX_CATEGORY_VALUES = 1000
MAX_LASSO_POINTS = 5000  # accepted from the client
MAX_SHOWN_VALUES = 10  # category values named in words

# kept importable from here: tests and the bench refer to them by these names
_simplify = simplify
__all__ = ["FilterSpec", "Region", "RuleChoice", "OriginalRows", "DateRanges", "FilterContext", "FilterKind",
           "KINDS", "where_clause", "describe", "control_values", "apply_change", "Search", "active_items",
           "remove_item", "register_kind", "UNCHANGED", "LASSO_VERTICES",
           "MAX_LASSO_POINTS"]



# -- values of the kinds that are more than plain JSON ---------------------------------------------
@dataclass(frozen=True)
class Region:
    """A box or lasso selection in the scatter's coordinates (__x, __y)."""

    kind: str  # "box" | "lasso"
    x: tuple[float, float] | None = None
    y: tuple[float, float] | None = None
    points: tuple[tuple[float, float], ...] = ()
    # a lasso on a run with pre-aggregated tables selects whole grid cells (core.lasso.GridCells),
    # decided when the spec is parsed; never sent to the client (to_dict keeps the points only)
    grid: Any = field(default=None, compare=False)

    def to_dict(self) -> dict:
        if self.kind == "box":
            return {"kind": "box", "x": list(self.x), "y": list(self.y)}
        return {"kind": "lasso", "points": [list(p) for p in self.points]}


@dataclass(frozen=True)
class RuleChoice:
    """Customers matching a segment's rule. `sql` is the run's own server-generated rule text
    (Run.segments[i].rule), looked up at parse time; the client only ever sends the segment id."""

    segment: int
    sql: str


@dataclass(frozen=True)
class OriginalRows:
    """Only rows whose chosen feature values were in the file (none was filled for this run)."""

    dataset_id: str
    features: tuple[str, ...]
    columns: tuple[str, ...]  # the dataset's columns, to check the features against


@dataclass(frozen=True)
class DateRanges:
    """Inclusive date ranges, one per date column ({column: (from, to)}, ISO days, an end may be
    open), with the run's date columns to check the names against when the SQL is built."""

    ranges: tuple[tuple[str, str | None, str | None], ...]
    columns: tuple[str, ...]


# -- the kinds (the base class: core/filter_base.py; the search kind: core/search.py) ----------
class SegmentsKind(FilterKind):
    key = "segments"
    empty = ()
    always_in_json = True

    def parse(self, raw: Any, ctx: FilterContext) -> tuple[int, ...]:
        raw = raw or []
        if not isinstance(raw, list) or len(raw) > MAX_SEGMENTS:
            raise InputError("segments must be a short list of segment numbers")
        valid = set(ctx.segment_ids)
        out = set()
        for s in raw:
            if isinstance(s, bool) or not isinstance(s, int) or s not in valid:
                raise InputError(f"segment must be one of the run's segments: {_id_list(ctx.segment_ids)}")
            out.add(s)
        return tuple(sorted(out))

    def to_json(self, value: tuple[int, ...]) -> list[int]:
        return list(value)

    def where(self, value: tuple[int, ...], ctx: FilterContext) -> tuple[str, list]:
        return f"list_contains(?::INTEGER[], {SEGMENT})", [list(value)]

    def describe(self, value: tuple[int, ...], segment_names: list[str]) -> list[str]:
        names = segment_names
        shown = [f"{s} ({names[s - 1]})" if 0 < s <= len(names) else str(s) for s in value]
        return [("segment " if len(shown) == 1 else "segments ") + ", ".join(shown)]

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        if isinstance(change, dict):  # a profile row clicked (AG Grid cellClicked): toggle that segment
            seg = segment_from_row(change)
            if seg is None:
                return UNCHANGED
            return [] if list(current or []) == [seg] else [seg]
        return change or []


class RangesKind(FilterKind):
    """Numeric ranges, inclusive, one per column: range sliders and histogram box selections."""

    key = "ranges"
    empty: ClassVar[dict] = {}
    always_in_json = True

    def parse(self, raw: Any, ctx: FilterContext) -> dict[str, tuple[float, float]]:
        raw = raw or {}
        if not isinstance(raw, dict) or len(raw) > MAX_RANGES:
            raise InputError("ranges must be an object of column -> [low, high]")
        out = {}
        for col, pair in raw.items():
            quote_ident(col, ctx.numeric)
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise InputError(f"range for '{col}' must be [low, high]")
            lo, hi = _number(pair[0], "range bound"), _number(pair[1], "range bound")
            out[col] = (min(lo, hi), max(lo, hi))
        return out

    def to_json(self, value: dict) -> dict:
        return {c: list(r) for c, r in value.items()}

    def where(self, value: dict, ctx: FilterContext) -> tuple[str, list]:
        parts, params = [], []
        for col, (lo, hi) in value.items():
            parts.append(f"{quote_ident(col, ctx.numeric)} BETWEEN ? AND ?")
            params += [lo, hi]
        return " AND ".join(parts), params

    def describe(self, value: dict, segment_names: list[str]) -> list[str]:
        return [f"{col} {_fmt(lo)} to {_fmt(hi)}" for col, (lo, hi) in value.items()]

    def items(self, value: dict, segment_names: list[str]) -> list[tuple[str | None, str]]:
        return [(col, f"{col} {_fmt(lo)} to {_fmt(hi)}") for col, (lo, hi) in value.items()]

    def remove(self, current: Any, column: str | None) -> Any:
        return {} if column is None else {c: v for c, v in (current or {}).items() if c != column}

    def control_value(self, value: dict, column: str | None = None, bounds: dict | None = None) -> Any:
        """A slider's [low, high]: the filtered range, else the column's full extent."""
        return list(value.get(column, (bounds or {}).get(column, (None, None))))

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        ranges = dict(current or {})
        full = bounds.get(column)
        if isinstance(change, dict):  # a histogram's box selection: clipped to the data
            picked = range_from_selection(change)
            if picked is UNCHANGED:
                return UNCHANGED
            change = None if picked is None else _clip(_finite_pair(picked), full)
        elif change is not None and not _is_full(change, full):
            if not isinstance(change, (list, tuple)) or len(change) != 2:
                raise InputError(f"range for '{column}' must be [low, high]")
            change = sorted(_finite_pair(change))
        else:
            change = None  # a slider at its full extent filters nothing
        if change is None:
            ranges.pop(column, None)
        else:
            ranges[column] = change
        return ranges


class CategoriesKind(FilterKind):
    key = "categories"
    empty: ClassVar[dict] = {}
    always_in_json = True

    def parse(self, raw: Any, ctx: FilterContext) -> dict[str, tuple[str, ...]]:
        raw = raw or {}
        if not isinstance(raw, dict) or len(raw) > MAX_RANGES:
            raise InputError("categories must be an object of column -> [values]")
        out = {}
        for col, values in raw.items():
            quote_ident(col, ctx.categorical)
            if not isinstance(values, list) or len(values) > MAX_CATEGORY_VALUES:
                raise InputError(f"values for '{col}' must be a list of at most {MAX_CATEGORY_VALUES}")
            if not all(isinstance(v, str) for v in values):
                raise InputError(f"values for '{col}' must be text")
            if values:
                out[col] = tuple(dict.fromkeys(values))
        return out

    def to_json(self, value: dict) -> dict:
        return {c: list(v) for c, v in value.items()}

    def where(self, value: dict, ctx: FilterContext) -> tuple[str, list]:
        parts, params = [], []
        for col, values in value.items():
            parts.append(f"list_contains(?::VARCHAR[], {quote_ident(col, ctx.categorical)}::VARCHAR)")
            params.append(list(values))
        return " AND ".join(parts), params

    def describe(self, value: dict, segment_names: list[str]) -> list[str]:
        out = []
        for col, values in value.items():
            more = len(values) - MAX_SHOWN_VALUES
            out.append(f"{col}: " + ", ".join(values[:MAX_SHOWN_VALUES]) + (f" and {more} more" if more > 0 else ""))
        return out

    def items(self, value: dict, segment_names: list[str]) -> list[tuple[str | None, str]]:
        return list(zip(value, self.describe(value, segment_names)))

    def remove(self, current: Any, column: str | None) -> Any:
        return {} if column is None else {c: v for c, v in (current or {}).items() if c != column}

    def control_value(self, value: dict, column: str | None = None, bounds: dict | None = None) -> Any:
        return list(value.get(column, ()))

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        categories = dict(current or {})
        if change:
            categories[column] = change
        else:
            categories.pop(column, None)
        return categories


class RegionKind(FilterKind):
    """A box or lasso drawn on the scatter."""

    key = "region"
    always_in_json = True

    def parse(self, raw: Any, ctx: FilterContext) -> Region | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise InputError("region must be an object")
        kind = raw.get("kind")
        if kind == "box":
            x, y = raw.get("x"), raw.get("y")
            if not (isinstance(x, list) and isinstance(y, list) and len(x) == 2 and len(y) == 2):
                raise InputError("box region needs x and y as [low, high]")
            xs = sorted(_number(v, "box bound") for v in x)
            ys = sorted(_number(v, "box bound") for v in y)
            return Region("box", (xs[0], xs[1]), (ys[0], ys[1]))
        if kind == "lasso":
            pts = raw.get("points")
            if not isinstance(pts, list) or not 3 <= len(pts) <= MAX_LASSO_POINTS:
                raise InputError(f"lasso region needs 3 to {MAX_LASSO_POINTS} points")
            clean = []
            for p in pts:
                if not isinstance(p, (list, tuple)) or len(p) != 2:
                    raise InputError("lasso points must be [x, y] pairs")
                clean.append((_number(p[0], "lasso point"), _number(p[1], "lasso point")))
            points = tuple(simplify(clean, LASSO_VERTICES))
            return Region("lasso", points=points, grid=_snapped_lasso(points, ctx))
        raise InputError("region kind must be 'box' or 'lasso'")

    def to_json(self, value: Region | None) -> dict | None:
        return value.to_dict() if value else None

    def where(self, value: Region, ctx: FilterContext) -> tuple[str, list]:
        if value.kind == "box":
            return (f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?",
                    [value.x[0], value.x[1], value.y[0], value.y[1]])
        if value.grid is not None:
            return grid_cells_sql(value.grid)
        return lasso_sql(list(value.points))

    def describe(self, value: Region, segment_names: list[str]) -> list[str]:
        if value.kind == "box":
            (x0, x1), (y0, y1) = value.x, value.y
            return [f"box x {_fmt(x0)} to {_fmt(x1)}, y {_fmt(y0)} to {_fmt(y1)}"]
        return [f"lasso region ({len(value.points)} points)"]

    def control_value(self, value: Any, column: str | None = None, bounds: dict | None = None) -> Any:
        return None  # the scatter's own selection is only ever cleared from the server

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        return region_from_selection(change)


def _snapped_lasso(points: tuple[tuple[float, float], ...], ctx: FilterContext) -> Any:
    """The lasso as whole cells of the run's grid (like a box, snapped, so the pre-aggregated tables
    answer it exactly), or None when the run has no tables (the exact polygon test then runs)."""
    if ctx.store is None or ctx.run is None:
        return None
    from core import aggregates  # deferred: core.aggregates builds on this module

    cube = aggregates.load(ctx.store, ctx.run.run_id)
    return aggregates.lasso_grid(cube, points) if cube is not None else None


class RuleKind(FilterKind):
    """Customers matching a segment's rule (the CRM-ready SQL the run stored for that segment)."""

    key = "rule"

    def parse(self, raw: Any, ctx: FilterContext) -> RuleChoice | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InputError("rule must be a segment number")
        run = ctx.run
        if run is None or not any(s.rule for s in run.segments):
            raise InputError("this run has no segment rules; run the segmentation again to get them")
        segment = next((s for s in run.segments if s.id == raw), None)
        if segment is None:
            raise InputError(f"rule must name one of the run's segments: {_id_list(ctx.segment_ids)}")
        if not segment.rule:
            raise InputError(f"segment {raw} ({segment.name}) has no rule")
        return RuleChoice(segment.id, segment.rule)

    def to_json(self, value: RuleChoice | None) -> int | None:
        return value.segment if value else None

    def where(self, value: RuleChoice, ctx: FilterContext) -> tuple[str, list]:
        # Run.segments[i].rule is written by the core when the run is fitted (double-quoted
        # identifiers, numeric literals) and read back from the run here, never from the client.
        return f"({value.sql})", []

    def describe(self, value: RuleChoice, segment_names: list[str]) -> list[str]:
        n = value.segment
        name = segment_names[n - 1] if 0 < n <= len(segment_names) else str(n)
        return [f"matching the rule of segment {n} ({name})"]


class OriginalKind(FilterKind):
    """Only rows whose chosen features were all present in the file (no filled value)."""

    key = "original"

    def parse(self, raw: Any, ctx: FilterContext) -> OriginalRows | None:
        if raw is None or raw is False:
            return None
        if raw is not True:
            raise InputError("original must be true or false")
        run = ctx.run
        if run is None:
            raise InputError("the 'original values only' filter needs a run")
        features = tuple(f for f in run.features if f in ctx.dataset_columns)
        return OriginalRows(run.dataset_id, features, tuple(ctx.dataset_columns))

    def to_json(self, value: OriginalRows | None) -> bool | None:
        return True if value else None

    def where(self, value: OriginalRows, ctx: FilterContext) -> tuple[str, list]:
        if not value.features:
            return "TRUE", []
        present = " AND ".join(f"d.{quote_ident(f, list(value.columns))} IS NOT NULL" for f in value.features)
        # The run table holds filled values; its dataset table keeps the file's NULLs, row for row.
        return f"{ROW} IN (SELECT d.{ROW} FROM {dataset_table(value.dataset_id)} d WHERE {present})", []

    def describe(self, value: OriginalRows, segment_names: list[str]) -> list[str]:
        return ["only rows with original (not filled) values in " + ", ".join(value.features)]

    def control_value(self, value: Any, column: str | None = None, bounds: dict | None = None) -> bool:
        return bool(value)

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        return True if change else None


class DatesKind(FilterKind):
    """Date ranges on the run's date columns (DATE columns, and ISO date text such as an RFM table's
    first_purchase). The client sends {column: [from, to]} as ISO days; its control, a slider, works in
    days since 1970-01-01 (`day_number`) and at its full extent filters nothing."""

    key = "dates"

    def parse(self, raw: Any, ctx: FilterContext) -> DateRanges | None:
        if raw is None or raw == {}:
            return None
        if not isinstance(raw, dict) or len(raw) > MAX_RANGES:
            raise InputError("dates must be an object of column -> [from, to]")
        out = []
        for col, pair in raw.items():
            quote_ident(col, list(ctx.dates))
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise InputError(f"the date range for '{col}' must be [from, to]")
            lo, hi = (_iso_day(v, col) for v in pair)
            if lo is not None and hi is not None and lo > hi:
                lo, hi = hi, lo
            out.append((col, lo, hi))
        return DateRanges(tuple(out), tuple(ctx.dates))

    def to_json(self, value: DateRanges | None) -> dict | None:
        return {col: [lo, hi] for col, lo, hi in value.ranges} if value else None

    def where(self, value: DateRanges, ctx: FilterContext) -> tuple[str, list]:
        parts, params = [], []
        for col, lo, hi in value.ranges:
            day = f"TRY_CAST({quote_ident(col, list(value.columns))} AS DATE)"
            if lo is not None:
                parts.append(f"{day} >= ?::DATE")
                params.append(lo)
            if hi is not None:
                parts.append(f"{day} <= ?::DATE")
                params.append(hi)
        return (" AND ".join(parts) or "TRUE"), params

    def describe(self, value: DateRanges, segment_names: list[str]) -> list[str]:
        return [f"{col} {lo or 'any date'} to {hi or 'any date'}" for col, lo, hi in value.ranges]

    def control_value(self, value: DateRanges | None, column: str | None = None,
                      bounds: dict | None = None) -> Any:
        """A slider's [from, to] in day numbers: the filtered range, else the column's full extent."""
        full = list((bounds or {}).get(column, (None, None)))
        for col, lo, hi in (value.ranges if value else ()):
            if col == column:
                return [day_number(lo) if lo else full[0], day_number(hi) if hi else full[1]]
        return full

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        dates = dict(current or {})
        if change is None or _is_full(change, bounds.get(column)):
            dates.pop(column, None)  # a slider at its full extent filters nothing
        else:
            if not isinstance(change, (list, tuple)) or len(change) != 2:
                raise InputError(f"the date range for '{column}' must be [from, to]")
            lo, hi = sorted(_finite_pair(change))
            dates[column] = [day_text(lo), day_text(hi)]
        return dates or None


# The registry: order is the order of the WHERE's terms and of the words.
KINDS: dict[str, FilterKind] = {k.key: k for k in (
    SegmentsKind(), RangesKind(), CategoriesKind(), RegionKind(), RuleKind(), OriginalKind(), DatesKind(),
    SearchKind())}


def register_kind(kind: FilterKind) -> None:
    """Add a kind defined in another core module (core/model_filters.py) to the registry."""
    KINDS[kind.key] = kind


# -- the spec ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterSpec:
    run_id: str
    segments: tuple[int, ...] = ()  # empty: every segment
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # inclusive
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # empty tuple: no filter
    region: Region | None = None
    rule: RuleChoice | None = None
    original: OriginalRows | None = None
    dates: DateRanges | None = None
    search: Search | None = None
    poor_fit: bool | None = None  # core/model_filters.py
    transition: Any = None  # core.model_filters.Transition

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"run_id": self.run_id}
        for key, kind in KINDS.items():
            value = getattr(self, key)
            if kind.always_in_json or _active(kind, value):
                out[key] = kind.to_json(value)
        return out

    @property
    def is_empty(self) -> bool:
        return not any(_active(kind, getattr(self, key)) for key, kind in KINDS.items())

    @classmethod
    def from_dict(cls, data: Any, numeric: list[str], categorical: list[str], k: int,
                  run: Run | None = None, dataset_columns: list[str] | None = None,
                  dates: list[str] | None = None, store: Any = None,
                  search_columns: list[str] | None = None) -> "FilterSpec":
        """Validate a client-sent spec against the run's columns and segments; raise InputError if bad.
        Valid segment ids are the run's (an outlier group has id k + 1), else 1..k."""
        if not isinstance(data, dict):
            raise InputError("filter must be an object")
        run_id = check_id(data.get("run_id"), "run")
        ids = tuple(run.segment_ids) if run is not None and run.segments else tuple(range(1, k + 1))
        ctx = FilterContext(list(numeric), list(categorical), ids, run, tuple(dataset_columns or ()),
                            search_columns=tuple(search_columns or ()), dates=tuple(dates or ()), store=store)
        return cls(run_id, **{key: kind.parse(data.get(key), ctx) for key, kind in KINDS.items()})


def _active(kind: FilterKind, value: Any) -> bool:
    return value is not None and value != kind.empty


def where_clause(spec: FilterSpec, numeric: list[str], categorical: list[str]) -> tuple[str, list]:
    """SQL boolean expression over a run table, and its bound parameters. 'TRUE' when unfiltered."""
    ctx = FilterContext(list(numeric), list(categorical))
    parts: list[str] = []
    params: list = []
    for key, kind in KINDS.items():
        value = getattr(spec, key)
        if _active(kind, value):
            sql, p = kind.where(value, ctx)
            parts.append(sql)
            params += p
    return (" AND ".join(parts) if parts else "TRUE"), params


def describe(spec: FilterSpec, segment_names: list[str] | None = None) -> str:
    """The filter in words, e.g. "segments 1 (Careful), 3; Age 20 to 40; Gender: Female; lasso (12 points)"."""
    parts: list[str] = []
    for key, kind in KINDS.items():
        value = getattr(spec, key)
        if _active(kind, value):
            parts += kind.describe(value, segment_names or [])
    return "; ".join(parts) if parts else "none (all customers of the run)"


def active_items(spec: FilterSpec, segment_names: list[str] | None = None
                 ) -> list[tuple[str, str | None, str]]:
    """Every active filter part as (kind key, column or None, words): the count bar's chips."""
    out = []
    for key, kind in KINDS.items():
        value = getattr(spec, key)
        if _active(kind, value):
            out += [(key, col, words) for col, words in kind.items(value, segment_names or [])]
    return out


def remove_item(spec_json: dict, key: str, column: str | None) -> dict:
    """The spec JSON without one part (a chip's remove button); unvalidated: parse it after."""
    kind = KINDS.get(key)
    if kind is None:
        raise InputError(f"unknown filter kind '{str(key)[:40]}'")
    return {**spec_json, key: kind.remove(spec_json.get(key), column)}


def control_values(spec: FilterSpec, key: str, columns: list[str] | None = None,
                   bounds: dict[str, tuple[float, float]] | None = None) -> Any:
    """What the controls of kind `key` show: one value, or one per column when columns are given."""
    kind = KINDS[key]
    value = getattr(spec, key)
    if columns is None:
        return kind.control_value(value, None, bounds)
    return {c: kind.control_value(value, c, bounds) for c in columns}


def apply_change(spec_json: dict, key: str, change: Any, column: str | None,
                 bounds: dict[str, tuple[float, float]]) -> dict:
    """The spec JSON after a control of kind `key` sent `change` (unvalidated: parse it after)."""
    kind = KINDS.get(key)
    if kind is None:
        raise InputError(f"unknown filter kind '{str(key)[:40]}'")
    new = kind.apply(spec_json.get(key), change, column, bounds)
    return spec_json if new is UNCHANGED else {**spec_json, key: new}


# Kinds defined in their own modules register themselves on import (a plain import: safe whichever
# module is imported first).
import core.model_filters  # noqa: E402,F401
