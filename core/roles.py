"""Column roles: the one home of the rule that decides which columns are identifiers, numeric
features, categorical codes, dates or excluded, and which columns a run uses by default.

Roles are decided at ingest (ColumnInfo.role and ColumnInfo.reason); this module reads them back
with the quality report's findings (constant and empty columns are excluded from the features).
"""
from __future__ import annotations

from core.models import (
    CATEGORICAL,
    DATE,
    EXCLUDED,
    IDENTIFIER,
    NUMERIC,
    RESERVED,
    DatasetInfo,
)


def column_roles(info: DatasetInfo) -> dict[str, dict[str, str]]:
    """Every column of the dataset -> {"role": ..., "reason": ...}, in the dataset's column order."""
    q = info.quality
    constant = {f.column for f in q.findings if f.rule == "constant_column" and f.column}
    identifiers = set(q.identifier_columns)
    if info.id_column:
        identifiers.add(info.id_column)
    out: dict[str, dict[str, str]] = {}
    for c in info.columns:
        if c.name in RESERVED:
            continue
        role, reason = c.role, c.reason
        if c.name in identifiers or role == IDENTIFIER:
            role, reason = IDENTIFIER, reason or "a different value for (almost) every customer"
        elif c.name in constant:
            role, reason = EXCLUDED, "the same value in every row"
        elif info.rows_loaded and q.missing.get(c.name, 0) >= info.rows_loaded:
            role, reason = EXCLUDED, "missing in every row"
        elif not reason:
            reason = {
                NUMERIC: "numbers",
                CATEGORICAL: "text values",
                DATE: "dates",
            }.get(role, "")
        out[c.name] = {"role": role, "reason": reason}
    return out


def default_features(info: DatasetInfo) -> list[str]:
    """Numeric, non-identifier columns that carry information: not constant and not all missing."""
    return [name for name, r in column_roles(info).items() if r["role"] == NUMERIC]
