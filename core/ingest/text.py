"""Ingest, delimited and whitespace-separated text: read every record into a TEMP table of trimmed
text with `__row` (DuckDB's CSV reader with the sniffed dialect; whitespace runs split in SQL)."""
from __future__ import annotations

from pathlib import Path

from core.errors import InputError
from core.ingest.base import (
    EXTRA,
    StagedFile,
    _WS,
    _finish_staging,
    _reading,
    _trim_sql,
    _unnamed,
    sanitize_names,
)
from core.ingest.sniff import (
    _columns_count,
    _detect_encoding,
    _Dialect,
    _Encoding,
    _read_sample,
    _sniff,
    _utf8_copy,
    detect_header,
)
from core.models import ROW
from core.store import quote_ident

def _stage_text(cur, path: Path, table: str, source: str, header: bool | None) -> StagedFile:
    enc = _detect_encoding(path, source)
    text, _ = _read_sample(path, enc)
    if not text.strip():
        raise InputError(f"'{source}' is empty (only blank lines); nothing to load")
    dialect = _sniff(text)
    if header is None:
        header = detect_header(dialect.records)
    n = _columns_count(dialect.records, header)
    whitespace = dialect.kind == "whitespace"
    what = "whitespace-separated text" if whitespace else "CSV"
    raw = f"{table}__raw"
    # No field has whitespace at an edge (core.ingest.sniff._EdgeSpace): the records are read
    # straight into `table`, numbered and renamed in place, without a trimmed copy.
    in_place = not whitespace and not enc.edge_space
    with _reading(source, what), _utf8_copy(cur, path, enc) as readable:
        if whitespace:
            first = _load_raw_lines(cur, readable, raw, enc, text)
        else:
            first = _load_raw_delimited(cur, readable, raw, enc, dialect, n)
    with _reading(source, what):
        names_raw = list(first or [])[:n] if header else [None] * n
        names_raw += [None] * (n - len(names_raw))
        names, repairs = sanitize_names(names_raw, header)
        if in_place and not ({nm.lower() for nm in names} & {f"c{i}" for i in range(n + 1)}):
            _number_in_place(cur, raw, table, names, n, header)
        else:
            _copy_trimmed(cur, raw, table, names, n, header, whitespace)
        cur.execute(f"DROP TABLE IF EXISTS {raw}")
    staged = StagedFile(table, names, file_format="text" if whitespace else "csv", encoding=enc.duckdb,
                        delimiter=dialect.delimiter, header=header, repairs=repairs,
                        warnings=[enc.note] if enc.note else [], trimmed=True)
    with _reading(source, what):
        _finish_staging(cur, staged, _unnamed(names, names_raw) if header else [])
    if enc.odd_quotes and not whitespace:
        staged.warnings.append(
            f"'{source}' has an unterminated quote (an odd number of '\"' characters): a quoted field "
            "runs on to the end of the file or into the next rows; check the rows near the last quote"
        )
    if staged.rows and not whitespace:
        short = _first_short_row(dialect.records, n, header)
        if short is not None:
            staged.warnings.append(
                f"some rows have fewer fields than the {n} columns (first seen in data row {short}); "
                "the missing fields were read as empty"
            )
    return staged


def _copy_trimmed(cur, raw: str, table: str, names: list[str], n: int, header: bool, whitespace: bool) -> None:
    """`table` from `raw`: `__row`, then every field trimmed under its column name (and __extra)."""
    fields = ", ".join(
        f"{_trim_sql(f'c{i}') if not whitespace else f'parts[{i + 1}]'} AS {quote_ident(nm)}"
        for i, nm in enumerate(names)
    )
    if whitespace:
        cur.execute(
            f"""
            CREATE TEMP TABLE {table} AS
            WITH lines AS (
                SELECT rowid AS rid, regexp_split_to_array(trim(line, {_WS}), '[ \t]+') AS parts
                FROM {raw} WHERE trim(coalesce(line, ''), {_WS}) <> ''
            ), numbered AS (
                SELECT row_number() OVER (ORDER BY rid) - {int(header)} AS {ROW}, parts FROM lines
            )
            SELECT {ROW}, {fields},
                   CASE WHEN len(parts) > {n} THEN array_to_string(parts[{n + 1}:], ' ') END AS {EXTRA}
            FROM numbered WHERE {ROW} >= 1
            """
        )
    else:
        cur.execute(
            f"""
            CREATE TEMP TABLE {table} AS
            SELECT * FROM (
                -- rowids of a table filled by one statement are contiguous and in file order
                SELECT rowid - (SELECT min(rowid) FROM {raw}) + 1 - {int(header)} AS {ROW}, {fields},
                       c{n} AS {EXTRA}
                FROM {raw}
            ) WHERE {ROW} >= 1
            """
        )


