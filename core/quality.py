"""Cleaning and validation in SQL: duplicates, identifiers, missing-value fill, validation rules.

Everything here works on tables inside the publishing transaction (core/ingest.py calls it) or on a
published `ds_<id>` table (fill_values, kept_rows_predicate). Every offending row of a row-level rule is
written to the `issues` table and summarised as one `RuleFinding` per (rule, column); nothing is
dropped without a count.

Rules and what they do (the `action` text of each finding says the same in words):

| rule            | when                                                               | excludes rows |
|-----------------|--------------------------------------------------------------------|---------------|
| non_numeric     | text in a numeric column (recorded by ingest; value becomes NULL)  | no (filled)   |
| not_finite      | inf, -inf, 1e400, or beyond +-1e150 (value -> NULL; set by ingest) | yes           |
| negative        | value < 0 in a quantity that cannot be negative (name-based)       | yes           |
| out_of_range    | value outside a range declared in the name, e.g. "Score (1-100)"   | yes           |
| impossible_age  | column named like age: value < 0 or > 120                          | yes           |
| duplicate_id    | an identifier value shared by several rows (after exact duplicates) | no (flagged)  |
| constant_column | a column with one distinct value (column-level, no issue rows)     | no            |

Only one of negative / out_of_range / impossible_age applies to a column, in that priority:
a declared range wins (it covers negatives), then age, then the quantity rule.
"Excludes rows" means: when that column is a chosen feature, rows with the finding are kept out of
the fit (see `kept_rows_predicate`); they stay in the dataset and are shown.

Name heuristics work on the column name split into lowercase word tokens ("CustomerID" ->
["customer", "id"], "Annual Income (k$)" -> ["annual", "income", "k"]), so "Country" never matches
"count" and "Average" never matches "age".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from core.errors import InputError
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC, ROW, ColumnInfo, DatasetInfo, RuleFinding
from core.store import dataset_table, quote_ident

FILL_METHODS = ("median", "mean")

MAX_AGE = 120
ID_UNIQUE_SHARE = 0.95  # an id-like column is an identifier when distinct values >= 95% of rows
SAMPLES = 5  # sample rows/values kept per finding

_ID_LAST = {"id", "uuid", "guid", "key"}
_ID_JOINED = {"custid", "customerid", "clientid", "userid", "memberid", "accountid", "customerno",
              "custno", "clientno", "customernumber", "clientnumber", "accountnumber"}
_ID_NUMBER = {"no", "nr", "num", "number", "code"}
_ID_OWNER = {"customer", "cust", "client", "member", "account", "user", "subscriber", "patient"}
QUANTITY_TOKENS = {
    "income", "incomes", "salary", "spend", "spends", "spending", "spent", "amount", "amounts",
    "price", "prices", "revenue", "revenues", "sales", "sale", "monetary", "quantity", "quantities",
    "qty", "count", "counts", "orders", "purchases", "purchase", "frequency", "freq", "visits", "visit",
}
AGE_TOKENS = {"age", "ages"}
_NUM = r"[+-]?\d+(?:[.,]\d+)?"
_RANGE_RE = re.compile(rf"[(\[]\s*({_NUM})\s*(?:-|–|—|to|\.\.)\s*({_NUM})\s*[)\]]", re.IGNORECASE)

RULE_TEXT = {
    # rule: (action, excludes_rows)
    "non_numeric": ("treated as missing and filled", False),
    "not_finite": ("value treated as missing; rows excluded from the fit", True),
    "negative": ("rows excluded from the fit", True),
    "out_of_range": ("rows excluded from the fit", True),
    "impossible_age": ("rows excluded from the fit", True),
    "duplicate_id": ("kept and flagged", False),
    "constant_column": ("not used as a default feature", False),
}


# -- name heuristics ------------------------------------------------------------------------------
def name_tokens(name: str) -> list[str]:
    """Lowercase word tokens of a column name, splitting camelCase and any punctuation."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return re.findall(r"[a-z]+|\d+", spaced.lower())


