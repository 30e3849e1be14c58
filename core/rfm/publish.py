"""Loading a transactions file: stage, derive, publish in one transaction; inspect and preview
without publishing anything (the dashboard's mapping step)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.models import json_safe
from core.dates import DATE_ORDERS, looks_like_date
from core.errors import InputError
from core.models import CATEGORICAL, ROW, DatasetInfo, RuleFinding
from core.rfm.derive import RfmStats, derive_rfm, parse_reference_date
from core.rfm.mapping import (
    CUSTOMER_COLUMNS, KIND, SAMPLE_ROWS, TransactionMapping, is_number_text, detect_columns, resolve_mapping,
)
from core.store import Store, new_id, quote_ident


def column_sample(cur: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: int = SAMPLE_ROWS) -> dict[str, list[str]]:
    """The first `rows` values of each column as text (None kept out), for `detect_columns`."""
    if not columns:
        return {}
    select = ", ".join(f"CAST({quote_ident(c, columns)} AS VARCHAR)" for c in columns)
    data = cur.execute(f"SELECT {select} FROM {table} ORDER BY {ROW} LIMIT ?", [rows]).fetchall()
    return {c: [r[i] for r in data if r[i] is not None] for i, c in enumerate(columns)}


def stage_transactions(cur: duckdb.DuckDBPyConnection, path: Path, table: str, source: str):
    """core.ingest.stage_file, then one transactions-specific check: a "header" with a date or a
    number among its names is the first purchase, not a header (no real header names a column
    "12/1/10 8:26"), so the file is read again without one and the report says so."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.ingest import stage_file

    staged = stage_file(cur, path, table, source_name=source)
    if staged.header and any(looks_like_date(c) or is_number_text(c) for c in staged.columns):
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        staged = stage_file(cur, path, table, header=False, source_name=source)
        staged.repairs.append(
            "transactions: the first line holds a date or a number, so it was read as a purchase, not "
            "as column names; the columns are named column_1, column_2, ..."
        )
    return staged


def inspect_transactions(store: Store, path: str | Path, *, source_name: str | None = None) -> tuple[list[str], TransactionMapping]:
    """The columns of a transactions file and the detected mapping, without loading anything (for
    the UI's mapping step when `sure` is False)."""
    path = Path(path)
    with store.transaction() as cur:
        table = f"rfm_inspect_{new_id()}"
        staged = stage_transactions(cur, path, table, source_name or path.name)
        sample = column_sample(cur, table, staged.columns)
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return staged.columns, detect_columns(staged.columns, sample)


@dataclass
class RfmPreview:
    """What loading would give, before anything is published: the file's columns, the mapping used
    (with `sure` and `reasons` from detection), how the dates were read, and the first customers."""

    columns: list[str]
    mapping: TransactionMapping
    dates: str  # how the dates were read, one sentence
    dates_sure: bool  # False when the day/month order is a guess: ask the user to choose it
    lines_read: int
    customers: int
    rows: list[dict] = field(default_factory=list)  # customer_id, recency_days, frequency, monetary, rfm_group
    warnings: list[str] = field(default_factory=list)


