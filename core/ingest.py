"""Ingest: read a customer file (delimited text, Excel .xlsx, Parquet) into DuckDB, type it, clean and
validate it (core/quality.py) and publish it atomically as a dataset.

Two halves, so core/rfm.py can put its own step in between:
  stage_file(cur, path, table)      the reading half: a TEMP table of text with `__row`
  publish_staged(store, cur, ...)   typing, cleaning, validation and registration of a staged table
`load_file` runs both inside ONE `store.transaction()`: a failure of any kind leaves no table, no
catalogue row, no rejects and no issues behind, and earlier datasets are untouched.

Decisions (the behaviour a user sees; tests/core/test_ingest.py and tests/inputs/README.md pin them):

Reading
- The format comes from the bytes, never the extension: `PK` zip with `xl/workbook.xml` -> Excel
  .xlsx (first sheet only, other sheets named in the warnings; formula cells read as the values saved
  in the workbook, never recalculated); `PAR1` -> Parquet; old .xls/OLE, gzip and other binary
  content -> InputError; everything else is text.
- Text encoding: UTF-8 BOM, UTF-16 BOM, else UTF-8 if the WHOLE file decodes as UTF-8, else Latin-1
  (with the Windows-1252 characters of bytes 0x80-0x9F such as the euro sign restored), with a warning;
  such files are copied as UTF-8 into DuckDB's temp directory first (DuckDB's own latin-1 decoder
  refuses 0x80-0x9F) and the copy is removed. An odd number of quote characters gets a warning.
- Delimiter: comma, semicolon, tab or pipe, chosen on the first 256 KiB by how consistently it splits
  the records (Python's csv parser, so quoted delimiters and newlines count right); when none splits the
  lines, runs of spaces/tabs (fixed-width style files such as the CDNOW sample) are used. An Excel
  `sep=;` first line is honoured. Quotes are `"` with `""` as the escape.
- Header (`header=None`): the first record is a header unless it holds only numbers/missing values,
  or every column that is numeric below it also holds a number in the first record.
- The number of columns is the header's (or, when longer, the usual data-row length). Short rows are
  padded with missing values; fields beyond the last column are ignored, each such row is recorded in
  `rejects` (column NULL, first extra field) and counted in the warnings. Blank lines are skipped;
  records whose fields are all empty are dropped and counted in the repairs. `__row` numbers the data
  records from 1 after the header, counted before empty records are dropped, so a row number always
  points at the same record of the file.
- Column names: trimmed, control characters/newlines -> spaces; blank -> `column_<position>`; longer
  than 120 characters -> truncated; `__row/__segment/__x/__y/__extra` (any case) -> leading underscores
  removed; duplicates, compared case-insensitively as DuckDB does -> `Name_2`, `Name_3`. Every rename is
  a repair line. Names are used only through `store.quote_ident`, so quotes or SQL in a name are harmless.
  Unnamed columns that hold no value at all (trailing delimiters) are dropped with a repair line.

Typing (`publish_staged`, in SQL)
- Values are trimmed of surrounding whitespace (also tabs and no-break spaces). Missing: empty and, case-insensitively, `? NA N/A #N/A null None nan -`.
- A text column is numeric when MORE than half of its present values parse as numbers (NUMERIC_SHARE).
  Per column: thousands separators ("1,234.5") or decimal commas ("12,5", "1.234,5"), chosen by the
  values that are unambiguous; an ambiguous "1,234" counts as a decimal comma in semicolon-separated
  files and as a thousands separator otherwise. Every present value that does not parse becomes NULL
  and is written to `rejects` (reason) and to `issues` as rule non_numeric (not excluding: filled).
  inf/-inf, overflowing numbers (1e400) and magnitudes beyond 1e150 (MAX_ABS: their square overflows,
  so no scaling or distance can use them) become NULL with an excluding not_finite finding.
- Numeric columns are BIGINT when every value is a whole number below 2**53, else DOUBLE. Columns that
  are already numeric in the staged table (Parquet, RFM) stay numeric; other typed columns become text.
- Identifier: an id-like name (core.quality.is_id_like) AND distinct values >= 95% of the rows after
  exact-duplicate removal. Stored BIGINT when all values are integers without leading zeros, else text
  as written ("00042" keeps its zeros). An id-like column that repeats more is treated as a categorical
  code (with a warning), never as a number to average.
- A column with no values is kept as an empty categorical column (warning); a mostly-text column is
  categorical (warning when it holds some numbers or its name promises a quantity).

Cleaning and validation: exact duplicate rows (same text in every field) are removed, keeping the
first; then the rules of core/quality.py. Counts for all of it are in the dataset's QualityReport.
Any error while reading a file becomes an InputError ("could not read 'x.csv' as CSV: ...").
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core import quality
from core.errors import InputError
from core.models import (
    CATEGORICAL,
    IDENTIFIER,
    NUMERIC,
    RESERVED,
    ROW,
    ColumnInfo,
    DatasetInfo,
    QualityReport,
)
from core.store import Store, dataset_table, new_id, quote_ident

log = logging.getLogger(__name__)

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
_MISSING_LIST = "[" + ", ".join(f"'{t}'" for t in MISSING_TOKENS) + "]"
_TH = r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?"  # 1,234 / 1,234.5 / 12,345,678
_DC = r"[+-]?(\d{1,3}(\.\d{3})+|\d+)?,\d+"  # 12,5 / 1.234,5 / ,5 / 1,234 (ambiguous with _TH)
_DOT_TH = r"[+-]?\d{1,3}(\.\d{3})+"  # 1.234 / 1.234.567 in a decimal-comma column
_INT = r"[+-]?\d{1,18}"
_LEAD0 = r"[+-]?0\d+"
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_FLOAT_TYPES = {"UBIGINT", "HUGEINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL"}
_CP1252 = {  # bytes 0x80-0x9F as Windows-1252 reads them (Latin-1 makes them control characters)
    0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
    0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018,
    0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC,
    0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
}
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
    if not columns:
        raise InputError(f"'{source}' has no columns")
    for c in columns:
        quote_ident(c, types)
        if c.lower() in INTERNAL_NAMES:
            raise InputError(f"column name '{c}' is reserved; rename it before publishing")
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
    _decide_roles(plans, rows_loaded, repairs, warnings)

    dataset_id = new_id()
    ds = dataset_table(dataset_id)
    _create_typed_table(cur, ds, table, keep if dups else None, plans)
    _narrow_integers(cur, ds, plans)
    rejected = _record_typing_issues(cur, dataset_id, ds, table, plans)
    if has_extra:
        _record_extra_fields(cur, dataset_id, ds, table, len(columns), warnings)
    cur.execute(f"DROP TABLE IF EXISTS {keep}")

    col_infos = [ColumnInfo(p.name, p.role, p.sql_type) for p in plans]
    findings = quality.validate(cur, dataset_id, ds, col_infos, rows_loaded)
    missing = _missing_counts(cur, ds, columns)
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


# =================================================================================================
# text files
# =================================================================================================
@dataclass
class _Encoding:
    duckdb: str  # utf-8 | utf-16: what DuckDB reads (after transcoding, when needed)
    codec: str  # Python codec for the sample
    transcode: bool = False  # not UTF-8: copy as UTF-8 first (DuckDB's latin-1 refuses 0x80-0x9F)
    cp1252: bool = False  # bytes 0x80-0x9F are Windows-1252 characters (euro sign, curly quotes)
    note: str | None = None
    odd_quotes: bool = False  # an odd number of '"' in the file: a quoted field never ends


@dataclass
class _Dialect:
    kind: str  # "delimited" | "whitespace"
    delimiter: str
    records: list[list[str]]
    skip: int = 0  # lines skipped before the header (Excel's "sep=;" line)


def _detect_encoding(path: Path, source: str) -> _Encoding:
    """BOM, else UTF-8 when the whole file decodes, else Latin-1/Windows-1252. The same pass counts
    quote characters: an odd count means a quoted field never ends."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            enc = _Encoding("utf-8", "utf-8-sig")
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _Encoding("utf-16", "utf-16")
        else:
            _check_not_binary(head, source)
            enc = None
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8, high_c1, quotes = enc is None, False, 0
        while chunk := fh.read(4 * 1024 * 1024):
            quotes += chunk.count(b'"')
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            high_c1 = high_c1 or re.search(rb"[\x80-\x9f]", chunk) is not None
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if enc is None and utf8:
        enc = _Encoding("utf-8", "utf-8")
    elif enc is None:
        name = "Windows-1252" if high_c1 else "Latin-1"
        enc = _Encoding("utf-8", "latin-1", transcode=True, cp1252=high_c1,
                        note=f"'{source}' is not UTF-8; it was read as {name} text")
    enc.odd_quotes = quotes % 2 == 1
    return enc