def is_id_like(name: str) -> bool:
    """CustomerID, ID, Id, CUST_ID, customer_id, "client id", "Customer Number", custid, ..."""
    tokens = name_tokens(name)
    if not tokens:
        return False
    if tokens[-1] in _ID_LAST or tokens[0] == "id" or "".join(tokens) in _ID_JOINED:
        return True
    return len(tokens) >= 2 and tokens[-1] in _ID_NUMBER and tokens[-2] in _ID_OWNER


def is_quantity(name: str) -> bool:
    """A quantity that cannot be negative (income, spending, amount, price, orders, visits, ...)."""
    return any(t in QUANTITY_TOKENS for t in name_tokens(name))


def is_age(name: str) -> bool:
    return any(t in AGE_TOKENS for t in name_tokens(name))


def declared_range(name: str) -> tuple[float, float] | None:
    """The range declared in a name such as "Spending Score (1-100)" or "rating [0 to 5]"."""
    m = _RANGE_RE.search(name)
    if not m:
        return None
    lo, hi = (float(v.replace(",", ".")) for v in m.groups())
    return (min(lo, hi), max(lo, hi))


# -- cleaning -------------------------------------------------------------------------------------
def mark_first_rows(cur: duckdb.DuckDBPyConnection, staged: str, columns: list[str], keep: str) -> int:
    """Create TEMP table `keep` (__row) with the first row (lowest __row) of every group of exact
    duplicate rows of `staged` (compared on every column, NULL equal to NULL) and return the number of
    duplicate rows left out. `staged` and `keep` are internal table names, never user input."""
    cols = ", ".join(quote_ident(c) for c in columns)
    cur.execute(
        f"""
        CREATE TEMP TABLE {keep} AS
        SELECT {ROW} FROM {staged}
        QUALIFY row_number() OVER (PARTITION BY {cols} ORDER BY {ROW}) = 1
        """
    )
    total = cur.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]
    kept = cur.execute(f"SELECT count(*) FROM {keep}").fetchone()[0]
    return int(total - kept)


def is_identifier(name: str, distinct: int, rows: int) -> bool:
    """An identifier has an id-like name AND is unique or nearly unique per row."""
    return rows > 0 and is_id_like(name) and distinct >= ID_UNIQUE_SHARE * rows


# -- validation -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Check:
    rule: str
    column: str
    condition: str  # SQL over the quoted column `q`
    params: tuple


def value_checks(columns: list[ColumnInfo]) -> list[_Check]:
    """The row-level value rules that apply to each numeric (non-identifier) column, by its name."""
    checks = []
    for c in columns:
        if c.role != NUMERIC:
            continue
        q = quote_ident(c.name)
        rng = declared_range(c.name)
        if rng is not None:
            checks.append(_Check("out_of_range", c.name, f"({q} < ? OR {q} > ?)", rng))
        elif is_age(c.name):
            checks.append(_Check("impossible_age", c.name, f"({q} < 0 OR {q} > ?)", (MAX_AGE,)))
        elif is_quantity(c.name):
            checks.append(_Check("negative", c.name, f"{q} < 0", ()))
    return checks


def validate(
    cur: duckdb.DuckDBPyConnection, dataset_id: str, table: str, columns: list[ColumnInfo], rows: int
) -> list[RuleFinding]:
    """Run the value, duplicate-id and constant-column rules on a typed dataset table (inside the
    publishing transaction): insert one `issues` row per offending row and return every finding,
    including those ingest already wrote to `issues` (non_numeric, not_finite), in column order."""
    for check in value_checks(columns):
        q = quote_ident(check.column)
        excludes = RULE_TEXT[check.rule][1]
        cur.execute(
            f"""
            INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
            SELECT ?, {ROW}, ?, ?, {q}::VARCHAR, ? FROM {table}
            WHERE {check.condition}
            """,
            [dataset_id, check.column, check.rule, excludes, *check.params],
        )
    for c in columns:
        if c.role != IDENTIFIER:
            continue
        q = quote_ident(c.name)
        cur.execute(
            f"""
            INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
            SELECT ?, {ROW}, ?, 'duplicate_id', {q}::VARCHAR, false FROM {table}
            WHERE {q} IS NOT NULL
            QUALIFY count(*) OVER (PARTITION BY {q}) > 1
            """,
            [dataset_id, c.name],
        )
    findings = findings_from_issues(cur, dataset_id)
    findings += constant_columns(cur, table, columns, rows)
    order = {c.name: i for i, c in enumerate(columns)}
    rules = list(RULE_TEXT)
    findings.sort(key=lambda f: (order.get(f.column, -1), rules.index(f.rule)))
    return findings