def preview_rfm(
    store: Store,
    path: str | Path,
    mapping: TransactionMapping | dict | None = None,
    date_order: str = "auto",
    n: int = 10,
    *,
    source_name: str | None = None,
) -> RfmPreview:
    """The first `n` customers' R, F and M (in file order) as `load_transactions` would derive them,
    without publishing anything: every working table is TEMP and dropped. Raises InputError like a
    load would (unreadable file, a mapping that cannot work, no usable line)."""
    if date_order not in DATE_ORDERS:
        raise InputError(f"the date order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    n = max(1, min(int(n), 100))
    path = Path(path)
    key = new_id()
    with store.transaction() as cur:
        staged = stage_transactions(cur, path, f"rfm_preview_{key}", source_name or path.name)
        try:
            sample = column_sample(cur, staged.table, staged.columns)
            used, warnings = resolve_mapping(staged.columns, sample, mapping)
            stats = derive_rfm(cur, staged.table, used, date_order=date_order,
                               out_table=f"rfm_preview_out_{key}", trimmed=staged.trimmed)
            rows = cur.execute(
                f"""
                SELECT customer_id, recency_days, frequency, monetary, rfm_group
                FROM {stats.table} ORDER BY {ROW} LIMIT ?
                """,
                [n],
            ).fetchall()
            cur.execute(f"DROP TABLE IF EXISTS {stats.table}")
        finally:
            cur.execute(f"DROP TABLE IF EXISTS {staged.table}")
    reading = stats.date_reading
    names = ("customer_id", "recency_days", "frequency", "monetary", "rfm_group")
    return RfmPreview(
        columns=list(staged.columns), mapping=used, dates=reading.message if reading else "",
        dates_sure=bool(reading.sure) if reading else True, lines_read=stats.lines_read,
        customers=stats.customers, rows=[dict(zip(names, r)) for r in rows], warnings=warnings,
    )


def load_transactions(
    store: Store,
    path: str | Path,
    name: str | None = None,
    *,
    mapping: TransactionMapping | dict | None = None,
    reference_date: str | None = None,
    date_order: str = "auto",
    source_name: str | None = None,
    timings: dict[str, float] | None = None,
) -> DatasetInfo:
    """Read a transactions file, derive one row per customer (R, F, M, scores, group) in SQL and
    publish it as a dataset of kind "transactions", all inside one transaction: a failure of any
    kind leaves nothing behind. `timings`, when given, receives the seconds spent reading, deriving
    and publishing (the benchmark reports them). `mapping` names the columns (missing roles are detected);
    `date_order` is auto | ymd | dmy | mdy; `reference_date` (YYYY-MM-DD) replaces "the day after the
    newest date" for recency. The report (dataset.quality) says what was done to the lines."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.ingest import StagedFile, publish_staged

    path = Path(path)
    source = source_name or path.name
    name = (name or Path(source).stem or "transactions").strip() or "transactions"
    if date_order not in DATE_ORDERS:
        raise InputError(f"the date order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    parse_reference_date(reference_date)  # a bad date fails before the file is read
    try:
        with store.transaction() as cur:
            key = new_id()
            t0 = time.perf_counter()
            staged = stage_transactions(cur, path, f"rfm_stage_{key}", source)
            t1 = time.perf_counter()
            sample = column_sample(cur, staged.table, staged.columns)
            used, mapping_warnings = resolve_mapping(staged.columns, sample, mapping)
            stats = derive_rfm(
                cur, staged.table, used, reference_date=reference_date, date_order=date_order,
                out_table=f"rfm_customers_{key}", trimmed=staged.trimmed,
            )
            stats.mapping_warnings = mapping_warnings
            t2 = time.perf_counter()
            derived = StagedFile(
                table=stats.table, columns=list(CUSTOMER_COLUMNS), rows=stats.customers, source=source,
                file_format=staged.file_format, encoding=staged.encoding, delimiter=staged.delimiter,
                header=staged.header, repairs=list(staged.repairs), warnings=list(staged.warnings),
                trimmed=True,
            )
            info = publish_staged(store, cur, derived, name, source, KIND)
            _finish_dataset(cur, info, stats, source)
            cur.execute(f"DROP TABLE IF EXISTS {staged.table}")
            cur.execute(f"DROP TABLE IF EXISTS {stats.table}")
        if timings is not None:
            timings.update(read=t1 - t0, derive=t2 - t1, publish=time.perf_counter() - t2)
        return info
    except InputError:
        raise
    except duckdb.Error as exc:
        raise InputError(f"could not derive customers from '{source}': {str(exc).splitlines()[0]}") from exc


def _finish_dataset(cur: duckdb.DuckDBPyConnection, info: DatasetInfo, st: RfmStats, source: str) -> None:
    """Add what happened to the transaction lines to the dataset's report, keep rfm_score as text,
    and store both in the catalogue row (same transaction)."""
    q = info.quality
    m = st.mapping
    lines = "line" if st.lines_read == 1 else "lines"
    repairs = [
        f"transactions: {st.lines_read:,} {lines} read from '{source}', {st.lines_used:,} used; "
        f"{st.customers:,} customers derived (one row each, R, F and M computed in SQL; docs/RFM.md)",
        f"transactions: columns used: {m.describe()}",
    ]
    if st.reference_given:
        repairs.append(f"transactions: recency counted in days up to the given reference date {st.reference_date}")
    else:
        repairs.append(
            f"transactions: recency counted in days up to {st.reference_date}, the day after the newest "
            f"date in the data ({st.newest_date})"
        )
    warnings = list(st.mapping_warnings)
    reading = st.date_reading
    if reading is not None and reading.message:
        # how the dates were read; a warning when the data left the day/month order open
        (repairs if reading.sure else warnings).append(f"transactions: {reading.message}")
    findings = _line_findings(st, repairs)

    # rfm_score ("555") is a label, not a number: publish_staged types digit strings as numbers.
    col = info.column("rfm_score")
    if col is not None and col.role != CATEGORICAL:
        cur.execute(f'ALTER TABLE {info.table} ALTER COLUMN "rfm_score" TYPE VARCHAR')
        cur.execute("DELETE FROM issues WHERE dataset_id = ? AND column_name = 'rfm_score'", [info.dataset_id])
        col.role, col.sql_type = CATEGORICAL, "VARCHAR"
        q.findings = [f for f in q.findings if f.column != "rfm_score" or f.rule == "constant_column"]
    # first/last purchase are ISO dates kept as text on purpose: the generic "sounds numeric" / "free
    # text" warnings about them say nothing useful.
    q.warnings = [w for w in q.warnings if not w.startswith(("column 'first_purchase'", "column 'last_purchase'"))]

    q.rows_read = st.lines_read
    q.duplicates_removed += st.duplicate_lines
    q.repairs = q.repairs + repairs
    q.warnings = q.warnings + warnings
    q.findings = findings + q.findings
    info.rows_read = st.lines_read
    cur.execute(
        "UPDATE datasets SET rows_read = ?, columns = ?, quality = ? WHERE dataset_id = ?",
        [
            info.rows_read,
            json.dumps([c.__dict__ for c in info.columns]),
            json.dumps(json_safe(q.to_dict())),
            info.dataset_id,
        ],
    )


def _line_findings(st: RfmStats, repairs: list[str]) -> list[RuleFinding]:
    """Findings about the transaction lines (duplicates, returns, problems); adds repair lines."""
    m = st.mapping
    findings: list[RuleFinding] = []
    if st.duplicate_lines:
        repairs.append(f"transactions: {st.duplicate_lines:,} exact duplicate lines removed")
        findings.append(RuleFinding(
            rule="duplicate_line", column=None, count=st.duplicate_lines,
            action="removed before computing R, F and M",
            message=f"{st.duplicate_lines:,} transaction lines repeat an earlier line in every field "
                    "(same invoice); the copies were removed, the first of each kept",
            sample_rows=list(st.repeat_rows),
        ))
    if st.identical_lines_kept:
        findings.append(RuleFinding(
            rule="repeated_line", column=None, count=st.identical_lines_kept,
            action="kept as separate purchases",
            message=f"{st.identical_lines_kept:,} transaction lines repeat an earlier line in every field; "
                    "with no invoice column two equal purchases on one day look the same, so they were kept "
                    "(map an invoice column to have exact repeats removed)",
            sample_rows=list(st.repeat_rows),
        ))
    if st.return_lines:
        cancels = f" ({st.cancellation_lines:,} of them on 'C' invoices)" if st.cancellation_lines else ""
        repairs.append(
            f"transactions: {st.return_lines:,} return/cancellation lines{cancels} left out of frequency and "
            "subtracted from monetary"
        )
        findings.append(RuleFinding(
            rule="return_line", column=m.quantity or m.amount, count=st.return_lines,
            action="left out of frequency; subtracted from monetary",
            message=f"{st.return_lines:,} transaction lines are returns or cancellations (negative quantity or "
                    f"amount, or an invoice starting with 'C' and a digit){cancels}; they are left out of "
                    "frequency and subtracted from monetary",
        ))
    money = f"'{m.amount}'" if m.amount else f"'{m.quantity}' x '{m.price}'"
    for rule, problem, column, what in (
        ("missing_customer", st.missing_customer, m.customer, f"no customer id in '{m.customer}'"),
        ("unparseable_date", st.bad_date, m.date, f"a missing or unreadable date in '{m.date}'"),
        ("invalid_amount", st.bad_amount, m.amount or m.price, f"no number in {money}"),
    ):
        if not problem.count:
            continue
        if rule == "missing_customer":
            eg = ("row " if len(problem.sample_rows) == 1 else "rows ") + ", ".join(map(str, problem.sample_rows[:3]))
        else:
            eg = ", ".join(f"'{_short(v)}' (row {r})" for r, v in zip(problem.sample_rows[:3], problem.sample_values))
        one = problem.count == 1
        findings.append(RuleFinding(
            rule=rule, column=column, count=problem.count, action="lines left out of R, F and M",
            message=f"{problem.count:,} transaction {'line has' if one else 'lines have'} {what}"
                    + (f", such as {eg}" if eg else "")
                    + f"; {'it was' if one else 'they were'} left out of R, F and M",
            sample_rows=list(problem.sample_rows), sample_values=list(problem.sample_values),
        ))
    if st.returns_only.count:
        n = st.returns_only.count
        findings.append(RuleFinding(
            rule="returns_only_customer", column=m.customer, count=n,
            action="not in the customer table",
            message=f"{n:,} customer{'s have' if n != 1 else ' has'} only returns or cancellations and no "
                    "purchase, so no recency or frequency; left out of the customer table",
            sample_rows=list(st.returns_only.sample_rows), sample_values=list(st.returns_only.sample_values),
        ))
    return findings


def _short(text: object, limit: int = 40) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


