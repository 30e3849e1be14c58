"""Transaction lines as SQL: text and money parsing, exact repeats, and one typed row per line.

Every expression works on column references and appears once in its query: DuckDB hoists a repeated
sub-expression out of a COALESCE or CASE and would then run a fallback regex on every row.
"""
from __future__ import annotations

from core.dates import DateReading, date_sql
from core.models import ROW
from core.rfm.mapping import TransactionMapping
from core.store import quote_ident


def _q(name: str, allowed: list[str]) -> str:
    return quote_ident(name, allowed)


def _text(v: str, trimmed: bool = False) -> str:
    """Text `v` (a column reference) without surrounding spaces, NULL when empty. Trimming is paid
    only by the values that need it, and not at all when the reader already trimmed."""
    if trimmed:
        return f"NULLIF({v}, '')"
    return (
        f"(CASE WHEN starts_with({v}, ' ') OR ends_with({v}, ' ') THEN NULLIF(trim({v}), '') "
        f"ELSE NULLIF({v}, '') END)"
    )


# The reader's missing-value tokens (core.ingest.MISSING_TOKENS): a customer "NA" is no customer.
_MISSING_IDS = ("?", "na", "n/a", "#n/a", "null", "none", "nan", "-")


_MONEY_SQL = r"[-+]?[$€£¥]?\s*[-+]?(\d{1,3}(,\d{3})+(\.\d*)?|\d*\.?\d+)"


def _number_sql(v: str) -> str:
    """Text `v` (a column reference) -> DOUBLE: plain numbers (surrounding spaces allowed), else
    after removing a currency sign, spaces and thousands commas ("$1,234.50"). A decimal comma
    ("12,50") is not read: it is reported. COALESCE evaluates the fallback only for values the
    plain cast could not read (each expression appears once: DuckDB would otherwise hoist it out of
    the COALESCE and run it on every row)."""
    return f"""COALESCE(
        TRY_CAST({v} AS DOUBLE),
        CASE WHEN regexp_full_match(trim({v}), '{_MONEY_SQL}')
             THEN TRY_CAST(regexp_replace({v}, '[$€£¥ ,]', '', 'g') AS DOUBLE) END)"""


def mark_repeated_lines(cur, staged: str, cols: list[str], out: str) -> int:
    """Rows identical to an earlier row in every source column, into TEMP table `out` (__row).

    A 64-bit hash of each row finds the candidates in one cheap pass; the candidates are then
    compared column by column, so a hash collision never counts two different lines as one."""
    src = [c for c in cols if c != ROW]
    keys = ", ".join(_q(c, cols) for c in src)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH hashed AS (SELECT {ROW}, hash({keys}) AS h FROM {staged}),
        candidates AS (SELECT h FROM hashed GROUP BY h HAVING count(*) > 1),
        candidate_rows AS (
            SELECT s.* FROM {staged} s
            WHERE s.{ROW} IN (SELECT {ROW} FROM hashed WHERE h IN (SELECT h FROM candidates))
        )
        SELECT {ROW} FROM (
            SELECT {ROW}, row_number() OVER (PARTITION BY {keys} ORDER BY {ROW}) AS copy
            FROM candidate_rows
        ) WHERE copy > 1
        """
    )
    return cur.execute(f"SELECT count(*) FROM {out}").fetchone()[0]


# Problems of a line, as bits of `problem` (0 = usable line).
NO_CUSTOMER, BAD_DATE, BAD_AMOUNT = 1, 2, 4


def typed_lines_sql(
    staged: str, cols: list[str], types: dict[str, str], m: TransactionMapping, reading: DateReading,
    drop: str | None, trimmed: bool = False,
) -> str:
    """One typed row per transaction line: line, customer, invoice, day, value, is_return,
    is_cancel and the problem bits. Lines listed in `drop` (duplicates) are left out.

    Columns already typed in the staged table (Parquet numbers, dates) are used as they are; text is
    parsed. The source columns are first selected once (`raw`); every later expression works on
    column references, so no expression is repeated (see _number_sql)."""

    def text(col: str | None) -> str:
        return f"CAST({_q(col, cols)} AS VARCHAR)" if col else "NULL::VARCHAR"

    def number(col: str | None) -> str:
        if not col:
            return "NULL::DOUBLE"
        if is_number_type(types[col]):
            return f"CAST({_q(col, cols)} AS DOUBLE)"
        return _number_sql(f"CAST({_q(col, cols)} AS VARCHAR)")

    value = "a" if m.amount else "q * p"
    qty_negative = "COALESCE(q < 0, false)" if m.quantity else "false"
    cancel = "COALESCE(regexp_matches(invoice, '^[Cc][0-9]'), false)" if m.invoice else "false"
    where = f"WHERE {ROW} NOT IN (SELECT {ROW} FROM {drop})" if drop else ""
    return rf"""
        WITH raw AS (
            SELECT {ROW} AS line, {text(m.customer)} AS c, {text(m.invoice)} AS i,
                   {_q(m.date, cols)} AS d,
                   {number(m.amount)} AS a, {number(m.quantity)} AS q, {number(m.price)} AS p
            FROM {staged} {where}
        ),
        texts AS (
            SELECT line, {_text('c', trimmed)} AS customer_text, {_text('i', trimmed)} AS invoice,
                   d, a, q, p
            FROM raw
        ),
        src AS (
            SELECT line, invoice,
                   -- "12345.0" (an id that went through a spreadsheet as a number) is customer "12345"
                   CASE WHEN length(customer_text) <= 4 AND lower(customer_text) IN {_MISSING_IDS} THEN NULL
                        WHEN contains(customer_text, '.')
                        THEN regexp_replace(customer_text, '^(\d+)\.0+$', '\1') ELSE customer_text END AS customer,
                   {value} AS raw_value, {qty_negative} AS qty_negative,
                   CAST({date_sql('d', reading, trimmed=trimmed)} AS DATE) AS day
            FROM texts
        ),
        checked AS (
            SELECT *,
                   CASE WHEN isfinite(raw_value) THEN raw_value END AS value,
                   {cancel} AS is_cancel
            FROM src
        )
        SELECT line, customer, invoice, day, value,
               COALESCE(value < 0 OR qty_negative OR is_cancel, false) AS is_return,
               is_cancel,
               (customer IS NULL)::INTEGER * {NO_CUSTOMER}
                 + (day IS NULL)::INTEGER * {BAD_DATE}
                 + (value IS NULL)::INTEGER * {BAD_AMOUNT} AS problem
        FROM checked
    """


def is_number_type(typ: str) -> bool:
    base = typ.split("(")[0].upper()
    return base in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL"}
