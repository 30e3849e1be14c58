"""Ingest, publishing: `load_file` (read + publish in one transaction), `stage_file` (the reading
half, by format) and `publish_staged` (typing, cleaning, validation, rejects/issues, registration)."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from core import quality
from core.errors import InputError
from core.ingest.base import (
    EXTRA,
    FEW_POINTS,
    INTERNAL_NAMES,
    StagedFile,
    _check_allowed,
    _check_file,
    _check_table,
    _first_line,
)
from core.dates import date_sql
from core.ingest.coltypes import (
    _create_typed_table,
    _decide_roles,
    _missing,
    _narrow_integers,
    _number,
    _Plan,
    _profile,
    _t,
    _usable,
)
from core.ingest.derived import add_derived_columns, find_dates
from core.ingest.parquet import _stage_parquet
from core.ingest.text import _stage_text
from core.ingest.xlsx import _stage_xlsx
from core.models import DATE, IDENTIFIER, NUMERIC, ROW, ColumnInfo, DatasetInfo, QualityReport
from core.store import Store, dataset_table, new_id, quote_ident

log = logging.getLogger(__name__)


# public API
# =================================================================================================
def load_file(
    store: Store, path: str | Path, name: str | None = None, *, source_name: str | None = None
) -> DatasetInfo:
    """Read, type, clean, validate and publish a customer file as one dataset, atomically.

    `source_name` is the file name the user knows (uploads are saved under another name); it is
    recorded as the dataset's source and used in messages. `name` defaults to its stem.
    Raises InputError with an actionable message for anything unreadable or empty."""
    path = Path(path)
    source = source_name or path.name
    _check_file(path, source)
    name = (name or Path(source).stem or "dataset").strip() or "dataset"
    try:
        with store.transaction() as cur:
            staged = stage_file(cur, path, f"stage_{new_id()}", source_name=source)
            info = publish_staged(store, cur, staged, name, source)
            cur.execute(f"DROP TABLE IF EXISTS {staged.table}")
        return info
    except InputError:
        raise
    except Exception as exc:  # a bug or an unforeseen file: the user gets a line, the log a traceback
        log.exception("ingest of %s failed", source)
        raise InputError(f"could not load '{source}': {_first_line(exc)}") from exc


def stage_file(
    cur: duckdb.DuckDBPyConnection,
    path: str | Path,
    table: str,
    *,
    header: bool | None = None,
    source_name: str | None = None,
) -> StagedFile:
    """Read `path` into TEMP table `table`: `__row` + one column per source column, as text (Parquet
    numeric columns stay numeric). `header=None` detects a header row, True/False force it; headerless
    columns are named column_1..column_n. Raises InputError for unreadable, empty or header-only files."""
    path = Path(path)
    source = source_name or path.name
    table = _check_table(table)
    _check_file(path, source)
    _check_allowed(cur, path, source)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        staged = _stage_xlsx(cur, path, table, source, header)
    elif head.startswith(b"PAR1"):
        staged = _stage_parquet(cur, path, table, source)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"'{source}' is an old Excel .xls file or a password-protected workbook; "
            "save it as .xlsx or CSV and upload that"
        )
    elif head.startswith(b"\x1f\x8b"):
        raise InputError(f"'{source}' is a compressed (gzip) file; unpack it and upload the CSV inside")
    else:
        staged = _stage_text(cur, path, table, source, header)
    staged.source = source
    if staged.rows == 0:
        what = "a header but no data rows" if staged.file_format in ("csv", "text", "xlsx") else "no data rows"
        raise InputError(f"'{source}' has {what}; nothing to load")
    return staged


def publish_staged(
    store: Store,
    cur: duckdb.DuckDBPyConnection,
    staged: StagedFile,
    name: str,
    source: str,
    kind: str = "customers",
) -> DatasetInfo:
    """Type, clean, validate and register a staged table as a new dataset, inside the caller's
    transaction (`cur` must be the transaction's cursor). Creates `ds_<id>`, writes its rejects and
    issues, and calls `store.insert_dataset`. The staged table is left for the caller to drop."""
    table = _check_table(staged.table)
    types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
    if ROW not in types:
        raise InputError("staged table has no __row column")
    columns = list(staged.columns)
    _check_columns(columns, types, source)
    has_extra = EXTRA in types
    rows_read = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    if rows_read == 0:
        raise InputError(f"'{source}' has no data rows; nothing to load")

    repairs, warnings = list(staged.repairs), list(staged.warnings)
    plans = _profile(cur, table, columns, types, staged.delimiter, staged.trimmed)

    keep = f"{table}__keep"
    if any(p.distinct == rows_read for p in plans if quality.is_id_like(p.name)):
        dups = 0  # a column unique in every row: no two rows can be exact duplicates
    else:
        dups = quality.mark_first_rows(cur, table, columns + ([EXTRA] if has_extra else []), keep)
    rows_loaded = rows_read - dups
    if kind == "customers":  # transactions' dates are read by core/rfm
        find_dates(cur, table, plans)
    _decide_roles(plans, rows_loaded, repairs, warnings, customers=kind == "customers")

    dataset_id = new_id()
    ds = dataset_table(dataset_id)
    _create_typed_table(cur, ds, table, keep if dups else None, plans)
    _narrow_integers(cur, ds, plans)
    rejected = _record_typing_issues(cur, dataset_id, ds, table, plans)
    if has_extra:
        _record_extra_fields(cur, dataset_id, ds, table, len(columns), warnings)
    cur.execute(f"DROP TABLE IF EXISTS {keep}")

    col_infos = [ColumnInfo(p.name, p.role, p.sql_type, p.reason) for p in plans]
    col_infos = add_derived_columns(cur, ds, plans, col_infos, repairs)
    findings = quality.validate(cur, dataset_id, ds, col_infos, rows_loaded)
    missing = _missing_counts(cur, ds, [c.name for c in col_infos])
    _few_points_warning(cur, ds, col_infos, findings, warnings)
    ids = [p.name for p in plans if p.role == IDENTIFIER]
    report = QualityReport(
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        duplicates_removed=dups,
        identifier_columns=ids,
        missing=missing,
        rejected_values=rejected,
        findings=findings,
        repairs=repairs,
        warnings=warnings,
    )
    created = cur.execute("SELECT strftime(now()::TIMESTAMP, '%Y-%m-%d %H:%M:%S')").fetchone()[0]
    info = DatasetInfo(
        dataset_id=dataset_id,
        name=name,
        source=source,
        kind=kind,
        created_at=created,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        columns=col_infos,
        id_column=ids[0] if ids else None,
        quality=report,
    )
    store.insert_dataset(cur, info)
    return info


def _record_typing_issues(cur, dataset_id: str, ds: str, table: str, plans: list[_Plan]) -> dict[str, int]:
    """Rejects + non_numeric issues for text that did not parse; not_finite issues for inf/overflow."""
    rejected: dict[str, int] = {}
    kept = f"{ROW} IN (SELECT {ROW} FROM {ds})"
    for p in plans:
        if p.role == DATE:
            _record_unread_dates(cur, dataset_id, table, kept, p, rejected)
        if p.role != NUMERIC:
            continue
        q = quote_ident(p.name)
        if p.native:
            if p.nonfinite:
                cur.execute(
                    f"""
                    INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
                    SELECT ?, {ROW}, ?, 'not_finite', {q}::VARCHAR, true FROM {table}
                    WHERE {kept} AND NOT {_usable(f'{q}::DOUBLE')} AND NOT isnan({q}::DOUBLE)
                    """,
                    [dataset_id, p.name],
                )
            continue
        t = "t"
        v = _number(t, p)
        base = f"(SELECT {ROW}, {_t(q, p.trimmed)} AS t FROM {table} WHERE {kept})"
        if p.parsed < p.present:
            cur.execute(
                f"""
                INSERT INTO rejects (dataset_id, "row", column_name, raw_value, reason)
                SELECT ?, {ROW}, ?, t, 'not a number' FROM {base}
                WHERE NOT {_missing(t)} AND {v} IS NULL
                """,
                [dataset_id, p.name],
            )
            n = cur.execute(
                'SELECT count(*) FROM rejects WHERE dataset_id = ? AND column_name = ?', [dataset_id, p.name]
            ).fetchone()[0]
            if n:
                rejected[p.name] = int(n)
                cur.execute(
                    f"""
                    INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
                    SELECT dataset_id, "row", column_name, 'non_numeric', raw_value, false
                    FROM rejects WHERE dataset_id = ? AND column_name = ?
                    """,
                    [dataset_id, p.name],
                )
        if p.nonfinite:  # inf, -inf, 1e400 (NaN only comes from the "nan" missing token)
            cur.execute(
                f"""
                INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
                SELECT ?, {ROW}, ?, 'not_finite', t, true FROM {base}
                WHERE NOT {_missing(t)} AND NOT {_usable(v)} AND NOT isnan({v})
                """,
                [dataset_id, p.name],
            )
    return rejected


def _check_columns(columns: list[str], types: dict, source: str) -> None:
    """Every staged column exists and none uses a name the app reserves."""
    if not columns:
        raise InputError(f"'{source}' has no columns")
    for c in columns:
        quote_ident(c, types)
        if c.lower() in INTERNAL_NAMES:
            raise InputError(f"column name '{c}' is reserved; rename it before publishing")


def _record_unread_dates(cur, dataset_id: str, table: str, kept: str, p: _Plan, rejected: dict) -> None:
    """Present values of a date column that do not read as dates: rejected (NULL in the dataset)."""
    t = _t(quote_ident(p.name), p.trimmed)
    cur.execute(
        f"""
        INSERT INTO rejects (dataset_id, "row", column_name, raw_value, reason)
        SELECT ?, {ROW}, ?, t, 'not a date' FROM (SELECT {ROW}, {t} AS t FROM {table} WHERE {kept})
        WHERE NOT {_missing('t')} AND {date_sql('t', p.date, trimmed=True)} IS NULL
        """,
        [dataset_id, p.name],
    )
    n = cur.execute("SELECT count(*) FROM rejects WHERE dataset_id = ? AND column_name = ?",
                    [dataset_id, p.name]).fetchone()[0]
    if n:
        rejected[p.name] = int(n)


def _record_extra_fields(cur, dataset_id: str, ds: str, table: str, n: int, warnings: list[str]) -> None:
    cur.execute(
        f"""
        INSERT INTO rejects (dataset_id, "row", column_name, raw_value, reason)
        SELECT ?, {ROW}, NULL, {EXTRA}, ? FROM {table}
        WHERE {EXTRA} IS NOT NULL AND {ROW} IN (SELECT {ROW} FROM {ds})
        """,
        [dataset_id, f"row has more fields than the {n} columns; the extra fields were ignored"],
    )
    count, rows = cur.execute(
        f"""SELECT count(*), list("row" ORDER BY "row")[1:5] FROM rejects
        WHERE dataset_id = ? AND column_name IS NULL""",
        [dataset_id],
    ).fetchone()
    if count:
        warnings.append(
            f"{count} row{'s' if count != 1 else ''} had more fields than the {n} columns "
            f"(data rows {', '.join(map(str, rows))}{', ...' if count > 5 else ''}); the extra fields were "
            "ignored and are listed with the rejected values"
        )


def _missing_counts(cur, ds: str, columns: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(columns), 200):
        chunk = columns[start: start + 200]
        sql = ", ".join(f"count(*) - count({quote_ident(c)})" for c in chunk)
        for c, n in zip(chunk, cur.execute(f"SELECT {sql} FROM {ds}").fetchone()):
            if n:
                out[c] = int(n)
    return out


def _few_points_warning(cur, ds: str, cols: list[ColumnInfo], findings, warnings: list[str]) -> None:
    constant = {f.column for f in findings if f.rule == "constant_column"}
    numeric = [c.name for c in cols if c.role == NUMERIC and c.name not in constant]
    if not numeric:
        return
    q = ", ".join(quote_ident(c) for c in numeric[:50])
    n = cur.execute(f"SELECT count(*) FROM (SELECT DISTINCT {q} FROM {ds})").fetchone()[0]
    if n < FEW_POINTS:
        warnings.append(
            f"the numeric columns hold only {n} distinct point{'s' if n != 1 else ''}; "
            f"segmentation can form at most {n} segment{'s' if n != 1 else ''}"
        )
