"""The base of every filter kind (core/filters.py's registry) and the context a kind checks a
client's value against; with the small number helpers the kinds share."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from core.errors import InputError
from core.models import Run

MAX_RANGES = 200  # columns per kind a client may send


@dataclass(frozen=True)
class FilterContext:
    """What a kind may check a client's value against: the run's filterable columns and segment ids,
    and the run itself (kinds that need server-side facts: rules, features)."""

    numeric: list[str]
    categorical: list[str]
    segment_ids: tuple[int, ...] = ()
    run: Run | None = None
    dataset_columns: tuple[str, ...] = ()
    search_columns: tuple[str, ...] = ()  # identifiers and text columns (the quick search's)
    dates: tuple[str, ...] = ()  # the run's date columns (core.views.RunContext.date_columns)
    store: Any = None  # core.store.Store, for kinds that look up another run (transition)


# -- the kinds -------------------------------------------------------------------------------------
class FilterKind:
    """One filter kind. `key` is its JSON key in the spec and the FilterSpec field it fills."""

    key: ClassVar[str]
    empty: ClassVar[Any] = None
    always_in_json: ClassVar[bool] = False  # the five original keys: the URL/Store shape stays the same

    def parse(self, raw: Any, ctx: FilterContext) -> Any:
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        return value

    def where(self, value: Any, ctx: FilterContext) -> tuple[str, list]:
        raise NotImplementedError

    def describe(self, value: Any, segment_names: list[str]) -> list[str]:
        raise NotImplementedError

    def control_value(self, value: Any, column: str | None = None,
                      bounds: dict[str, tuple[float, float]] | None = None) -> Any:
        """What the kind's control shows for `value` (its JSON by default)."""
        return self.to_json(value)

    def apply(self, current: Any, change: Any, column: str | None,
              bounds: dict[str, tuple[float, float]]) -> Any:
        """The kind's JSON after its control (or selection) sent `change`; UNCHANGED when it says nothing."""
        return change if change not in (None, [], False, "") else self.to_json(self.empty)

    def items(self, value: Any, segment_names: list[str]) -> list[tuple[str | None, str]]:
        """The active filter as removable parts (column or None, words): one chip each."""
        return [(None, " ".join(self.describe(value, segment_names)))]

    def remove(self, current: Any, column: str | None) -> Any:
        """The kind's JSON without the part `column` names (None: the whole kind)."""
        return self.to_json(self.empty)


# -- helpers shared by the kinds -----------------------------------------------------------------------------------------
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


def _finite_pair(pair: Any) -> list:
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError("range bounds must be finite numbers")
    return list(pair)


def _is_full(value: Any, bounds: tuple[float, float] | None) -> bool:
    if bounds is None or not isinstance(value, (list, tuple)) or len(value) != 2:
        return False
    lo, hi = bounds
    tol = (hi - lo) * 1e-9 if hi > lo else 1e-12
    try:
        return float(min(value)) <= lo + tol and float(max(value)) >= hi - tol
    except (TypeError, ValueError):
        return False


def _clip(pair: list, bounds: tuple[float, float] | None) -> list:
    lo, hi = sorted(pair)
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        if lo > hi:  # a selection wholly outside the data: an empty range, kept as chosen
            lo = hi = pair[0]
    return [lo, hi]


def _id_list(ids: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in ids) or "none"


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def int_arg(value: Any, what: str, lo: int, hi: int) -> int:
    """A whole number from a client within [lo, hi], or InputError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number")
    if not lo <= value <= hi:
        raise InputError(f"{what} must be between {lo} and {hi}")
    return value
