"""Ingest, shared base: the staged table (StagedFile), file and table-name checks, error wording,
column-name cleaning, and the last staging step every reader shares (empty rows and unnamed empty
columns dropped, rows counted). Constants of the reader live here too."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.errors import InputError
from core.models import RESERVED, ROW
from core.store import quote_ident

SNIFF_BYTES = 256 * 1024
SNIFF_RECORDS = 1000
MAX_NAME = 120
NUMERIC_SHARE = 0.5  # numeric when strictly more than this share of present values parse
MAX_ABS = 1e150  # larger magnitudes overflow any variance/distance (x*x > 1.8e308): not_finite
FEW_POINTS = 10  # warn when the numeric columns hold fewer distinct points (the elbow sweeps k=1..10)
PROFILE_CHUNK = 20  # columns per profiling query: DuckDB plans very wide SELECTs superlinearly
EXTRA = "__extra"  # staged-table column holding the first field beyond the last column, if any
INTERNAL_NAMES = {n.lower() for n in (*RESERVED, EXTRA)}
DELIMITERS = (",", ";", "\t", "|")
MISSING_TOKENS = ("", "?", "na", "n/a", "#n/a", "null", "none", "nan", "-")

# SQL pieces (constants only; never user text)
_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"
_TRIM_RE = "'^[\\s\u00a0]+|[\\s\u00a0]+$'"  # leading/trailing whitespace incl. no-break space
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_FLOAT_TYPES = {"UBIGINT", "HUGEINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL"}
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass
class StagedFile:
    """A staged table: `__row` BIGINT (1-based data record number) plus `columns` in file order.

    Columns read from a file are VARCHAR, trimmed of surrounding whitespace (`trimmed=True`); Parquet
    numeric columns, or those of a table a caller builds (core/rfm.py: set `table` and `columns`, leave
    the rest), may already be numeric and are then kept numeric by `publish_staged`. An optional `__extra` VARCHAR column holds the first field beyond the last column
    for rows that had too many. The table is TEMP: it vanishes with the transaction's cursor."""

    table: str
    columns: list[str]
    rows: int = 0
    source: str = ""
    file_format: str = "table"  # csv | text (whitespace runs) | xlsx | parquet | table
    encoding: str | None = None
    delimiter: str | None = None
    header: bool = True
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trimmed: bool = False  # text values already trimmed (stage_file does it once, in the copy)




# =================================================================================================
# reading: checks and errors
# =================================================================================================
def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise InputError(f"file not found: '{source}'")
    if not path.is_file():
        raise InputError(f"'{source}' is not a file")
    if path.stat().st_size == 0:
        raise InputError(f"'{source}' is empty (0 bytes); nothing to load")


def _check_table(table: str) -> str:
    if not isinstance(table, str) or not _TABLE_RE.match(table):
        raise InputError("a staging table name must be a plain identifier")
    return table


def _check_allowed(cur: duckdb.DuckDBPyConnection, path: Path, source: str) -> None:
    """Python reads (sniffing, Excel) obey the same folders as DuckDB's own file access."""
    try:
        # fetchall: DuckDB refuses register() while an earlier result is not fully fetched
        allowed, external = cur.execute(
            "SELECT current_setting('allowed_directories'), current_setting('enable_external_access')"
        ).fetchall()[0]
    except duckdb.Error:
        return
    if external or not allowed:
        return
    resolved = str(path.resolve())
    if not any(resolved.startswith(str(d).rstrip("/") + "/") for d in allowed):
        raise InputError(f"'{source}' is not in a folder this app may read")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    msg = " ".join(lines[:2])
    msg = re.sub(r"^(Invalid Input|Conversion|Binder|Parser|IO|Permission|Out of Memory) Error: ", "", msg)
    return msg if len(msg) <= 240 else msg[:237] + "..."


