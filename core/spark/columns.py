"""Spark column references for user-supplied names (the Spark twin of core.store.quote_ident)."""
from __future__ import annotations

from collections.abc import Iterable

from core.store import quote_ident


def col(name: str, allowed: Iterable[str] | None = None):
    """F.col for any column name: checked against `allowed` like quote_ident, then backquoted so dots,
    spaces and backquotes in names are taken literally."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    quote_ident(name, allowed)  # the same check and the same InputError as the DuckDB side
    return F.col("`" + name.replace("`", "``") + "`")
