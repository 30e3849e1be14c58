"""The filter spec every view shares, its validation, and its one translation into a SQL WHERE.

A FilterSpec is small (ids, ranges, a polygon) and lives in the browser's dcc.Store; the server
re-validates it on every request because a client can send anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import InputError
from core.models import SEGMENT, X, Y
from core.store import check_id, quote_ident

MAX_SEGMENTS = 10
MAX_RANGES = 200
MAX_CATEGORY_VALUES = 1000
MAX_LASSO_POINTS = 5000  # accepted from the client
LASSO_VERTICES = 200  # used in SQL after thinning


@dataclass(frozen=True)
class Region:
    """A box or lasso selection in the scatter's coordinates (__x, __y)."""

    kind: str  # "box" | "lasso"
    x: tuple[float, float] | None = None
    y: tuple[float, float] | None = None
    points: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        if self.kind == "box":
            return {"kind": "box", "x": list(self.x), "y": list(self.y)}
        return {"kind": "lasso", "points": [list(p) for p in self.points]}


@dataclass(frozen=True)
class FilterSpec:
    run_id: str
    segments: tuple[int, ...] = ()  # empty: every segment
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # inclusive
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # empty tuple: no filter
    region: Region | None = None

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "segments": list(self.segments),
            "ranges": {c: list(r) for c, r in self.ranges.items()},
            "categories": {c: list(v) for c, v in self.categories.items()},
            "region": self.region.to_dict() if self.region else None,
        }

    @property
    def is_empty(self) -> bool:
        return not (self.segments or self.ranges or self.categories or self.region)

    @classmethod
    def from_dict(
        cls, data: Any, numeric: list[str], categorical: list[str], k: int
    ) -> "FilterSpec":
        """Validate a client-sent spec against the run's columns and k; raise InputError if bad."""
        if not isinstance(data, dict):
            raise InputError("filter must be an object")
        run_id = check_id(data.get("run_id"), "run")
        segments = _segments(data.get("segments") or [], k)
        ranges = _ranges(data.get("ranges") or {}, numeric)
        categories = _categories(data.get("categories") or {}, categorical)
        region = _region(data.get("region"))
        return cls(run_id, segments, ranges, categories, region)


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{what} must be a number")
    try:
        f = float(v)
    except OverflowError:  # an integer beyond the float range, e.g. 1e400 sent as digits
        raise InputError(f"{what} must be finite") from None
    if not math.isfinite(f):
        raise InputError(f"{what} must be finite")
    return f


def _segments(raw: Any, k: int) -> tuple[int, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_SEGMENTS:
        raise InputError("segments must be a short list of segment numbers")
    out = set()
    for s in raw:
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= k:
            raise InputError(f"segment must be a number from 1 to {k}")
        out.add(s)
    return tuple(sorted(out))


def _ranges(raw: Any, numeric: list[str]) -> dict[str, tuple[float, float]]:
    if not isinstance(raw, dict) or len(raw) > MAX_RANGES:
        raise InputError("ranges must be an object of column -> [low, high]")
    out = {}
    for col, pair in raw.items():
        quote_ident(col, numeric)
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InputError(f"range for '{col}' must be [low, high]")
        lo, hi = _number(pair[0], "range bound"), _number(pair[1], "range bound")
        out[col] = (min(lo, hi), max(lo, hi))
    return out


def _categories(raw: Any, categorical: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or len(raw) > MAX_RANGES:
        raise InputError("categories must be an object of column -> [values]")
    out = {}
    for col, values in raw.items():
        quote_ident(col, categorical)
        if not isinstance(values, list) or len(values) > MAX_CATEGORY_VALUES:
            raise InputError(f"values for '{col}' must be a list of at most {MAX_CATEGORY_VALUES}")
        if not all(isinstance(v, str) for v in values):
            raise InputError(f"values for '{col}' must be text")
        if values:
            out[col] = tuple(dict.fromkeys(values))
    return out


def _region(raw: Any) -> Region | None:
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
        return Region("lasso", points=tuple(_thin(clean, LASSO_VERTICES)))
    raise InputError("region kind must be 'box' or 'lasso'")


def _thin(points: list[tuple[float, float]], n: int) -> list[tuple[float, float]]:
    if len(points) <= n:
        return points
    step = len(points) / n
    return [points[int(i * step)] for i in range(n)]


def where_clause(spec: FilterSpec, numeric: list[str], categorical: list[str]) -> tuple[str, list]:
    """SQL boolean expression over a run table, and its bound parameters. 'TRUE' when unfiltered."""
    parts: list[str] = []
    params: list = []
    if spec.segments:
        parts.append(f"list_contains(?::INTEGER[], {SEGMENT})")
        params.append(list(spec.segments))
    for col, (lo, hi) in spec.ranges.items():
        parts.append(f"{quote_ident(col, numeric)} BETWEEN ? AND ?")
        params += [lo, hi]
    for col, values in spec.categories.items():
        parts.append(f"list_contains(?::VARCHAR[], {quote_ident(col, categorical)}::VARCHAR)")
        params.append(list(values))
    if spec.region is not None:
        sql, p = _region_sql(spec.region)
        parts.append(sql)
        params += p
    return (" AND ".join(parts) if parts else "TRUE"), params


def _region_sql(region: Region) -> tuple[str, list]:
    if region.kind == "box":
        return (
            f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?",
            [region.x[0], region.x[1], region.y[0], region.y[1]],
        )
    # Lasso: even-odd ray casting, one term per non-horizontal edge, behind a bounding-box test.
    pts = list(region.points)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    terms, params = [], [min(xs), max(xs), min(ys), max(ys)]
    for (xi, yi), (xj, yj) in zip(pts, pts[1:] + pts[:1]):
        if yi == yj:
            continue
        slope = (xj - xi) / (yj - yi)
        terms.append(f"CASE WHEN {Y} >= ? AND {Y} < ? AND {X} < ? + ? * ({Y} - ?) THEN 1 ELSE 0 END")
        params += [min(yi, yj), max(yi, yj), xi, slope, yi]
    if not terms:
        return "FALSE", []
    crossings = " + ".join(terms)
    return (
        f"({X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ? AND ({crossings}) % 2 = 1)",
        params,
    )
