"""Column roles: the one home of the rule that decides which columns are identifiers, numeric
features, categorical codes, dates or excluded, and which columns a run uses by default.

Roles are decided at ingest (ColumnInfo.role and ColumnInfo.reason) with the rules below; this
module also reads them back with the quality report's findings (constant and empty columns are
excluded from the features).

Rules (docs/ARCHITECTURE.md "Column roles" and README "Data expectations" say the same in words):
- Integer codes: a column whose present values are all whole numbers with 2..CODE_MAX_DISTINCT distinct
  values, in a file with at least CODE_MIN_ROWS_PER_VALUE rows per distinct value, and whose name does
  not promise a count, an amount or a score (kids, children, num, count, qty, visits, purchases,
  recency, days, years, age, income, spend, score, rating, ...) nor declare a range ("Score (1-5)"), is CATEGORICAL when
  - its values are exactly 0 and 1: a yes/no flag (reason "yes/no flag"), or
  - its name is code-like (channel, region, type, code, status, segment, class, category, group,
    education, marital, zone, area, branch, store, gender, sex, level, tier, ...), or
  - its values are exactly 1..n.
  It is stored as text ("1", "2", ...), so every categorical path (one-hot, filters, export) applies.
- Birth year: a name like Year_Birth / birth year / YearOfBirth / YOB with whole values in
  1800..the current year (mostly 1900..; a typo such as 1893 is kept and its age above 120 is flagged by
  the impossible_age rule) is EXCLUDED (reason BIRTH_YEAR_REASON) and gets a derived NUMERIC column
  "Age (from <name>)" = reference year - value; the reference year is the latest year of any date
  column of the dataset, else the current year.
- Dates: a text column whose values read as dates (core/dates.py, 90% of present values), or a column
  of YYYYMMDD numbers with a date-like name (date, dt, joined, signup, since, created, ...), is DATE
  (stored as DATE) and gets a derived NUMERIC column "<name> (days since)" = days from the date to the
  latest date of that column.
"""
from __future__ import annotations

import datetime as dt

from core.models import (
    CATEGORICAL,
    DATE,
    EXCLUDED,
    IDENTIFIER,
    NUMERIC,
    RESERVED,
    DatasetInfo,
)
from core.quality import declared_range, is_age, is_quantity, name_tokens

CODE_MAX_DISTINCT = 10  # "few distinct values": at most this many for an integer column to be codes
CODE_MIN_ROWS_PER_VALUE = 3  # codes repeat: at least this many rows per distinct value
BIRTH_YEAR_MIN = 1800  # real files hold typos such as 1893: they become ages above 120 (impossible_age)
BIRTH_YEAR_REASON = "birth year: use the derived age"
CODE_TOKENS = {
    "channel", "region", "type", "code", "codes", "status", "segment", "class", "category", "categories",
    "group", "education", "marital", "zone", "area", "branch", "store", "gender", "sex", "level", "tier",
    "cluster", "state", "department", "dept", "brand", "plan", "kind", "method", "mode", "source", "outlet",
    "shop", "sector", "industry", "country", "city", "territory", "division", "grade", "flag", "label",
    "cohort", "district", "province", "site", "team", "occupation", "profession", "job", "religion",
    "ethnicity", "race", "language", "format", "variant", "version",
}
COUNT_TOKENS = {
    "kid", "kids", "kidhome", "teen", "teens", "teenhome", "child", "children", "num", "number", "nb",
    "count", "counts", "qty", "quantity", "visits", "visit", "purchases", "purchase", "orders", "order",
    "items", "item", "recency", "days", "day", "weeks", "week", "months", "month", "years", "year", "tenure",
    "times", "members", "persons", "people", "size", "rooms", "cars", "pets", "dependents", "dependants",
    "adults", "nights", "stays", "trips", "calls", "tickets", "logins", "sessions", "clicks", "pages",
    "views", "products", "units", "points", "total", "sum", "amount", "balance",
    "score", "scores", "rating", "ratings", "rank",  # ordinal measures stay numbers
}


def _countish(name: str) -> bool:
    return bool(set(name_tokens(name)) & COUNT_TOKENS) or is_quantity(name) or is_age(name)


def integer_code_reason(name: str, distinct: int, lo: float, hi: float, rows: int) -> str | None:
    """Why a column of whole numbers holds categories rather than quantities, or None (it is numeric).
    `distinct`, `lo`, `hi` describe its present values, `rows` the dataset's rows."""
    if distinct < 2 or distinct > CODE_MAX_DISTINCT or rows < CODE_MIN_ROWS_PER_VALUE * distinct:
        return None
    if declared_range(name) or _countish(name):
        return None
    if distinct == 2 and lo == 0 and hi == 1:
        return "yes/no flag"
    if set(name_tokens(name)) & CODE_TOKENS:
        return f"integer codes: {distinct} distinct values, name '{name}'"
    if lo == 1 and hi == distinct:
        return f"integer codes: values 1..{int(hi)}"
    return None


DATE_TOKENS = {"date", "dt", "joined", "signup", "since", "created", "registered", "registration", "opened",
               "dob", "birthday", "birthdate"}


def may_be_compact_date(name: str, lo: float, hi: float) -> bool:
    """Whole numbers that may be YYYYMMDD dates (20130512): a date-like name and values in range."""
    return bool(set(name_tokens(name)) & DATE_TOKENS) and 19000101 <= lo <= hi <= 21001231


def is_birth_year_name(name: str) -> bool:
    tokens = name_tokens(name)
    joined = "".join(tokens)
    return ("birth" in tokens and ("year" in tokens or "yr" in tokens)) or joined in ("yob", "birthyear")


def is_birth_year(name: str, lo: float, hi: float, this_year: int | None = None) -> bool:
    """A birth-year column: a birth-year name and whole values in BIRTH_YEAR_MIN..this year."""
    top = this_year or dt.date.today().year
    return is_birth_year_name(name) and BIRTH_YEAR_MIN <= lo <= hi <= top


def age_column_name(name: str) -> str:
    return f"Age (from {name})"


def days_since_column_name(name: str) -> str:
    return f"{name} (days since)"


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
