"""The filter kinds of scored and compared runs: "poor_fit" (customers a saved model fits poorly) and
"transition" (customers who moved from one segment of another run to one segment of this run).

Each kind follows core/filters.py's FilterKind contract (docs/ARCHITECTURE.md "Adding a filter kind")
and registers itself in core.filters.KINDS; they live here so core/filters.py stays small.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.filters import UNCHANGED, FilterContext, FilterKind, register_kind
from core.models import ROW, SEGMENT, Run
from core.scoring import POOR_FIT
from core.store import quote_ident, run_table
from core.transitions import link_runs

SCORED_FILL = "model"  # Run.fill of a run made by core.scoring.score_dataset (its table has POOR_FIT)


def is_scored_run(run: Run | None) -> bool:
    """A run that carries a saved model's segments (scored, not fitted): its table has POOR_FIT."""
    return run is not None and run.fill == SCORED_FILL


class PoorFitKind(FilterKind):
    """Only customers farther from their segment's centre than the model's outlier threshold."""

    key = "poor_fit"

    def parse(self, raw: Any, ctx: FilterContext) -> bool | None:
        if raw is None or raw is False:
            return None
        if raw is not True:
            raise InputError("poor_fit must be true or false")
        if not is_scored_run(ctx.run):
            raise InputError("only a run scored with a saved model has poor-fit customers; "
                             "use 'Score a file with this run' first")
        return True

    def where(self, value: bool, ctx: FilterContext) -> tuple[str, list]:
        return f"{POOR_FIT}", []

    def describe(self, value: bool, segment_names: list[str]) -> list[str]:
        return ["only poor fits (farther from their segment than the model's threshold)"]

    def control_value(self, value: Any, column: str | None = None, bounds: dict | None = None) -> bool:
        return bool(value)

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        return True if change else None


@dataclass(frozen=True)
class Transition:
    """Customers in segment `from_segment` of the other run and `to_segment` of this run."""

    other_run_id: str
    from_segment: int
    to_segment: int
    from_name: str
    id_column: str | None  # None: the runs share a dataset, matched on __row
    columns: tuple[str, ...]  # the run tables' shared columns, to quote id_column against


class TransitionKind(FilterKind):
    """A cell of the compare heatmap: the client sends {"run": other run id, "from": id, "to": id}; the
    link (row or customer id column) is decided here from the stored runs, never by the client."""

    key = "transition"

    def parse(self, raw: Any, ctx: FilterContext) -> Transition | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) != {"run", "from", "to"}:
            raise InputError("transition must be {run, from, to}")
        if ctx.run is None or ctx.store is None:
            raise InputError("the transition filter needs a run")
        link = link_runs(ctx.store, ctx.run, raw["run"])
        other = ctx.store.get_run(link.other_run_id)
        src, dst = raw["from"], raw["to"]
        if _not_int(src) or src not in other.segment_ids:
            raise InputError(f"'from' must be a segment of the other run: {_ids(other.segment_ids)}")
        if _not_int(dst) or dst not in ctx.segment_ids:
            raise InputError(f"'to' must be a segment of this run: {_ids(ctx.segment_ids)}")
        name = next(s.name for s in other.segments if s.id == src)
        return Transition(other.run_id, src, dst, name, link.id_column, link.columns)

    def to_json(self, value: Transition | None) -> dict | None:
        if value is None:
            return None
        return {"run": value.other_run_id, "from": value.from_segment, "to": value.to_segment}

    def where(self, value: Transition, ctx: FilterContext) -> tuple[str, list]:
        other = run_table(value.other_run_id)
        if value.id_column is None:
            return (f"{SEGMENT} = ? AND {ROW} IN (SELECT o.{ROW} FROM {other} o WHERE o.{SEGMENT} = ?)",
                    [value.to_segment, value.from_segment])
        key = quote_ident(value.id_column, list(value.columns))
        # ids compared as text, as core.compare matches snapshots
        return (f"{SEGMENT} = ? AND {key}::VARCHAR IN "
                f"(SELECT o.{key}::VARCHAR FROM {other} o WHERE o.{SEGMENT} = ?)",
                [value.to_segment, value.from_segment])

    def describe(self, value: Transition, segment_names: list[str]) -> list[str]:
        n = value.to_segment
        to_name = segment_names[n - 1] if 0 < n <= len(segment_names) else str(n)
        return [f"moved from {value.from_name} (run {value.other_run_id}) to {to_name}"]

    def control_value(self, value: Any, column: str | None = None, bounds: dict | None = None) -> Any:
        return self.to_json(value)

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        """A heatmap click (Plotly clickData whose point's customdata is "other run:from:to");
        clicking the chosen cell again removes the filter."""
        if change is None:
            return None
        cell = transition_from_click(change)
        if cell is UNCHANGED:
            return UNCHANGED
        return None if cell == current else cell


def transition_from_click(click: Any) -> Any:
    """{run, from, to} from a heatmap's clickData (customdata "run:from:to", or a [run, from, to] list);
    UNCHANGED when the click carries no cell. The values are checked by TransitionKind.parse."""
    if not isinstance(click, dict):
        raise InputError("a matrix click must be an object")
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return UNCHANGED
    data = points[0].get("customdata")
    if isinstance(data, str) and len(data) <= 40:  # "run:from:to" (a heatmap point carries one value per cell)
        parts = data.split(":")
        data = [parts[0]] + [int(p) if p.isdigit() and len(p) <= 3 else p for p in parts[1:]]
    if not isinstance(data, list) or len(data) != 3:
        raise InputError("a matrix cell must carry [run, from, to]")
    return {"run": data[0], "from": data[1], "to": data[2]}


def _not_int(v: Any) -> bool:
    return isinstance(v, bool) or not isinstance(v, int)


def _ids(ids) -> str:
    return ", ".join(str(i) for i in ids) or "none"


register_kind(PoorFitKind())
register_kind(TransitionKind())
