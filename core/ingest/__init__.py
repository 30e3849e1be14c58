"""Ingest (a package): read a customer file (delimited text, Excel .xlsx, Parquet) into DuckDB, type it, clean and
validate it (core/quality.py) and publish it atomically as a dataset.

Two halves, so core/rfm.py can put its own step in between:
  stage_file(cur, path, table)      the reading half: a TEMP table of text with `__row`
  publish_staged(store, cur, ...)   typing, cleaning, validation and registration of a staged table
`load_file` runs both inside ONE `store.transaction()`: a failure of any kind leaves no table, no
catalogue row, no rejects and no issues behind, and earlier datasets are untouched.

Decisions (the behaviour a user sees; tests/core/test_ingest.py and tests/inputs/README.md pin them):

Reading
- The format comes from the bytes, never the extension: `PK` zip with `xl/workbook.xml` -> Excel
  .xlsx (the first sheet, then each later sheet whose header row is the same, rows numbered on; other
  sheets named in the warnings; formula cells read as the values saved in the workbook, never
  recalculated); `PAR1` -> Parquet; old .xls/OLE, gzip and other binary
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
- Decorated numbers: currency signs before/after ($ € £ ¥, with spaces), a trailing percent sign
  ("45%" -> 45) and accounting negatives ("(1,234)" -> -1234) are removed before a column is read in
  its number style; the column's reason and a repair line say so.
- Roles of customer tables (core/roles.py holds the rules): integer codes and 0/1 flags become
  categorical text ("1", "2"); a birth year is excluded and "Age (from <name>)" derived; text dates
  (core/dates.py) become DATE and "<name> (days since)" is derived (core/ingest/derived.py).

Cleaning and validation: exact duplicate rows (same text in every field) are removed, keeping the
first; then the rules of core/quality.py. Counts for all of it are in the dataset's QualityReport.
Any error while reading a file becomes an InputError ("could not read 'x.csv' as CSV: ...").
"""
from __future__ import annotations
from __future__ import annotations

# Modules, one job each: base (staged table, names, checks), sniff (encoding, delimiter, header),
# text / xlsx / parquet (staging per format), coltypes (typing and roles), derived (dates, days since,
# age from a birth year), publish (load_file, stage_file, publish_staged). Callers import from here.
from core.ingest.base import EXTRA, MISSING_TOKENS, StagedFile, _check_table, sanitize_names
from core.ingest.publish import load_file, publish_staged, stage_file
from core.ingest.sniff import detect_header

__all__ = [
    "EXTRA",
    "MISSING_TOKENS",
    "StagedFile",
    "_check_table",
    "detect_header",
    "load_file",
    "publish_staged",
    "sanitize_names",
    "stage_file",
]