@contextmanager
def _reading(source: str, what: str) -> Iterator[None]:
    """Turn any library error while reading a user's file into one InputError line."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"could not read '{source}' as {what}: {_first_line(exc)}") from exc


# =================================================================================================
# column names
# =================================================================================================
def sanitize_names(raw: list[object], header: bool = True) -> tuple[list[str], list[str]]:
    """Clean, unique column names and one repair line per change (see the module docstring)."""
    repairs: list[str] = []
    cleaned: list[str] = []
    for i, value in enumerate(raw, start=1):
        original = "" if value is None else str(value)
        name = re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f]", " ", original)).strip()
        if name and name != original.strip():
            repairs.append(f"column {i} name '{_short(original)}': line breaks or control characters "
                           f"replaced by spaces -> '{_short(name)}'")
        if not name:
            name = f"column_{i}"
            if header:
                repairs.append(f"blank column name {i} renamed to '{name}'")
        if len(name) > MAX_NAME:
            short = name[:MAX_NAME].rstrip()
            repairs.append(f"column {i} name ({len(name)} characters) truncated to {MAX_NAME}: '{_short(short)}'")
            name = short
        if name.lower() in INTERNAL_NAMES:
            new = name.lstrip("_") or f"column_{i}"
            repairs.append(f"column name '{name}' is reserved by the app; renamed to '{new}'")
            name = new
        cleaned.append(name)
    taken = {n.lower() for n in cleaned}
    seen: set[str] = set()
    out: list[str] = []
    for i, name in enumerate(cleaned, start=1):
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
            continue
        k = 2
        while f"{name}_{k}".lower() in seen or f"{name}_{k}".lower() in taken:
            k += 1
        new = f"{name}_{k}"
        seen.add(new.lower())
        out.append(new)
        repairs.append(f"duplicate column name '{_short(name)}' (column {i}) renamed to '{_short(new)}'")
    return out, repairs


def _short(text: object, limit: int = 60) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."



def _unnamed(names: list[str], raw: list) -> list[str]:
    return [nm for nm, v in zip(names, raw) if v is None or not str(v).strip()]


def _trim_sql(expr: str) -> str:
    return f"regexp_replace({expr}, {_TRIM_RE}, '', 'g')"


def _finish_staging(cur, staged: StagedFile, unnamed: list[str]) -> None:
    """Drop fully empty records and unnamed (`unnamed`: names given to blank header cells) columns
    without any value, drop __extra when unused, count rows."""
    table = staged.table
    blank = " AND ".join(f"coalesce({quote_ident(c)}::VARCHAR, '') = ''" for c in staged.columns)
    cols = set(r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall())
    if EXTRA in cols:
        blank += f" AND {EXTRA} IS NULL"
    empty = cur.execute(f"SELECT count(*), min({ROW}) FROM {table} WHERE {blank}").fetchone()
    if empty[0]:
        cur.execute(f"DELETE FROM {table} WHERE {blank}")
        staged.repairs.append(
            f"{empty[0]} empty row{'s' if empty[0] != 1 else ''} (every field blank, first at data row "
            f"{empty[1]}) skipped"
        )
    if EXTRA in cols:
        if not cur.execute(f"SELECT count({EXTRA}) FROM {table}").fetchone()[0]:
            cur.execute(f"ALTER TABLE {table} DROP COLUMN {EXTRA}")
    # unnamed columns without any value (e.g. a trailing delimiter on every line) carry nothing
    if unnamed and len(unnamed) < len(staged.columns):
        counts = cur.execute(
            "SELECT " + ", ".join(
                f"count_if(coalesce({quote_ident(c)}::VARCHAR, '') <> '')" for c in unnamed
            ) + f" FROM {table}"
        ).fetchone()
        for c, k in zip(unnamed, counts):
            if k == 0:
                cur.execute(f"ALTER TABLE {table} DROP COLUMN {quote_ident(c)}")
                staged.columns.remove(c)
                staged.repairs.append(f"column '{c}' has no name and no values (a trailing delimiter?); dropped")
    staged.rows = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# =================================================================================================