def constant_columns(
    cur: duckdb.DuckDBPyConnection, table: str, columns: list[ColumnInfo], rows: int
) -> list[RuleFinding]:
    """Columns (numeric or categorical) holding exactly one distinct value over two or more rows."""
    candidates = [c.name for c in columns if c.role in (NUMERIC, CATEGORICAL)]
    if rows < 2 or not candidates:
        return []
    out = []
    for chunk in _chunks(candidates, 25):  # narrow queries plan faster
        # one distinct value <=> min = max over the present values (much cheaper than count DISTINCT)
        sql = ", ".join(
            f"min({quote_ident(c)}) = max({quote_ident(c)}), min({quote_ident(c)})::VARCHAR, count({quote_ident(c)})"
            for c in chunk
        )
        stats = cur.execute(f"SELECT {sql} FROM {table}").fetchone()
        for i, col in enumerate(chunk):
            same, value, present = stats[3 * i: 3 * i + 3]
            if not same:
                continue
            action, excludes = RULE_TEXT["constant_column"]
            gap = f" ({rows - present} missing)" if present < rows else ""
            out.append(
                RuleFinding(
                    rule="constant_column",
                    column=col,
                    count=int(present),
                    action=action,
                    message=f"column '{_short(col)}' has the same value '{_short(value)}' in every row{gap}; "
                    "it cannot separate customers and is not used as a default feature",
                    sample_rows=[],
                    sample_values=[_number_or_text(value)],
                    excludes_rows=excludes,
                )
            )
    return out


def findings_from_issues(cur: duckdb.DuckDBPyConnection, dataset_id: str) -> list[RuleFinding]:
    """One RuleFinding per (rule, column) found in the `issues` table for a dataset: count, the first
    few rows and values, the action and a message."""
    counts = cur.execute(
        """
        SELECT rule, column_name, count(*), count(DISTINCT value)
        FROM issues WHERE dataset_id = ? GROUP BY rule, column_name
        """,
        [dataset_id],
    ).fetchall()
    samples = cur.execute(
        f"""
        SELECT rule, column_name, "row", value FROM issues WHERE dataset_id = ?
        QUALIFY row_number() OVER (PARTITION BY rule, column_name ORDER BY "row") <= {SAMPLES}
        ORDER BY rule, column_name, "row"
        """,
        [dataset_id],
    ).fetchall()
    by_key: dict[tuple, list] = {}
    for rule, col, row, value in samples:
        by_key.setdefault((rule, col), []).append((row, value))
    out = []
    for rule, col, count, distinct in counts:
        pairs = by_key.get((rule, col), [])
        action, excludes = RULE_TEXT.get(rule, ("flagged", False))
        values = [v if rule in ("non_numeric", "not_finite", "duplicate_id") else _number_or_text(v)
                  for _, v in pairs]
        out.append(
            RuleFinding(
                rule=rule,
                column=col,
                count=int(count),
                action=action,
                message=_message(rule, col, int(count), int(distinct), pairs),
                sample_rows=[int(r) for r, _ in pairs],
                sample_values=values,
                excludes_rows=excludes,
            )
        )
    return out