def _number_in_place(cur, raw: str, table: str, names: list[str], n: int, header: bool) -> None:
    """`raw` becomes `table` without a copy (its values need no trimming): `__row` from the rowids
    (contiguous and in file order, as the table was filled by one statement), the header record
    deleted, c0..c{n-1} renamed to the column names and c{n} to __extra. The caller has checked that
    no column name is one of c0..c{n}."""
    start = cur.execute(f"SELECT min(rowid) FROM {raw}").fetchall()[0][0] or 0
    cur.execute(f"UPDATE {raw} SET {ROW} = rowid - ? + 1 - ?", [start, int(header)])
    if header:
        cur.execute(f"DELETE FROM {raw} WHERE {ROW} < 1")
    for i, nm in enumerate(names):
        cur.execute(f"ALTER TABLE {raw} RENAME COLUMN c{i} TO {quote_ident(nm)}")
    cur.execute(f"ALTER TABLE {raw} RENAME COLUMN c{n} TO {EXTRA}")
    cur.execute(f"ALTER TABLE {raw} RENAME TO {table}")


def _first_short_row(records: list[list[str]], n: int, header: bool) -> int | None:
    data = records[1:] if header else records
    for i, rec in enumerate(data, start=1):
        if len(rec) < n and any(f.strip() for f in rec):
            return i
    return None


def _load_raw_delimited(cur, path: Path, raw: str, enc: _Encoding, dialect: _Dialect, n: int) -> list | None:
    """Read every record into `raw` as `__row` (NULL, numbered later) and c0..c{n} VARCHAR (c{n}
    catches the first extra field) and return the first record. DuckDB's parallel reader refuses
    quoted newlines with null_padding, and a failed read would abort the whole transaction (no retry
    is possible), so the file is read in parallel only when it has no quote character at all."""
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n + 1)) + "}"
    parallel = "true" if enc.quotes == 0 else "false"
    cur.execute(
        f"""
        CREATE TEMP TABLE {raw} AS SELECT NULL::BIGINT AS {ROW}, * FROM read_csv(
            ?, auto_detect = false, header = false, delim = ?, quote = '"', escape = '"',
            columns = {cols}, null_padding = true, strict_mode = false, parallel = {parallel},
            encoding = ?, skip = ?, max_line_size = 16777216)
        """,
        [str(path), dialect.delimiter, enc.duckdb, int(dialect.skip)],
    )
    first = cur.execute(
        f"SELECT {', '.join(f'c{i}' for i in range(n))} FROM {raw} ORDER BY rowid LIMIT 1"
    ).fetchone()
    return list(first) if first else None


def _load_raw_lines(cur, path: Path, raw: str, enc: _Encoding, sample: str) -> list | None:
    """Whitespace-run separated fields (DuckDB's sniffer cannot): read whole lines into `raw`, split
    later in SQL; return the first non-blank line's fields."""
    delim = next(c for c in ("\x1f", "\x1e", "\x1d", "\x01") if c not in sample)
    cur.execute(
        f"""
        CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv(
            ?, auto_detect = false, header = false, delim = ?, quote = '', escape = '',
            columns = {{'line': 'VARCHAR'}}, null_padding = true, strict_mode = false,
            parallel = false, encoding = ?, max_line_size = 16777216)
        """,
        [str(path), delim, enc.duckdb],
    )
    first = cur.execute(
        f"""SELECT regexp_split_to_array(trim(line, {_WS}), '[ \t]+') FROM {raw}
        WHERE trim(coalesce(line, ''), {_WS}) <> '' ORDER BY rowid LIMIT 1"""
    ).fetchone()
    return list(first[0]) if first else None

