"""derive_rfm: a staged transactions table -> one row per customer with R, F, M, scores and group.

Five SQL stages, each a function: how the dates are written (core.dates, one scan), exact repeated
lines (one hashed pass), the lines parsed once and aggregated per customer (one parse-and-aggregate
statement: the typed lines are a MATERIALIZED CTE that DuckDB streams to two aggregations, one per
customer and one over the distinct purchase keys, an invoice or a day without one, whose count per
customer is the frequency), the line counts and the reference day, then scores and groups on one
row per customer.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import duckdb

from core.dates import DATE_ORDERS, DateReading, detect_dates
from core.errors import InputError
from core.models import ROW
from core.rfm.groups import group_case_sql
from core.rfm.lines import BAD_AMOUNT, BAD_DATE, NO_CUSTOMER, mark_repeated_lines, typed_lines_sql
from core.rfm.mapping import SAMPLES, TransactionMapping
from core.store import quote_ident

_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


@dataclass
class LineProblem:
    """Transaction lines left out for one reason, with samples (file rows and raw values)."""

    count: int = 0
    sample_rows: list[int] = field(default_factory=list)
    sample_values: list = field(default_factory=list)


@dataclass
class RfmStats:
    """What `derive_rfm` did, in counts: everything the report says about the transactions."""

    table: str  # the derived customer table
    mapping: TransactionMapping
    lines_read: int = 0
    lines_used: int = 0  # valid, deduplicated lines that entered R, F and M
    customers: int = 0
    duplicate_lines: int = 0  # exact duplicate lines removed (only with an invoice column)
    identical_lines_kept: int = 0  # exact repeats kept (no invoice column: they are purchases)
    repeat_rows: list[int] = field(default_factory=list)  # file rows of a few such repeats
    return_lines: int = 0  # returns and cancellations among the used lines
    cancellation_lines: int = 0  # of which with a "C" invoice
    missing_customer: LineProblem = field(default_factory=LineProblem)
    bad_date: LineProblem = field(default_factory=LineProblem)  # missing or unparseable
    bad_amount: LineProblem = field(default_factory=LineProblem)  # missing, non-numeric, not finite
    returns_only: LineProblem = field(default_factory=LineProblem)  # customers without a purchase
    date_reading: DateReading | None = None  # how the dates were read (layouts, order, sureness)
    newest_date: str | None = None
    reference_date: str | None = None  # recency is measured to this day
    reference_given: bool = False
    mapping_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def derive_rfm(
    cur: duckdb.DuckDBPyConnection,
    staged_table: str,
    mapping: TransactionMapping,
    *,
    reference_date: str | None = None,
    date_order: str = "auto",
    out_table: str = "__rfm_customers",
    trimmed: bool = False,
) -> RfmStats:
    """Derive one row per customer from a staged transactions table, in SQL.

    `staged_table` has `__row` (the file row) and the source columns (text, or native types from
    Parquet). The result `out_table` (a TEMP table, replaced) has `__row` (the file row of the
    customer's first used line) and CUSTOMER_COLUMNS, typed. Returns the counts for the report.
    `trimmed=True` says the text values carry no surrounding spaces (core.ingest.stage_file trims), so
    customer and invoice ids skip the trim; dates and money are trimmed by their parsers anyway.
    """
    t0 = time.perf_counter()
    if not _TABLE_RE.match(staged_table) or not _TABLE_RE.match(out_table):
        raise ValueError("table names must be plain identifiers")
    if date_order not in DATE_ORDERS:
        raise InputError(f"the date order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    ref = parse_reference_date(reference_date)
    types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE SELECT * FROM {staged_table}").fetchall()}
    cols = list(types)
    if ROW not in cols:
        raise ValueError(f"{staged_table} has no {ROW} column")
    for role, col in mapping.roles().items():
        if col not in cols:
            raise InputError(f"the {role} column '{col}' is not in the transactions")
    stats = RfmStats(table=out_table, mapping=mapping)
    stats.lines_read = cur.execute(f"SELECT count(*) FROM {staged_table}").fetchone()[0]
    if stats.lines_read == 0:
        raise InputError("the transactions file has no data rows")

    stats.date_reading = read_dates(cur, staged_table, mapping.date, date_order)
    repeats_table, per_customer = f"{out_table}__repeats", f"{out_table}__per_customer"
    drop = _repeats(cur, stats, staged_table, cols, repeats_table)
    typed = typed_lines_sql(staged_table, cols, types, mapping, stats.date_reading, drop, trimmed)
    _aggregate(cur, typed, per_customer)
    ref_day = _count_lines(cur, stats, staged_table, cols, typed, per_customer, ref)
    _score(cur, per_customer, out_table, ref_day)
    stats.customers = cur.execute(f"SELECT count(*) FROM {out_table}").fetchone()[0]
    _returns_only(cur, stats, per_customer)
    cur.execute(f"DROP TABLE {per_customer}")
    cur.execute(f"DROP TABLE {repeats_table}")
    if stats.customers == 0:
        raise InputError(
            "no customer has a purchase in the transactions: every usable line is a return or a cancellation"
        )
    stats.seconds = time.perf_counter() - t0
    return stats


def read_dates(cur: duckdb.DuckDBPyConnection, table: str, column: str, date_order: str) -> DateReading:
    """Stage 1: how the date column is written (every value, one scan; core.dates). A column that
    is mostly not dates is still read as far as it goes: the rest is reported line by line."""
    reading = detect_dates(cur, table, column, date_order, min_share=0.0)
    if reading is None:  # no value at all: every line has no date
        order = "dmy" if date_order == "auto" else date_order
        reading = DateReading("none", order, True, 0.0, "no dates were found", (), 0, 0)
    return reading


def _repeats(cur, stats: RfmStats, staged: str, cols: list[str], repeats_table: str) -> str | None:
    """Stage 2: exact repeated lines. Removed when there is an invoice column (a double export),
    counted and kept without one (docs/RFM.md: two equal purchases on one day look the same).
    Returns the table of lines to drop, or None."""
    repeats = mark_repeated_lines(cur, staged, cols, repeats_table)
    if repeats:
        stats.repeat_rows = [
            int(r[0]) for r in cur.execute(f"SELECT {ROW} FROM {repeats_table} ORDER BY {ROW} LIMIT ?", [SAMPLES]).fetchall()
        ]
    if stats.mapping.invoice:
        stats.duplicate_lines = repeats
    else:
        stats.identical_lines_kept = repeats
    return repeats_table if stats.mapping.invoice and repeats else None


def _aggregate(cur, typed: str, per_customer: str) -> None:
    """Stage 3: the typed lines, parsed once (a MATERIALIZED CTE that DuckDB streams to both readers),
    aggregated per customer directly; frequency, the number of distinct purchase keys (an invoice,
    or a day when the line has no invoice) among the customer's purchase lines, comes from a
    separate key-only aggregation joined back. Lines with a problem are kept apart (problem <> 0)
    and only counted: their frequency is 0, it is never read."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {per_customer} AS
        WITH typed AS MATERIALIZED ({typed}),
        per AS (
            SELECT customer, problem,
                   sum(CASE WHEN is_return THEN -abs(value) ELSE value END) AS monetary,
                   min(CASE WHEN NOT is_return THEN day END) AS first_day,
                   max(CASE WHEN NOT is_return THEN day END) AS last_day,
                   max(day) AS newest_day,
                   count_if(is_return) AS returns,
                   count_if(is_cancel) AS cancels,
                   count(*) AS lines,
                   min(line) AS first_line
            FROM typed
            GROUP BY customer, problem
        ),
        keys AS (
            SELECT DISTINCT customer, invoice, CASE WHEN invoice IS NULL THEN day END AS key_day
            FROM typed
            WHERE problem = 0 AND NOT is_return
        ),
        freq AS (SELECT customer, count(*) AS frequency FROM keys GROUP BY customer)
        SELECT per.customer, per.problem, COALESCE(freq.frequency, 0) AS frequency, monetary,
               first_day, last_day, newest_day, returns, cancels, lines, first_line
        FROM per LEFT JOIN freq ON per.problem = 0 AND per.customer = freq.customer
        """
    )


def _count_lines(cur, stats: RfmStats, staged: str, cols: list[str], typed: str, per_customer: str,
                 ref: dt.date | None) -> dt.date:
    """Stage 4: lines used, returns, problems (with samples) and the reference day."""
    (
        lines_used, return_lines, cancel_lines, newest, latest_purchase,
        no_customer, bad_date, bad_amount,
    ) = cur.execute(
        f"""
        SELECT COALESCE(sum(lines) FILTER (problem = 0), 0),
               COALESCE(sum(returns) FILTER (problem = 0), 0),
               COALESCE(sum(cancels) FILTER (problem = 0), 0),
               max(newest_day) FILTER (problem = 0),
               max(last_day) FILTER (problem = 0),
               COALESCE(sum(lines) FILTER (problem & {NO_CUSTOMER} <> 0), 0),
               COALESCE(sum(lines) FILTER (problem & {BAD_DATE} <> 0), 0),
               COALESCE(sum(lines) FILTER (problem & {BAD_AMOUNT} <> 0), 0)
        FROM {per_customer}
        """
    ).fetchone()
    stats.lines_used, stats.return_lines, stats.cancellation_lines = int(lines_used), int(return_lines), int(cancel_lines)
    if no_customer or bad_date or bad_amount:
        _sample_problems(cur, stats, staged, cols, typed, (no_customer, bad_date, bad_amount))
    if newest is None:
        raise InputError(_nothing_usable(stats, stats.mapping))
    stats.newest_date = newest.isoformat()
    if ref is None:
        return _set_reference(stats, newest + dt.timedelta(days=1), False)
    if latest_purchase is not None and latest_purchase > ref:
        raise InputError(
            f"the reference date {ref.isoformat()} is before the newest purchase "
            f"({latest_purchase.isoformat()}); choose a date on or after it"
        )
    return _set_reference(stats, ref, True)


def _set_reference(stats: RfmStats, day: dt.date, given: bool) -> dt.date:
    stats.reference_date, stats.reference_given = day.isoformat(), given
    return day


def _score(cur, per_customer: str, out_table: str, ref_day: dt.date) -> None:
    """Stage 5: one row per customer with a purchase: R, F, M, quintile scores and the named group."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out_table} AS
        WITH buyers AS (
            SELECT customer AS customer_id, date_diff('day', last_day, ?::DATE) AS recency_days,
                   frequency, round(monetary, 6) + 0.0 AS monetary, first_day, last_day, returns, first_line
            FROM {per_customer}
            WHERE problem = 0 AND frequency > 0
        ),
        cuts AS (
            SELECT quantile_cont(recency_days, [0.2, 0.4, 0.6, 0.8]) AS r,
                   quantile_cont(frequency, [0.2, 0.4, 0.6, 0.8]) AS f,
                   quantile_cont(monetary, [0.2, 0.4, 0.6, 0.8]) AS m
            FROM buyers
        ),
        scored AS (
            SELECT b.*,
                   5 - ((recency_days > r[1])::INT + (recency_days > r[2])::INT
                        + (recency_days > r[3])::INT + (recency_days > r[4])::INT) AS r_score,
                   1 + (frequency > f[1])::INT + (frequency > f[2])::INT
                     + (frequency > f[3])::INT + (frequency > f[4])::INT AS f_score,
                   1 + (monetary > m[1])::INT + (monetary > m[2])::INT
                     + (monetary > m[3])::INT + (monetary > m[4])::INT AS m_score
            FROM buyers b, cuts
        )
        SELECT first_line AS {ROW}, customer_id, recency_days::BIGINT AS recency_days,
               frequency::BIGINT AS frequency, monetary::DOUBLE AS monetary,
               r_score::BIGINT AS r_score, f_score::BIGINT AS f_score, m_score::BIGINT AS m_score,
               r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_score,
               {group_case_sql()} AS rfm_group,
               strftime(first_day, '%Y-%m-%d') AS first_purchase,
               strftime(last_day, '%Y-%m-%d') AS last_purchase,
               returns::BIGINT AS returns
        FROM scored
        """,
        [ref_day],
    )


def _returns_only(cur, stats: RfmStats, per_customer: str) -> None:
    only = cur.execute(
        f"""
        SELECT customer, first_line, count(*) OVER () FROM {per_customer}
        WHERE problem = 0 AND frequency = 0 ORDER BY first_line LIMIT ?
        """,
        [SAMPLES],
    ).fetchall()
    if only:
        stats.returns_only = LineProblem(
            count=int(only[0][2]), sample_rows=[int(r[1]) for r in only], sample_values=[r[0] for r in only]
        )


def _sample_problems(cur, stats: RfmStats, staged: str, cols: list[str], typed: str, counts) -> None:
    """Fill the three line problems with their counts and a few file rows and raw values."""
    m = stats.mapping
    money = [m.amount] if m.amount else [m.quantity, m.price]
    raw = {
        NO_CUSTOMER: [m.customer],
        BAD_DATE: [m.date],
        BAD_AMOUNT: money,
    }
    samples = cur.execute(
        f"""
        SELECT min(line, {SAMPLES}) FILTER (problem & {NO_CUSTOMER} <> 0),
               min(line, {SAMPLES}) FILTER (problem & {BAD_DATE} <> 0),
               min(line, {SAMPLES}) FILTER (problem & {BAD_AMOUNT} <> 0)
        FROM ({typed}) WHERE problem <> 0
        """
    ).fetchone()
    problems = []
    for bit, count, rows in zip((NO_CUSTOMER, BAD_DATE, BAD_AMOUNT), counts, samples):
        rows = sorted(int(r) for r in rows or [])
        values = []
        if rows:
            raw_sql = " || ' x ' || ".join(f"COALESCE({quote_ident(c, cols)}::VARCHAR, '')" for c in raw[bit])
            found = dict(
                cur.execute(
                    f"SELECT {ROW}, {raw_sql} FROM {staged} WHERE {ROW} IN (SELECT unnest(?::BIGINT[]))",
                    [rows],
                ).fetchall()
            )
            values = [found.get(r) for r in rows]
        problems.append(LineProblem(count=int(count), sample_rows=rows, sample_values=values))
    stats.missing_customer, stats.bad_date, stats.bad_amount = problems


def parse_reference_date(value) -> dt.date | None:
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"the reference date must be written YYYY-MM-DD, not {str(value)[:40]!r}") from None


def _nothing_usable(stats: RfmStats, m: TransactionMapping) -> str:
    n = stats.lines_read - stats.duplicate_lines
    if stats.bad_date.count >= n:
        eg = f" such as {stats.bad_date.sample_values[0]!r}" if stats.bad_date.sample_values else ""
        return (
            f"no date in column '{m.date}' could be read{eg}; dates must look like 2021-03-04, "
            "20210304, 04/03/2021, 3/4/21 10:15, 12-May-2013 or May 12, 2013 (for dates written day or "
            "month first, choose the date order: day first or month first)"
        )
    if stats.bad_amount.count >= n:
        what = f"'{m.amount}'" if m.amount else f"'{m.quantity}' x '{m.price}'"
        eg = f" such as {stats.bad_amount.sample_values[0]!r}" if stats.bad_amount.sample_values else ""
        return f"no amount in {what} is a number{eg}"
    if stats.missing_customer.count >= n:
        return f"the customer column '{m.customer}' is empty"
    return "no transaction line has a customer, a readable date and a numeric amount at once"