def _message(rule: str, col: str | None, count: int, distinct: int, pairs: list[tuple]) -> str:
    name = f"'{_short(col)}'" if col else "the file"
    rows = "row" if count == 1 else "rows"
    example = ", ".join(f"'{_short(v, 20)}' (row {r})" for r, v in pairs[:3])
    fit = "left out of the fit when the column is a feature"
    if rule == "non_numeric":
        return (f"column {name} has {count} non-numeric value{'s' if count != 1 else ''} such as {example}; "
                "they were treated as missing and will be filled")
    if rule == "not_finite":
        return (f"column {name} has {count} infinite or impossibly large value(s) (beyond 1e150) such as {example}; "
                f"they were treated as missing and those {rows} are {fit}")
    if rule == "negative":
        return f"column {name} cannot be negative but has {count} negative value(s) such as {example}; those {rows} are {fit}"
    if rule == "out_of_range":
        lo, hi = declared_range(col or "") or (None, None)
        return (f"column {name} declares the range {_fmt(lo)}-{_fmt(hi)} but has {count} value(s) outside it "
                f"such as {example}; those {rows} are {fit}")
    if rule == "impossible_age":
        return (f"column {name} has {count} impossible age(s) (below 0 or above {MAX_AGE}) such as {example}; "
                f"those {rows} are {fit}")
    if rule == "duplicate_id":
        return (f"identifier {name} repeats: {distinct} id(s) appear on more than one row ({count} rows), "
                f"such as {example}; the rows are kept and flagged")
    return f"column {name}: {count} {rows} flagged by rule {rule}"


# -- per-run helpers (used by segmentation) -------------------------------------------------------
def fill_values(
    cur: duckdb.DuckDBPyConnection, info: DatasetInfo, columns: list[str], method: str = "median"
) -> dict[str, dict]:
    """The value each column's missing entries are filled with, and how many there are.

    Numeric columns: median (default) or mean of the present values; categorical columns: the mode
    (ties broken alphabetically so the result is reproducible). Columns without missing values are
    left out. Returns column -> {"method", "value", "count"}.
    """
    if method not in FILL_METHODS:
        raise InputError(f"fill must be one of {', '.join(FILL_METHODS)}")
    if not columns:
        return {}
    table = dataset_table(info.dataset_id)
    allowed = info.names()
    counts_sql = ", ".join(f"count(*) - count({quote_ident(c, allowed)})" for c in columns)
    counts = cur.execute(f"SELECT {counts_sql} FROM {table}").fetchone()
    out: dict[str, dict] = {}
    for col, missing in zip(columns, counts):
        if not missing:
            continue
        q = quote_ident(col, allowed)
        role = info.column(col).role
        if role == NUMERIC:
            agg = "median" if method == "median" else "avg"
            value = cur.execute(f"SELECT {agg}({q})::DOUBLE FROM {table}").fetchone()[0]
            used = method
        else:
            row = cur.execute(
                f"""
                SELECT {q}::VARCHAR FROM {table} WHERE {q} IS NOT NULL
                GROUP BY {q} ORDER BY count(*) DESC, {q}::VARCHAR LIMIT 1
                """
            ).fetchone()
            value = row[0] if row else None
            used = "mode"
        if value is None:
            raise InputError(f"column '{col}' has no values at all; leave it out of the features")
        out[col] = {"method": used, "value": value, "count": int(missing)}
    return out


def kept_rows_predicate(dataset_id: str, features: list[str]) -> tuple[str, list]:
    """SQL condition over a dataset table aliased `d`: true for rows kept in the fit, i.e. rows with
    no excluding validation finding in any of the chosen feature columns, with its bound parameters."""
    sql = f"""NOT EXISTS (
        SELECT 1 FROM issues i
        WHERE i.dataset_id = ? AND i."row" = d.{ROW} AND i.excludes
          AND list_contains(?::VARCHAR[], i.column_name)
    )"""
    return sql, [dataset_id, list(features)]


# -- small helpers --------------------------------------------------------------------------------
def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i: i + n]


def _short(text: object, limit: int = 60) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _fmt(v: float | None) -> str:
    if v is None:
        return "?"
    return str(int(v)) if float(v).is_integer() else str(v)


def _number_or_text(v: object):
    """A value from a VARCHAR issues column back as int/float when it is a finite number."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    if f != f or f in (float("inf"), float("-inf")):
        return str(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f
