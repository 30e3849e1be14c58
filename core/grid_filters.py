"""The customer grid's column filters as parts of the one filter spec: AG Grid's filterModel (number
ranges, text "contains") to the "ranges" and "search" kinds, and back (what the grid's filters show)."""
from __future__ import annotations

import sys
from typing import Any

from core.errors import InputError

GRID = "grid"  # the event of a changed grid filterModel (callbacks/filter_state.py)
NUMBER_OPTIONS = ["inRange", "greaterThanOrEqual", "lessThanOrEqual", "equals"]
TEXT_OPTIONS = ["contains"]
_FAR = sys.float_info.max  # an open end of a one-sided number filter (finite: specs refuse infinities)
MAX_GRID_FILTERS = 200


def spec_from_grid_model(spec_json: dict, model: Any, bounds: dict[str, tuple[float, float]]) -> dict:
    """The spec JSON after the grid's filterModel changed: the model holds every grid filter (it is
    kept in step with the spec), so its number filters replace the ranges and its text filters the
    search kind's columns. Unvalidated: parse it after."""
    if model is None:
        model = {}
    if not isinstance(model, dict) or len(model) > MAX_GRID_FILTERS:
        raise InputError("the grid's filters must be an object of column -> filter")
    ranges, texts = {}, {}
    for col, f in model.items():
        if not isinstance(f, dict):
            raise InputError(f"the grid filter of '{str(col)[:40]}' must be an object")
        if f.get("filterType") == "number":
            ranges[col] = _number_range(col, f, bounds.get(col))
        elif f.get("filterType") == "text":
            if f.get("type") != "contains":
                raise InputError(f"the grid filter of '{str(col)[:40]}' must be 'contains'")
            texts[col] = f.get("filter")
        else:
            raise InputError(f"the grid filter of '{str(col)[:40]}' must be a number or a text filter")
    search = dict(spec_json.get("search") or {})
    search["columns"] = texts
    search = {k: v for k, v in search.items() if v}
    return {**spec_json, "ranges": ranges, "search": search or None}


def _number_range(col: str, f: dict, full: tuple[float, float] | None) -> list:
    kind, a, b = f.get("type"), f.get("filter"), f.get("filterTo")
    lo, hi = full if full else (-_FAR, _FAR)
    if kind == "inRange":
        return [a, b]
    if kind == "greaterThanOrEqual":
        return [a, hi]
    if kind == "lessThanOrEqual":
        return [lo, a]
    if kind == "equals":
        return [a, a]
    raise InputError(f"the grid filter of '{str(col)[:40]}' must be one of: {', '.join(NUMBER_OPTIONS)}")


def grid_model(spec_json: dict) -> dict:
    """The grid's filterModel showing a spec: every range as "inRange", every searched column as "contains"."""
    model: dict[str, dict] = {}
    for col, (lo, hi) in (spec_json.get("ranges") or {}).items():
        model[col] = {"filterType": "number", "type": "inRange", "filter": lo, "filterTo": hi}
    for col, text in ((spec_json.get("search") or {}).get("columns") or {}).items():
        model[col] = {"filterType": "text", "type": "contains", "filter": text}
    return model