_CP1252_TABLE = {b: u for b, u in _CP1252.items()}


def _decode_single_byte(data: bytes, enc: _Encoding) -> str:
    """Latin-1, with 0x80-0x9F read as Windows-1252 where it defines them (undefined ones stay)."""
    text = data.decode("latin-1")
    return text.translate(_CP1252_TABLE) if enc.cp1252 else text


@contextmanager
def _utf8_copy(cur, path: Path, enc: _Encoding) -> Iterator[Path]:
    """The path DuckDB should read: the file itself, or a UTF-8 copy of a single-byte file in DuckDB's
    temp directory (inside the folders it may read), removed afterwards."""
    if not enc.transcode:
        yield path
        return
    try:
        tmp_dir = Path(cur.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] or path.parent)
    except duckdb.Error:
        tmp_dir = path.parent
    tmp_dir.mkdir(parents=True, exist_ok=True)
    copy = tmp_dir / f"ingest_{new_id()}.utf8.csv"
    try:
        with open(path, "rb") as src, open(copy, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(4 * 1024 * 1024):
                dst.write(_decode_single_byte(chunk, enc))
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def _check_not_binary(sample: bytes, source: str) -> None:
    if not sample.strip():
        raise InputError(f"'{source}' is empty (only blank lines); nothing to load")
    control = sum(1 for b in sample if b < 9 or b in (11, 14, 15) or 16 <= b < 32 or b == 127)
    if b"\x00" in sample or control > max(2, len(sample) // 100):
        raise InputError(
            f"'{source}' is not a readable table: it looks like a binary file, not CSV/text, "
            "an Excel .xlsx workbook or a Parquet file"
        )


def _read_sample(path: Path, enc: _Encoding) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        data = fh.read(SNIFF_BYTES + 1)
    truncated = len(data) > SNIFF_BYTES
    head = data[:SNIFF_BYTES]
    text = _decode_single_byte(head, enc) if enc.transcode else head.decode(enc.codec, errors="replace")
    if truncated:  # drop the last, probably cut, line
        cut = max(text.rfind("\n"), 0)
        text = text[:cut]
    return text, truncated


def _split_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    out = []
    try:
        for rec in reader:
            if not rec or not any(f.strip() for f in rec):  # blank line
                continue
            out.append(rec)
            if len(out) >= SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    return out


def _consistency(records: list[list[str]]) -> tuple[float, int]:
    if not records:
        return 0.0, 0
    counts = Counter(len(r) for r in records)
    mode, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return n / len(records), mode


def _sniff(text: str) -> _Dialect:
    first, _, rest = text.partition("\n")
    m = re.fullmatch(r"\s*sep=(.)\s*", first)
    if m:
        d = m.group(1)
        return _Dialect("delimited", d, _split_records(rest, d), skip=1)
    best: tuple | None = None
    for priority, d in enumerate(DELIMITERS):
        records = _split_records(text, d)
        share, mode = _consistency(records)
        if mode < 2:
            continue
        key = (round(share, 2), mode, -priority)
        if best is None or key > best[0]:
            best = (key, d, records)
    ws_records = [ln.split() for ln in text.splitlines() if ln.strip()][:SNIFF_RECORDS]
    _, ws_mode = _consistency(ws_records)
    if best is not None and (best[0][0] >= 0.5 or ws_mode < 2):
        return _Dialect("delimited", best[1], best[2])
    if ws_mode >= 2:
        return _Dialect("whitespace", " ", ws_records)
    return _Dialect("delimited", ",", _split_records(text, ","))


_NUMBER_RE = re.compile(r"[+-]?(\d+([.,]\d+)*|\d*[.,]\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?", re.IGNORECASE)


def _is_missing(v: object) -> bool:
    return v is None or str(v).strip().lower() in MISSING_TOKENS


def _looks_numeric(v: object) -> bool:
    return v is not None and bool(_NUMBER_RE.fullmatch(str(v).strip()))


def detect_header(records: list[list[str]]) -> bool:
    """Whether the first record is a header (see the module docstring)."""
    if not records:
        return True
    first, rest = records[0], records[1:]
    present = [v for v in first if not _is_missing(v)]
    if present and all(_looks_numeric(v) for v in present):
        return False
    strong = weak = False
    for j, v in enumerate(first):
        col = [r[j] for r in rest if j < len(r) and not _is_missing(r[j])]
        if not col or _is_missing(v) or sum(map(_looks_numeric, col)) * 2 <= len(col):
            continue
        if _looks_numeric(v):
            weak = True
        else:
            strong = True
    return strong or not weak


def _columns_count(records: list[list[str]], header: bool) -> int:
    data = records[1:] if header else records
    _, mode = _consistency(data)
    if header and records:
        return max(len(records[0]), mode)
    return max(mode, 1)


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
    with _reading(source, what), _utf8_copy(cur, path, enc) as readable:
        if whitespace:
            first = _load_raw_lines(cur, readable, raw, enc, text)
        else:
            first = _load_raw_delimited(cur, readable, raw, enc, dialect, n)
    with _reading(source, what):
        names_raw = list(first or [])[:n] if header else [None] * n
        names_raw += [None] * (n - len(names_raw))
        names, repairs = sanitize_names(names_raw, header)
        fields = ", ".join(
            f"{_trim_sql(f'c{i}') if not whitespace else f'parts[{i + 1}]'} AS {quote_ident(nm)}"
            for i, nm in enumerate(names)
        )
        if whitespace:
            line = "line"
            cur.execute(
                f"""
                CREATE TEMP TABLE {table} AS
                WITH lines AS (
                    SELECT rowid AS rid, regexp_split_to_array(trim({line}, {_WS}), '[ \t]+') AS parts
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


def _first_short_row(records: list[list[str]], n: int, header: bool) -> int | None:
    data = records[1:] if header else records
    for i, rec in enumerate(data, start=1):
        if len(rec) < n and any(f.strip() for f in rec):
            return i
    return None


def _unnamed(names: list[str], raw: list) -> list[str]:
    return [nm for nm, v in zip(names, raw) if v is None or not str(v).strip()]


def _trim_sql(expr: str) -> str:
    return f"regexp_replace({expr}, {_TRIM_RE}, '', 'g')"


def _load_raw_delimited(cur, path: Path, raw: str, enc: _Encoding, dialect: _Dialect, n: int) -> list | None:
    """Read every record into `raw` as c0..c{n} VARCHAR (c{n} catches the first extra field) and
    return the first record. parallel=false: DuckDB's parallel reader refuses quoted newlines with
    null_padding, and a failed read would abort the whole transaction, so no retry is possible."""
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n + 1)) + "}"
    cur.execute(
        f"""
        CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv(
            ?, auto_detect = false, header = false, delim = ?, quote = '"', escape = '"',
            columns = {cols}, null_padding = true, strict_mode = false, parallel = false,
            encoding = ?, skip = ?, max_line_size = 16777216)
        """,
        [str(path), dialect.delimiter, enc.duckdb, int(dialect.skip)],
    )
    first = cur.execute(f"SELECT * FROM {raw} ORDER BY rowid LIMIT 1").fetchone()
    return list(first[:n]) if first else None


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
# Excel and Parquet
# =================================================================================================
def _stage_xlsx(cur, path: Path, table: str, source: str, header: bool | None) -> StagedFile:
    try:
        with zipfile.ZipFile(path) as zf:
            parts = set(zf.namelist())
            if "xl/workbook.xml" not in parts:
                raise InputError(f"'{source}' is a zip archive, not an Excel .xlsx workbook")
            has_formulas = _has_formulas(zf, _first_sheet_part(zf, parts))
    except zipfile.BadZipFile as exc:
        raise InputError(f"could not read '{source}' as an Excel workbook: {_first_line(exc)}") from exc
    with _reading(source, "an Excel workbook"):
        import python_calamine

        with open(path, "rb") as fh:
            wb = python_calamine.CalamineWorkbook.from_filelike(fh)
        sheets = list(wb.sheet_names)
        if not sheets:
            raise InputError(f"'{source}' has no sheets")
        grid = wb.get_sheet_by_index(0).to_python(skip_empty_area=True)
    warnings = []
    if len(sheets) > 1:
        others = ", ".join(f"'{_short(s, 40)}'" for s in sheets[1:6]) + (" ..." if len(sheets) > 6 else "")
        warnings.append(f"'{source}' has {len(sheets)} sheets; only the first, '{_short(sheets[0], 40)}', "
                        f"was read (not read: {others})")
    rows = [[_cell_text(v) for v in r] for r in grid]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"the first sheet '{_short(sheets[0], 40)}' of '{source}' is empty; nothing to load")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    if header is None:
        header = detect_header([[v or "" for v in r] for r in rows[:SNIFF_RECORDS]])
    names, repairs = sanitize_names(rows[0] if header else [None] * width, header)
    if has_formulas:
        repairs.append("formula cells were read as the values saved in the workbook (not recalculated)")
    data = rows[1:] if header else rows
    import pyarrow as pa

    arrays = [pa.array(range(1, len(data) + 1), type=pa.int64())]
    arrays += [pa.array([r[j] for r in data], type=pa.string()) for j in range(width)]
    arrow = pa.Table.from_arrays(arrays, names=[ROW] + [f"c{j}" for j in range(width)])
    view = f"{table}__arrow"
    select = ", ".join(f"c{j} AS {quote_ident(nm)}" for j, nm in enumerate(names))
    cur.register(view, arrow)
    try:
        cur.execute(f"CREATE TEMP TABLE {table} AS SELECT {ROW}, {select} FROM {view} ORDER BY {ROW}")
    finally:
        cur.unregister(view)
    staged = StagedFile(table, names, file_format="xlsx", header=header, repairs=repairs, warnings=warnings,
                        trimmed=True)
    _finish_staging(cur, staged, _unnamed(names, rows[0]) if header else [])
    return staged


def _first_sheet_part(zf: zipfile.ZipFile, parts: set[str]) -> list[str]:
    """The zip part of the workbook's first sheet (workbook.xml order, via its relationships); all
    worksheet parts when that cannot be worked out."""
    every = sorted(p for p in parts if p.startswith("xl/worksheets/") and p.endswith(".xml"))
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rid = re.search(r'<(?:\w+:)?sheet\b[^>]*\br:id="([^"]+)"', book).group(1)
        rel = re.search(rf'<Relationship\b[^>]*\bId="{re.escape(rid)}"[^>]*>', rels).group(0)
        target = re.search(r'Target="([^"]+)"', rel).group(1)
    except (KeyError, AttributeError):
        return every
    part = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return [part] if part in parts else every


def _has_formulas(zf: zipfile.ZipFile, sheet_parts: list[str]) -> bool:
    for part in sheet_parts:
        with zf.open(part) as fh:
            tail = b""
            while chunk := fh.read(1 << 20):
                if re.search(rb"<f[ >/]", tail + chunk):
                    return True
                tail = chunk[-8:]
    return False


def _cell_text(v: object) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v).strip() or None


def _stage_parquet(cur, path: Path, table: str, source: str) -> StagedFile:
    with _reading(source, "Parquet"):
        desc = cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    raw_names = [d[0] for d in desc]
    names, repairs = sanitize_names(raw_names, True)
    selects, kept = [], []
    for i, (nm, typ) in enumerate(zip(names, (d[1] for d in desc))):
        src = quote_ident(raw_names[i])
        base = typ.split("(")[0].upper()
        if "[" in typ or base in ("STRUCT", "MAP", "UNION", "LIST", "ARRAY"):
            repairs.append(f"nested column '{_short(nm)}' ({_short(typ, 40)}) converted to text")
            expr = _trim_sql(f"{src}::VARCHAR")
        elif base in ("BLOB", "BIT", "BYTEA", "VARBINARY"):
            repairs.append(f"binary column '{_short(nm)}' ({typ}) dropped: it holds no readable values")
            continue
        elif base in _INT_TYPES:
            expr = f"{src}::BIGINT"
        elif base in _FLOAT_TYPES or base == "DECIMAL":
            expr = f"{src}::DOUBLE"
        else:
            expr = _trim_sql(f"{src}::VARCHAR")
        selects.append(f"{expr} AS {quote_ident(nm)}")
        kept.append(nm)
    if not kept:
        raise InputError(f"'{source}' has no columns that can be read")
    raw = f"{table}__raw"
    with _reading(source, "Parquet"):
        cur.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_parquet(?)", [str(path)])
        cur.execute(
            f"""
            CREATE TEMP TABLE {table} AS
            SELECT row_number() OVER (ORDER BY rowid) AS {ROW}, {', '.join(selects)} FROM {raw}
            """
        )
        cur.execute(f"DROP TABLE {raw}")
    staged = StagedFile(table, kept, file_format="parquet", header=True, repairs=repairs, trimmed=True)
    _finish_staging(cur, staged, [])
    return staged


# =================================================================================================
# typing
# =================================================================================================
@dataclass
class _Plan:
    """How one staged column becomes a dataset column."""

    name: str
    staged_type: str
    native: bool  # already numeric in the staged table
    present: int = 0
    parsed: int = 0  # present values that parse as numbers in the chosen style
    style: str = "plain"  # plain | thousands | comma
    nonfinite: int = 0  # values that cast to inf or NaN (NaN comes from the "nan" missing token)
    whole: int = 0  # plain-style values that are whole numbers below 2**53
    ints: int = 0  # present values that are plain integers (id-like columns only)
    lead0: int = 0  # present values with leading zeros (id-like columns only)
    distinct: int = 0  # exact for id-like columns, approximate for text columns, else 0
    example: str | None = None  # a present value that is not a number
    role: str = CATEGORICAL
    sql_type: str = "VARCHAR"
    as_number: bool = False  # the typed value is parsed from text
    trimmed: bool = False  # staged text already trimmed


def _t(q: str, trimmed: bool = False) -> str:
    """Text of a staged column: as staged when stage_file trimmed it, else trimmed of spaces."""
    return f"{q}::VARCHAR" if trimmed else f"trim({q}::VARCHAR)"


def _missing(t: str) -> str:
    return f"({t} IS NULL OR list_contains({_MISSING_LIST}, lower({t})))"


def _parse(t: str, style: str) -> str:
    """A DOUBLE from trimmed text `t` in a column's number style (NULL when it does not parse; the
    missing tokens parse to NULL or NaN)."""
    if style == "thousands":
        inner = f"CASE WHEN contains({t}, ',') AND regexp_full_match({t}, '{_TH}') THEN replace({t}, ',', '') ELSE {t} END"
    elif style == "comma":
        inner = (
            f"CASE WHEN contains({t}, ',') AND regexp_full_match({t}, '{_DC}') "
            f"THEN replace(replace({t}, '.', ''), ',', '.') "
            f"WHEN regexp_full_match({t}, '{_DOT_TH}') THEN replace({t}, '.', '') ELSE {t} END"
        )
    else:
        inner = t
    return f"TRY_CAST({inner} AS DOUBLE)"


def _usable(x: str) -> str:
    """A finite number small enough to square: anything else is NULL plus a not_finite finding.
    (isfinite first: DuckDB orders NaN above every number, so abs(NaN) > MAX_ABS is true.)"""
    return f"(isfinite({x}) AND abs({x}) <= {MAX_ABS:.0e})"


def _is_native_number(typ: str) -> bool:
    base = typ.split("(")[0].upper()
    return base in _INT_TYPES or base in _FLOAT_TYPES or base == "DECIMAL"


def _profile(
    cur, table: str, columns: list[str], types: dict, delimiter: str | None, trimmed: bool
) -> list[_Plan]:
    """Per column: how many values are present, parse as numbers (in each number style), are not
    finite or whole; then, only where needed, distinct counts, integers and leading zeros."""
    plans = [_Plan(c, types[c], _is_native_number(types[c]), trimmed=trimmed) for c in columns]
    commas: dict[str, int] = {}
    for chunk in _chunks(plans, PROFILE_CHUNK):
        inner = ", ".join(
            (f"{quote_ident(p.name)} AS v{i}" if p.native else f"{_t(quote_ident(p.name), p.trimmed)} AS v{i}")
            for i, p in enumerate(chunk)
        )
        aggs = []  # seven per column, in a fixed order
        for i, p in enumerate(chunk):
            v = f"v{i}"
            if p.native:
                d = f"{v}::DOUBLE"
                aggs += [f"count({v})", f"count({v})", "0", f"count_if(NOT {_usable(d)})",
                         f"count_if({d} = trunc({d}) AND abs({d}) < 9007199254740992)", "NULL"]
                continue
            x = f"TRY_CAST({v} AS DOUBLE)"
            present = f"NOT {_missing(v)}"
            aggs += [
                f"count_if({present})",
                f"count_if({present} AND {x} IS NOT NULL)",  # "nan" is a missing token, not a number
                f"count_if(contains({v}, ','))",
                f"count_if(NOT {_usable(x)})",
                f"count_if({x} = trunc({x}) AND abs({x}) < 9007199254740992)",
                f"min(CASE WHEN {present} AND {x} IS NULL THEN {v} END)",
            ]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM (SELECT {inner} FROM {table})").fetchone()
        for i, p in enumerate(chunk):
            present, plain, comma, nonfinite, whole, example = stats[6 * i: 6 * i + 6]
            p.present, p.parsed, p.nonfinite, p.whole, p.example = present, plain, nonfinite, whole, example
            if comma:
                commas[p.name] = comma
    # number style, only for text columns holding commas (regexes are the expensive part)
    with_commas = [p for p in plans if p.name in commas]
    for chunk in _chunks(with_commas, PROFILE_CHUNK):
        aggs = []
        for p in chunk:
            v = _t(quote_ident(p.name), p.trimmed)
            th = f"regexp_full_match({v}, '{_TH}')"
            dc = f"regexp_full_match({v}, '{_DC}')"
            aggs += [
                f"count_if(CASE WHEN contains({v}, ',') THEN {th} AND NOT {dc} ELSE false END)",
                f"count_if(CASE WHEN contains({v}, ',') THEN {dc} AND NOT {th} ELSE false END)",
                f"count_if(CASE WHEN contains({v}, ',') THEN {th} AND {dc} ELSE false END)",
            ]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM {table}").fetchone()
        for i, p in enumerate(chunk):
            th, dc, amb = stats[3 * i: 3 * i + 3]
            if dc > th:
                p.style = "comma"
            elif th > 0:
                p.style = "thousands"
            elif amb > 0:
                p.style = "comma" if delimiter == ";" else "thousands"
            p.parsed += (dc + amb) if p.style == "comma" else (th + amb) if p.style == "thousands" else 0
    _profile_distinct(cur, table, plans)
    return plans


def _profile_distinct(cur, table: str, plans: list[_Plan]) -> None:
    """Exact distinct counts, integers and leading zeros for id-like columns (identifier decision);
    approximate distinct counts for text columns (free-text warning)."""
    need = [p for p in plans if quality.is_id_like(p.name)
            or (not p.native and p.parsed * 2 <= max(p.present, 1))]
    for chunk in _chunks(need, PROFILE_CHUNK):
        aggs = []
        for p in chunk:
            q = quote_ident(p.name)
            v = q if p.native else _t(q, p.trimmed)
            present = f"{q} IS NOT NULL" if p.native else f"NOT {_missing(v)}"
            if quality.is_id_like(p.name):
                aggs += [
                    f"count(DISTINCT CASE WHEN {present} THEN {v} END)",
                    f"count_if({present} AND regexp_full_match({v}::VARCHAR, '{_INT}'))",
                    f"count_if(regexp_full_match({v}::VARCHAR, '{_LEAD0}'))",
                ]
            else:
                aggs += [f"approx_count_distinct(CASE WHEN {present} THEN {v} END)", "0", "0"]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM {table}").fetchone()
        for i, p in enumerate(chunk):
            p.distinct, p.ints, p.lead0 = (int(x) for x in stats[3 * i: 3 * i + 3])


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i: i + n]


def _decide_roles(plans: list[_Plan], rows: int, repairs: list[str], warnings: list[str]) -> None:
    for p in plans:
        shown = _short(p.name)
        numeric = p.present > 0 and p.parsed > NUMERIC_SHARE * p.present
        if p.present == 0:
            p.role, p.sql_type = CATEGORICAL, "VARCHAR"
            warnings.append(f"column '{shown}' is empty (no values); it is kept but never used as a feature")
        elif quality.is_identifier(p.name, p.distinct, rows):
            p.role = IDENTIFIER
            if p.native:
                p.sql_type = _native_type(p.staged_type)
            elif p.ints == p.present and p.lead0 == 0:
                p.sql_type = "BIGINT"
            else:
                p.sql_type = "VARCHAR"  # text ids, or numbers whose leading zeros matter
        elif quality.is_id_like(p.name):
            p.role, p.sql_type = CATEGORICAL, "VARCHAR"
            warnings.append(
                f"column '{shown}' looks like an identifier or code but repeats ({p.distinct} distinct values "
                f"in {rows} rows); it is treated as categorical, not as a number"
            )
        elif p.native:
            p.role, p.sql_type = NUMERIC, _native_type(p.staged_type)
        elif numeric:
            p.role, p.sql_type, p.as_number = NUMERIC, "DOUBLE", True
            if p.style == "plain" and p.nonfinite == 0 and p.whole == p.parsed:
                p.sql_type = "BIGINT"
            if p.style == "comma":
                repairs.append(f"column '{shown}' uses decimal commas (e.g. '12,5' read as 12.5)")
            elif p.style == "thousands" and p.parsed > p.present - p.parsed:
                repairs.append(f"column '{shown}' uses thousands separators (e.g. '1,234' read as 1234)")
        else:
            p.role, p.sql_type = CATEGORICAL, "VARCHAR"
            numbers = p.parsed
            if numbers:
                warnings.append(
                    f"column '{shown}' is mostly text ({numbers} of {p.present} values are numbers, "
                    f"e.g. text '{_short(p.example, 20)}'); it is treated as categorical"
                )
            elif quality.is_quantity(p.name) or quality.is_age(p.name) or quality.declared_range(p.name):
                warnings.append(
                    f"column '{shown}' sounds numeric but holds only text (e.g. '{_short(p.example, 20)}'); "
                    "it is treated as categorical"
                )
            elif rows >= 20 and p.distinct > 0.9 * rows:
                warnings.append(
                    f"column '{shown}' has a different value in almost every row ({p.distinct} of {rows}); "
                    "it looks like free text or a name and is not useful as a segment feature"
                )


def _native_type(staged_type: str) -> str:
    return "BIGINT" if staged_type.split("(")[0].upper() in _INT_TYPES else "DOUBLE"


def _typed_expr(p: _Plan) -> str:
    q = quote_ident(p.name)
    if p.native and p.role in (NUMERIC, IDENTIFIER):
        if p.sql_type == "BIGINT":
            return f"{q}::BIGINT"
        if p.nonfinite == 0:
            return f"{q}::DOUBLE"
        return f"CASE WHEN {_usable(f'{q}::DOUBLE')} THEN {q}::DOUBLE END"
    t = _t(q, p.trimmed)
    if p.role == IDENTIFIER and p.sql_type == "BIGINT":
        return f"TRY_CAST({t} AS BIGINT)"
    if p.as_number:
        v = _parse(t, p.style)
        if p.style == "plain" and p.nonfinite == 0:  # fast path: nothing to null out
            return f"TRY_CAST({v} AS BIGINT)" if p.sql_type == "BIGINT" else v
        return f"CASE WHEN {_usable(v)} THEN {v} END"
    return f"CASE WHEN {_missing(t)} THEN NULL ELSE {t} END"


def _create_typed_table(cur, ds: str, table: str, keep: str | None, plans: list[_Plan]) -> None:
    select = ", ".join(f"{_typed_expr(p)} AS {quote_ident(p.name)}" for p in plans)
    where = f"WHERE {ROW} IN (SELECT {ROW} FROM {keep})" if keep else ""
    cur.execute(f"CREATE TABLE {ds} AS SELECT {ROW}::BIGINT AS {ROW}, {select} FROM {table} {where} ORDER BY {ROW}")


def _narrow_integers(cur, ds: str, plans: list[_Plan]) -> None:
    """Numeric columns parsed from text become BIGINT when every value is a whole number below 2**53."""
    cands = [p for p in plans if p.as_number and p.sql_type == "DOUBLE" and p.whole]
    for chunk in _chunks(cands, 100):
        sql = ", ".join(
            f"coalesce(bool_and({quote_ident(p.name)} = trunc({quote_ident(p.name)}) "
            f"AND abs({quote_ident(p.name)}) < 9007199254740992), false)"
            for p in chunk
        )
        flags = cur.execute(f"SELECT {sql} FROM {ds}").fetchone()
        for p, whole in zip(chunk, flags):
            if whole:
                cur.execute(f"ALTER TABLE {ds} ALTER COLUMN {quote_ident(p.name)} TYPE BIGINT")
                p.sql_type = "BIGINT"


def _record_typing_issues(cur, dataset_id: str, ds: str, table: str, plans: list[_Plan]) -> dict[str, int]:
    """Rejects + non_numeric issues for text that did not parse; not_finite issues for inf/overflow."""
    rejected: dict[str, int] = {}
    kept = f"{ROW} IN (SELECT {ROW} FROM {ds})"
    for p in plans:
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
        v = _parse(t, p.style)
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
