"""The "search" filter kind: the customer grid's quick search and its text column filters, in SQL
over the whole run (never client-side over a page)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import InputError
from core.filter_base import MAX_RANGES, FilterContext, FilterKind
from core.models import ROW
from core.store import quote_ident

MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class Search:
    """A quick search (any searchable column, or the row number, contains `text`) and per-column
    "contains" filters (the customer grid's text column filters). Case-insensitive."""

    text: str | None = None
    columns: tuple[tuple[str, str], ...] = ()  # (column, text)
    searchable: tuple[str, ...] = ()  # the run's identifier and text columns, checked at parse time


class SearchKind(FilterKind):
    """The customer grid's quick search and its text column filters: SQL over the whole run, never a page."""

    key = "search"

    def parse(self, raw: Any, ctx: FilterContext) -> Search | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise InputError("search must be an object with 'text' and/or 'columns'")
        text = _search_text(raw.get("text"), "search text")
        cols = raw.get("columns") or {}
        if not isinstance(cols, dict) or len(cols) > MAX_RANGES:
            raise InputError("search columns must be an object of column -> text")
        pairs = []
        for col, value in cols.items():
            quote_ident(col, list(ctx.search_columns))
            value = _search_text(value, f"text for '{col}'")
            if value:
                pairs.append((col, value))
        return Search(text, tuple(pairs), tuple(ctx.search_columns)) if text or pairs else None

    def to_json(self, value: Search | None) -> dict | None:
        if not value:
            return None
        out: dict[str, Any] = {}
        if value.text:
            out["text"] = value.text
        if value.columns:
            out["columns"] = dict(value.columns)
        return out

    def where(self, value: Search, ctx: FilterContext) -> tuple[str, list]:
        parts, params = [], []
        if value.text:
            # In the run's identifier and text columns (known at parse time), or the row number.
            cols = list(value.searchable)
            anywhere = [f"contains(lower({quote_ident(c, cols)}::VARCHAR), lower(?))" for c in cols]
            parts.append("(" + " OR ".join(anywhere + [f"{ROW}::VARCHAR = ?"]) + ")")
            params += [value.text] * len(anywhere) + [value.text]
        for col, text in value.columns:
            parts.append(f"contains(lower({quote_ident(col, list(value.searchable))}::VARCHAR), lower(?))")
            params.append(text)
        return " AND ".join(parts), params

    def describe(self, value: Search, segment_names: list[str]) -> list[str]:
        return [w for _, w in self.items(value, segment_names)]

    def items(self, value: Search, segment_names: list[str]) -> list[tuple[str | None, str]]:
        out: list[tuple[str | None, str]] = [(None, f'search "{value.text}"')] if value.text else []
        return out + [(col, f'{col} contains "{text}"') for col, text in value.columns]

    def remove(self, current: Any, column: str | None) -> Any:
        current = dict(current or {})
        if column is None:
            current.pop("text", None)
        else:
            current["columns"] = {c: v for c, v in (current.get("columns") or {}).items() if c != column}
        return current if current.get("text") or current.get("columns") else None

    def control_value(self, value: Any, column: str | None = None, bounds: dict | None = None) -> str:
        return value.text or "" if value else ""

    def apply(self, current: Any, change: Any, column: str | None, bounds: dict) -> Any:
        current = dict(current or {})
        if isinstance(change, dict):  # the grid's text column filters: all of them, replacing the last
            current["columns"] = change
        else:  # the quick search box
            current["text"] = change if isinstance(change, str) and change.strip() else None
        current = {k: v for k, v in current.items() if v}
        return current or None


def _search_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_SEARCH_CHARS:
        raise InputError(f"{what} must be text of at most {MAX_SEARCH_CHARS} characters")
    return value.strip() or None


def search_columns(ctx: Any) -> list[str]:
    """Columns the quick search looks in (ctx: a core.views.RunContext): identifiers and every text
    column of the run table."""
    text = [c for c in ctx.columns if ctx.types.get(c, "").upper() == "VARCHAR"]
    return list(dict.fromkeys(ctx.identifiers + text))
