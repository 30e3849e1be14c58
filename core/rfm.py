"""Transactions -> one row per customer with Recency, Frequency, Monetary and RFM scores, in DuckDB SQL.

The rules (dates, returns, duplicates, scores, named groups) are written down in docs/RFM.md; this
module is their one implementation. `load_transactions` reads a file through the shared reader
(core.ingest.stage_file), derives the customer table with `derive_rfm` and publishes it through
core.ingest.publish_staged as a dataset of kind "transactions", all in one transaction.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import duckdb

from core.errors import InputError
from core.models import CATEGORICAL, ROW, DatasetInfo, RuleFinding
from core.store import Store, new_id, quote_ident

KIND = "transactions"
ROLES = ("customer", "date", "amount", "quantity", "price", "invoice")
DATE_ORDERS = ("auto", "ymd", "dmy", "mdy")
RFM_FEATURES = ["recency_days", "frequency", "monetary"]
# The derived customer table, in this order (names are relied on by naming and segmentation).
CUSTOMER_COLUMNS = [
    "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
    "rfm_score", "rfm_group", "first_purchase", "last_purchase", "returns",
]
# Dates outside these years are treated as unparseable (a "21-03-04" is not the year 21).
MIN_YEAR, MAX_YEAR = 1900, 2100
SAMPLE_ROWS = 500  # rows looked at by column detection
SAMPLES = 5  # sample rows/values kept per finding

# Named RFM groups on the R/F score grid (docs/RFM.md): (group, R scores, F scores). Every one of
# the 25 (R, F) cells belongs to exactly one group; the order is the order of the CASE below.
RFM_GROUPS: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = [
    ("Champions", (5,), (4, 5)),
    ("Loyal customers", (3, 4), (4, 5)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("New customers", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need attention", (3,), (3,)),
    ("About to sleep", (3,), (1, 2)),
    ("Cannot lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Lost", (1,), (1,)),
    ("Hibernating", (2,), (1, 2)),
    ("Hibernating", (1,), (2,)),
]


# ---------------------------------------------------------------------------------------------
# Column mapping and detection
# ---------------------------------------------------------------------------------------------
@dataclass
class TransactionMapping:
    """Which column of a transactions table plays which part.

    Monetary comes from `amount` when it is set, else from `quantity` * `price`. `invoice` is
    optional. `sure` is False when detection had to guess (the UI should then ask the user to
    confirm the mapping); `reasons` says why, one sentence per doubt.
    """

    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    invoice: str | None = None
    sure: bool = True
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> "TransactionMapping":
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(
                f"unknown mapping key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(ROLES)}"
            )
        values = {k: (v if v not in ("", None) else None) for k, v in data.items()}
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def roles(self) -> dict[str, str]:
        """role -> column for every role that is set."""
        return {r: getattr(self, r) for r in ROLES if getattr(self, r)}

    def describe(self) -> str:
        money = (
            f"amount = '{self.amount}'"
            if self.amount
            else f"quantity x price = '{self.quantity}' x '{self.price}'"
        )
        parts = [f"customer = '{self.customer}'", f"date = '{self.date}'", money]
        if self.amount and self.quantity:
            parts.append(f"quantity sign = '{self.quantity}'")
        parts.append(f"invoice = '{self.invoice}'" if self.invoice else "no invoice column")
        return ", ".join(parts)


# Name patterns per role, strongest first: (regex over the normalised name, score).
# Normalised: lower case, every run of non-alphanumerics -> one space, trimmed.
_NAME_PATTERNS: dict[str, list[tuple[str, int]]] = {
    "customer": [
        (r"^(customer|cust|client|member|user|buyer|shopper|account|consumer) ?(id|no|nr|number|code|key|num)$", 10),
        (r"^(customerid|custid|clientid|userid|memberid|accountid|buyerid|customerno|customernumber)$", 10),
        (r"^(customer|client|member|buyer|shopper|consumer)$", 9),
        (r"\b(customer|cust|client|member|buyer|shopper|consumer)\b.*\b(id|no|nr|number|code|key)\b", 8),
        (r"\b(customer|client|member|buyer|shopper|consumer|user|account)\b", 5),
        (r"(customer|client)", 4),
    ],
    "date": [
        (r"^(date|invoice ?date|order ?date|purchase ?date|transaction ?date|sale ?date|sales ?date|"
         r"txn ?date|trans ?date|timestamp|datetime|date ?time|order ?time|purchase ?time|invoicedate|orderdate)$", 10),
        (r"\b(date|datetime|timestamp)\b", 8),
        (r"(date|timestamp)$", 7),
        (r"\b(time|day|created|purchased|ordered)( at| on)?\b", 4),
    ],
    "amount": [
        (r"^(amount|total|revenue|sales|sale amount|spend|spent|monetary|line total|total amount|"
         r"order total|order value|total price|value|net amount|gross amount|turnover|payment|paid|"
         r"amount spent|dollar value|dollars|sales amount|transaction amount|purchase amount)$", 10),
        (r"\b(amount|amt|revenue|sales|spend|spent|monetary|turnover|subtotal)\b", 8),
        (r"\b(total|value|dollar|dollars|payment|paid)\b", 6),
    ],
    "quantity": [
        (r"^(quantity|qty|units|quantity ordered|qty ordered|number of items|items|pieces|pcs|units sold)$", 10),
        (r"\b(quantity|qty|units)\b", 8),
        (r"\b(items|pieces|pcs|count)\b", 5),
    ],
    "price": [
        (r"^(price|unit ?price|unitprice|price each|price per unit|unit ?cost|item price|sale price|selling price)$", 10),
        (r"\b(price|unitprice)\b", 8),
        (r"\b(cost|rate)\b", 4),
    ],
    "invoice": [
        (r"^(invoice|invoice ?(no|nr|id|number|num)|order ?(id|no|nr|number|num)|transaction ?(id|no|number)|"
         r"txn ?id|receipt ?(id|no|number)?|basket ?id|bill ?(no|id|number)|ticket ?(id|no)|"
         r"invoiceno|invoiceid|orderid|orderno|transactionid)$", 10),
        (r"\b(invoice|receipt|basket|order|transaction|txn|bill)\b.*\b(id|no|nr|number|num|code)\b", 8),
        (r"\b(invoice|receipt|basket)\b", 7),
        (r"\b(order|transaction|txn)\b", 4),
    ],
}

_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
_ISO_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$")
_COMPACT_RE = re.compile(r"^\d{8}$")
_SLASH_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})([ T].*)?$")
_NUMBER_RE = re.compile(r"^[-+]?[$€£¥]?\s?[-+]?(\d+(\.\d*)?|\.\d+|\d{1,3}(,\d{3})+(\.\d*)?)([eE][-+]?\d+)?$")


def _norm_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", str(name).lower()).strip()


def _is_date_text(v: str) -> bool:
    v = v.strip()
    if _ISO_RE.match(v):
        parts = re.split(r"[-/.]", v[:10].split(" ")[0].split("T")[0])
        return _valid_ymd(parts[0], parts[1], parts[2])
    if _COMPACT_RE.match(v):
        return _valid_ymd(v[:4], v[4:6], v[6:8])
    m = _SLASH_RE.match(v)
    if m:
        a, b, y = m.group(1), m.group(2), m.group(3)
        year = _full_year(int(y))
        return _valid_ymd(str(year), b, a) or _valid_ymd(str(year), a, b)
    return False


def _full_year(y: int) -> int:
    # POSIX %y: 69-99 -> 1900s, 00-68 -> 2000s
    if y >= 100:
        return y
    return y + (1900 if y >= 69 else 2000)


def _valid_ymd(y: str, m: str, d: str) -> bool:
    try:
        year = int(y)
        dt.date(year, int(m), int(d))
    except ValueError:
        return False
    return MIN_YEAR <= year <= MAX_YEAR


def _is_number_text(v: str) -> bool:
    return bool(_NUMBER_RE.match(v.strip()))


def _number(v: str) -> float | None:
    v = v.strip().replace("$", "").replace("€", "").replace("£", "").replace("¥", "").replace(" ", "")
    if re.match(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$", v):
        v = v.replace(",", "")
    try:
        return float(v)
    except ValueError:
        return None


@dataclass
class _ColumnProfile:
    name: str
    values: int  # non-empty sample values
    date: float  # share that read as dates
    number: float  # share that read as numbers
    decimals: float  # share of numbers with a fractional part
    negative: float
    distinct: float  # distinct values / values


def _profile(name: str, values: list[str]) -> _ColumnProfile:
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    n = len(vals)
    if n == 0:
        return _ColumnProfile(name, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    nums = [x for x in (_number(v) if _is_number_text(v) else None for v in vals) if x is not None]
    return _ColumnProfile(
        name=name,
        values=n,
        date=sum(_is_date_text(v) for v in vals) / n,
        number=len(nums) / n,
        decimals=(sum(x != int(x) for x in nums if abs(x) < 1e15) / len(nums)) if nums else 0.0,
        negative=(sum(x < 0 for x in nums) / len(nums)) if nums else 0.0,
        distinct=len(set(vals)) / n,
    )


def _type_fits(role: str, p: _ColumnProfile) -> bool:
    if p.values == 0:
        return True  # nothing to contradict the name
    if role == "date":
        return p.date >= 0.8
    if role in ("amount", "price", "quantity"):
        return p.number >= 0.8 and p.date < 0.5
    return p.date < 0.5  # customer, invoice: anything but dates


def detect_columns(columns: list[str], sample: dict[str, list[str]]) -> TransactionMapping:
    """Guess the mapping from column names and the type of sample values (raw text per column).

    Names decide first (a "Customer ID" column is the customer), values must agree (a column
    named "date" whose values are not dates is not the date). Roles no name points to are filled by
    type: the first column whose values are all dates is the date, a numeric column with decimals is
    the amount, the first remaining id-like column is the customer. Anything guessed by type, or
    any tie between two names, makes `sure` False with a reason.
    """
    profiles = {c: _profile(c, list(sample.get(c, []))) for c in columns}
    scored: list[tuple[int, str, str]] = []  # (score, role, column), name and values agree
    named: list[tuple[int, str, str]] = []  # name only
    for col in columns:
        name = _norm_name(col)
        for role, patterns in _NAME_PATTERNS.items():
            score = next((s for pat, s in patterns if re.search(pat, name)), 0)
            if score:
                named.append((score, role, col))
                if _type_fits(role, profiles[col]):
                    scored.append((score, role, col))

    mapping = TransactionMapping()
    reasons: list[str] = []
    used: set[str] = set()
    role_rank = {r: i for i, r in enumerate(("date", "customer", "invoice", "price", "quantity", "amount"))}
    for score, role, col in sorted(scored, key=lambda t: (-t[0], role_rank[t[1]], columns.index(t[2]))):
        if col in used or getattr(mapping, role):
            continue
        rivals = [c for s, r, c in scored if r == role and s == score and c != col and c not in used]
        if rivals and role in ("customer", "date", "amount", "invoice"):
            reasons.append(
                f"{role}: '{col}' and '{rivals[0]}' fit equally well; '{col}' was chosen"
            )
        setattr(mapping, role, col)
        used.add(col)

    # Monetary: an amount, or quantity and price. A name-detected amount wins; quantity alone is
    # kept only for the sign of returns.
    if not mapping.amount and not (mapping.quantity and mapping.price):
        by_type = [c for c in columns if c not in used and profiles[c].number >= 0.95
                   and profiles[c].date < 0.5 and profiles[c].decimals > 0]
        if mapping.price and not mapping.quantity:
            mapping.amount, mapping.price = mapping.price, None
            reasons.append(f"amount: no quantity column, so '{mapping.amount}' was taken as the line amount")
        elif len(by_type) >= 1:
            mapping.amount = by_type[-1]
            used.add(mapping.amount)
            reasons.append(f"amount: '{mapping.amount}' was chosen by its values (numbers with decimals)")
        if mapping.quantity and not mapping.price and mapping.amount is None:
            reasons.append("amount: quantity found but no price or amount column")

    if not mapping.date:
        free = [c for c in columns if c not in used and profiles[c].values and profiles[c].date >= 0.95]
        if free:
            mapping.date = free[0]
            used.add(free[0])
            reasons.append(f"date: '{mapping.date}' was chosen by its values (they read as dates)")

    if not mapping.customer:
        free = [
            c for c in columns
            if c not in used and profiles[c].values and profiles[c].date < 0.5
            and (profiles[c].number < 0.95 or (profiles[c].decimals == 0 and profiles[c].negative == 0))
        ]
        if free:
            mapping.customer = free[0]
            used.add(free[0])
            reasons.append(f"customer: '{mapping.customer}' was chosen by its position and values")

    # Required roles still missing: a column named for the role whose values do not fit is still
    # taken, so that the load reports its values rather than claiming the column does not exist.
    for role in ("customer", "date", "amount"):
        if getattr(mapping, role) or (role == "amount" and mapping.quantity and mapping.price):
            continue
        by_name = sorted((t for t in named if t[1] == role and t[2] not in used), key=lambda t: -t[0])
        if by_name:
            setattr(mapping, role, by_name[0][2])
            used.add(by_name[0][2])
            reasons.append(f"{role}: '{by_name[0][2]}' is named like one but its values do not look like it")
    for role in ("customer", "date"):
        if not getattr(mapping, role):
            reasons.append(f"{role}: no column looks like a {role}")
    if not mapping.amount and not (mapping.quantity and mapping.price):
        reasons.append("amount: no amount column, nor a quantity and a price column")
    mapping.reasons = reasons
    mapping.sure = not reasons
    return mapping


def _resolve_mapping(
    columns: list[str], sample: dict[str, list[str]], given: TransactionMapping | dict | None
) -> tuple[TransactionMapping, list[str]]:
    """The mapping to use: the given roles, completed by detection. Raises InputError when a named
    column does not exist or a required role is missing. Returns the mapping and report warnings."""
    if isinstance(given, dict):
        given = TransactionMapping.from_dict(given)
    detected = detect_columns(columns, sample)
    shown = ", ".join(f"'{c}'" for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
    warnings: list[str] = []
    if given is None or not given.roles():
        mapping = detected
        if not detected.sure:
            warnings.append(
                "transactions: the columns were guessed, please check them: " + "; ".join(detected.reasons)
                + " (pass the mapping, or --customer/--date/--amount in the CLI, to change them)"
            )
    else:
        for role, col in given.roles().items():
            if col not in columns:
                raise InputError(f"the {role} column '{col}' is not in the file; its columns are {shown}")
        mapping = TransactionMapping(**{r: getattr(given, r) for r in ROLES})
        money_given = bool(given.amount or given.quantity or given.price)
        taken = set(given.roles().values())
        for role in ("customer", "date", "invoice") + (() if money_given else ("amount", "quantity", "price")):
            col = getattr(detected, role)
            if not getattr(mapping, role) and col and col not in taken:
                setattr(mapping, role, col)
                taken.add(col)
                warnings.append(f"transactions: the {role} column was detected as '{col}'")
    missing = []
    if not mapping.customer:
        missing.append("customer id")
    if not mapping.date:
        missing.append("date")
    if not mapping.amount and not (mapping.quantity and mapping.price):
        if mapping.quantity and not mapping.price:
            missing.append("price (a quantity column needs a unit price, or give an amount column)")
        elif mapping.price and not mapping.quantity:
            missing.append("quantity (a price column needs a quantity, or give an amount column)")
        else:
            missing.append("amount (or quantity and price)")
    if missing:
        raise InputError(
            f"no {' and no '.join(missing)} column found in the transactions; name it in the column "
            f"mapping (CLI: --customer, --date, --amount or --quantity and --price). Columns: {shown}"
        )
    if len(set(mapping.roles().values())) < len(mapping.roles()):
        raise InputError(f"one column cannot play two parts in the mapping ({mapping.describe()})")
    return mapping, warnings


# ---------------------------------------------------------------------------------------------
# The derivation, in SQL
# ---------------------------------------------------------------------------------------------
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
    date_order: str = "ymd"  # the order used for d/m/y-like dates
    date_order_note: str | None = None  # why (auto) or the ambiguity warning
    newest_date: str | None = None
    reference_date: str | None = None  # recency is measured to this day
    reference_given: bool = False
    mapping_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


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


# d/m/y-like dates: one or two digits, a separator (/ . -), one or two digits, the same separator,
# a 2- or 4-digit year, then nothing or a space and a time. Parsed with string splits, not a
# regex: at ten million lines the regex costs twice as much.
def _dmy_parts_sql(t: str) -> str:
    """Text `t` -> a list of three text parts when it is shaped like a d/m/y or m/d/y date, else NULL."""
    dp = f"split_part({t}, ' ', 1)"
    split = (
        f"CASE WHEN contains({dp}, '/') THEN string_split({dp}, '/') "
        f"WHEN contains({dp}, '.') THEN string_split({dp}, '.') ELSE string_split({dp}, '-') END"
    )
    return (
        f"(SELECT CASE WHEN len(l) = 3 AND length(l[1]) BETWEEN 1 AND 2 AND length(l[2]) BETWEEN 1 AND 2 "
        f"AND length(l[3]) IN (2, 4) THEN l END "
        f"FROM (SELECT {split} AS l))"
    )


def _full_year_sql(y: str) -> str:
    # POSIX %y: 69-99 -> 1900s, 00-68 -> 2000s
    return f"(CASE WHEN {y} < 100 THEN {y} + CASE WHEN {y} >= 69 THEN 1900 ELSE 2000 END ELSE {y} END)"


def _in_years(d: str) -> str:
    return f"CASE WHEN year({d}) BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {d} END"


def _ymd_sql(t: str) -> str:
    """ISO dates (with or without a time) and YYYYMMDD: always year first."""
    return rf"""CASE
            WHEN length({t}) = 8 AND regexp_full_match({t}, '\d{{8}}')
                THEN TRY_STRPTIME({t}, '%Y%m%d')::DATE
            WHEN substr({t}, 5, 1) IN ('-', '/') THEN TRY_CAST({t} AS DATE)
        END"""


def _other_sql(parts: str, order: str) -> str:
    """The DATE of d/m/y-like parts (a list of three texts) for a decided order."""
    if order == "ymd":
        return "NULL::DATE"
    month, day = (f"{parts}[2]", f"{parts}[1]") if order == "dmy" else (f"{parts}[1]", f"{parts}[2]")
    year = _full_year_sql(f"TRY_CAST({parts}[3] AS INTEGER)")
    return f"TRY(make_date({year}, TRY_CAST({month} AS INTEGER), TRY_CAST({day} AS INTEGER)))"


def _decide_order(
    cur, staged: str, date_col: str, date_order: str, trimmed: bool = False
) -> tuple[str, str | None, int]:
    """The order for d/m/y-like dates, a note for the report (None when nothing needed deciding)
    and how many such dates there are. One scan of the date column."""
    t = _text(date_col, trimmed)
    n_slash, first_day, second_day = cur.execute(
        f"""
        SELECT count(p), count_if(TRY_CAST(p[1] AS INTEGER) > 12), count_if(TRY_CAST(p[2] AS INTEGER) > 12)
        FROM (SELECT {_dmy_parts_sql('t')} AS p
              FROM (SELECT {t} AS t FROM {staged})
              -- the cheap test first: a separator in 2nd or 3rd place (ISO dates skip the rest)
              WHERE substr(t, 2, 1) IN ('/', '.', '-') OR substr(t, 3, 1) IN ('/', '.', '-'))
        """
    ).fetchone()
    if date_order != "auto":
        if n_slash and date_order == "ymd":
            return "ymd", (
                f"{n_slash:,} dates are written day or month first but date_order='ymd' was given: "
                "they were not read"
            ), n_slash
        return date_order, None, n_slash
    if not n_slash:
        return "ymd", None, 0
    if first_day and not second_day:
        return "dmy", f"dates were read as day/month/year ({first_day:,} have a day above 12 first)", n_slash
    if second_day and not first_day:
        return "mdy", f"dates were read as month/day/year ({second_day:,} have a day above 12 second)", n_slash
    if first_day and second_day:
        order = "dmy" if first_day >= second_day else "mdy"
        return order, (
            f"dates mix day/month ({first_day:,} lines) and month/day ({second_day:,} lines); "
            f"they were read as {'day/month' if order == 'dmy' else 'month/day'} and the others could "
            "not be read; pass date_order to choose"
        ), n_slash
    return "dmy", "dates like 03/04/2021 were read as day/month; pass date_order='mdy' for month/day", n_slash


def _repeated_lines(cur, staged: str, cols: list[str], out: str) -> int:
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
_NO_CUSTOMER, _BAD_DATE, _BAD_AMOUNT = 1, 2, 4


def _typed_sql(
    staged: str, cols: list[str], types: dict[str, str], m: TransactionMapping, order: str, drop: str | None,
    trimmed: bool = False,
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
        if _is_number_type(types[col]):
            return f"CAST({_q(col, cols)} AS DOUBLE)"
        return _number_sql(f"CAST({_q(col, cols)} AS VARCHAR)")

    native_date = _is_date_type(types[m.date])
    date_value = f"CAST({_q(m.date, cols)} AS DATE)" if native_date else "NULL::DATE"
    value = "a" if m.amount else "q * p"
    qty_negative = "COALESCE(q < 0, false)" if m.quantity else "false"
    cancel = "COALESCE(regexp_matches(invoice, '^[Cc][0-9]'), false)" if m.invoice else "false"
    where = f"WHERE {ROW} NOT IN (SELECT {ROW} FROM {drop})" if drop else ""
    other = (
        f"CASE WHEN ymd IS NULL AND date_text IS NOT NULL THEN {_dmy_parts_sql('date_text')} END"
        if order != "ymd" and not native_date
        else "NULL"
    )
    ymd = "date_value" if native_date else _ymd_sql("date_text")
    return rf"""
        WITH raw AS (
            SELECT {ROW} AS line, {text(m.customer)} AS c, {text(m.invoice)} AS i,
                   {'NULL::VARCHAR' if native_date else text(m.date)} AS d, {date_value} AS date_value,
                   {number(m.amount)} AS a, {number(m.quantity)} AS q, {number(m.price)} AS p
            FROM {staged} {where}
        ),
        texts AS (
            SELECT line, {_text('c', trimmed)} AS customer_text, {_text('i', trimmed)} AS invoice,
                   {_text('d', trimmed)} AS date_text,
                   date_value, a, q, p
            FROM raw
        ),
        src AS (
            SELECT line, invoice, date_text,
                   -- "12345.0" (an id that went through a spreadsheet as a number) is customer "12345"
                   CASE WHEN length(customer_text) <= 4 AND lower(customer_text) IN {_MISSING_IDS} THEN NULL
                        WHEN contains(customer_text, '.')
                        THEN regexp_replace(customer_text, '^(\d+)\.0+$', '\1') ELSE customer_text END AS customer,
                   {value} AS raw_value, {qty_negative} AS qty_negative,
                   {ymd} AS ymd
            FROM texts
        ),
        parts AS (SELECT *, {other} AS parts FROM src),
        checked AS (
            SELECT *,
                   COALESCE({_in_years('ymd')}, {_in_years(_other_sql('parts', order))}) AS day,
                   CASE WHEN isfinite(raw_value) THEN raw_value END AS value,
                   {cancel} AS is_cancel
            FROM parts
        )
        SELECT line, customer, invoice, day, value,
               COALESCE(value < 0 OR qty_negative OR is_cancel, false) AS is_return,
               is_cancel,
               (customer IS NULL)::INTEGER * {_NO_CUSTOMER}
                 + (day IS NULL)::INTEGER * {_BAD_DATE}
                 + (value IS NULL)::INTEGER * {_BAD_AMOUNT} AS problem
        FROM checked
    """


def _is_number_type(typ: str) -> bool:
    base = typ.split("(")[0].upper()
    return base in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL"}


def _is_date_type(typ: str) -> bool:
    return typ.split("(")[0].upper() in {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
                                         "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "DATETIME"}


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

    `staged_table` has `__row` (the file row) and the source columns (read as text whatever their
    type). The result `out_table` (a TEMP table, replaced) has `__row` (the file row of the
    customer's first used line) and CUSTOMER_COLUMNS, typed. Returns the counts for the report.
    `trimmed=True` says the text values carry no surrounding spaces (core.ingest.stage_file trims).
    Work: one scan of the date column (d/m/y order), one hashed pass for duplicate lines, one
    parse-and-aggregate pass, then small queries on one row per customer.
    """
    t0 = time.perf_counter()
    if not _TABLE_RE.match(staged_table) or not _TABLE_RE.match(out_table):
        raise ValueError("table names must be plain identifiers")
    if date_order not in DATE_ORDERS:
        raise InputError(f"date_order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    ref = _parse_reference_date(reference_date)
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

    if _is_date_type(types[mapping.date]):
        order, note = ("ymd" if date_order == "auto" else date_order), None
    else:
        order, note, _ = _decide_order(cur, staged_table, _q(mapping.date, cols), date_order, trimmed)
    stats.date_order, stats.date_order_note = order, note

    # Exact duplicate lines: removed when there is an invoice column, counted and kept without one
    # (docs/RFM.md: identical lines of a file without invoices are separate purchases).
    repeats_table, per_customer = f"{out_table}__repeats", f"{out_table}__per_customer"
    repeats = _repeated_lines(cur, staged_table, cols, repeats_table)
    if repeats:
        stats.repeat_rows = [
            int(r[0]) for r in cur.execute(f"SELECT {ROW} FROM {repeats_table} ORDER BY {ROW} LIMIT ?", [SAMPLES]).fetchall()
        ]
    if mapping.invoice:
        stats.duplicate_lines = repeats
    else:
        stats.identical_lines_kept = repeats
    drop = repeats_table if mapping.invoice and repeats else None

    # Per purchase key (an invoice, or a day when the line has no invoice) then per customer, so
    # that frequency is a plain count. Lines with a problem are kept apart (problem <> 0) and only
    # counted.
    typed = _typed_sql(staged_table, cols, types, mapping, order, drop, trimmed)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {per_customer} AS
        WITH typed AS ({typed}),
        keys AS (
            SELECT customer, problem, is_return, invoice,
                   CASE WHEN invoice IS NULL THEN day END AS key_day,
                   sum(CASE WHEN is_return THEN -abs(value) ELSE value END) AS value,
                   count(*) AS lines, count_if(is_cancel) AS cancels,
                   min(day) AS first_day, max(day) AS last_day, min(line) AS first_line
            FROM typed
            GROUP BY ALL
        )
        SELECT customer, problem,
               count(*) FILTER (NOT is_return) AS frequency,
               sum(value) AS monetary,
               min(first_day) FILTER (NOT is_return) AS first_day,
               max(last_day) FILTER (NOT is_return) AS last_day,
               max(last_day) AS newest_day,
               COALESCE(sum(lines) FILTER (is_return), 0) AS returns,
               sum(cancels) AS cancels,
               sum(lines) AS lines,
               min(first_line) AS first_line
        FROM keys
        GROUP BY customer, problem
        """
    )
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
               COALESCE(sum(lines) FILTER (problem & {_NO_CUSTOMER} <> 0), 0),
               COALESCE(sum(lines) FILTER (problem & {_BAD_DATE} <> 0), 0),
               COALESCE(sum(lines) FILTER (problem & {_BAD_AMOUNT} <> 0), 0)
        FROM {per_customer}
        """
    ).fetchone()
    stats.lines_used, stats.return_lines, stats.cancellation_lines = int(lines_used), int(return_lines), int(cancel_lines)
    if no_customer or bad_date or bad_amount:
        _sample_problems(cur, stats, staged_table, cols, typed, (no_customer, bad_date, bad_amount))
    if newest is None:
        raise InputError(_nothing_usable(stats, mapping))
    stats.newest_date = newest.isoformat()
    if ref is None:
        ref_day = newest + dt.timedelta(days=1)
    else:
        ref_day = ref
        stats.reference_given = True
        if latest_purchase is not None and latest_purchase > ref_day:
            raise InputError(
                f"the reference date {ref_day.isoformat()} is before the newest purchase "
                f"({latest_purchase.isoformat()}); choose a date on or after it"
            )
    stats.reference_date = ref_day.isoformat()

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
               {_group_case()} AS rfm_group,
               strftime(first_day, '%Y-%m-%d') AS first_purchase,
               strftime(last_day, '%Y-%m-%d') AS last_purchase,
               returns::BIGINT AS returns
        FROM scored
        """,
        [ref_day],
    )
    stats.customers = cur.execute(f"SELECT count(*) FROM {out_table}").fetchone()[0]
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
    cur.execute(f"DROP TABLE {per_customer}")
    cur.execute(f"DROP TABLE {repeats_table}")
    if stats.customers == 0:
        raise InputError(
            "no customer has a purchase in the transactions: every usable line is a return or a cancellation"
        )
    stats.seconds = time.perf_counter() - t0
    return stats


def _sample_problems(cur, stats: RfmStats, staged: str, cols: list[str], typed: str, counts) -> None:
    """Fill the three line problems with their counts and a few file rows and raw values."""
    m = stats.mapping
    money = [m.amount] if m.amount else [m.quantity, m.price]
    raw = {
        _NO_CUSTOMER: [m.customer],
        _BAD_DATE: [m.date],
        _BAD_AMOUNT: money,
    }
    samples = cur.execute(
        f"""
        SELECT min(line, {SAMPLES}) FILTER (problem & {_NO_CUSTOMER} <> 0),
               min(line, {SAMPLES}) FILTER (problem & {_BAD_DATE} <> 0),
               min(line, {SAMPLES}) FILTER (problem & {_BAD_AMOUNT} <> 0)
        FROM ({typed}) WHERE problem <> 0
        """
    ).fetchone()
    problems = []
    for bit, count, rows in zip((_NO_CUSTOMER, _BAD_DATE, _BAD_AMOUNT), counts, samples):
        rows = sorted(int(r) for r in rows or [])
        values = []
        if rows:
            raw_sql = " || ' x ' || ".join(f"COALESCE({_q(c, cols)}::VARCHAR, '')" for c in raw[bit])
            found = dict(
                cur.execute(
                    f"SELECT {ROW}, {raw_sql} FROM {staged} WHERE {ROW} IN (SELECT unnest(?::BIGINT[]))",
                    [rows],
                ).fetchall()
            )
            values = [found.get(r) for r in rows]
        problems.append(LineProblem(count=int(count), sample_rows=rows, sample_values=values))
    stats.missing_customer, stats.bad_date, stats.bad_amount = problems


def _group_case() -> str:
    cells = []
    for name, rs, fs in RFM_GROUPS:
        cond = f"r_score IN ({', '.join(map(str, rs))}) AND f_score IN ({', '.join(map(str, fs))})"
        cells.append(f"WHEN {cond} THEN '{name}'")
    return "CASE " + " ".join(cells) + " END"


def _parse_reference_date(value) -> dt.date | None:
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
            "20210304, 04/03/2021 or 03/04/2021 (choose date_order)"
        )
    if stats.bad_amount.count >= n:
        what = f"'{m.amount}'" if m.amount else f"'{m.quantity}' x '{m.price}'"
        eg = f" such as {stats.bad_amount.sample_values[0]!r}" if stats.bad_amount.sample_values else ""
        return f"no amount in {what} is a number{eg}"
    if stats.missing_customer.count >= n:
        return f"the customer column '{m.customer}' is empty"
    return "no transaction line has a customer, a readable date and a numeric amount at once"


# ---------------------------------------------------------------------------------------------
# Loading a file: stage, derive, publish (one transaction)
# ---------------------------------------------------------------------------------------------
def column_sample(cur: duckdb.DuckDBPyConnection, table: str, columns: list[str], rows: int = SAMPLE_ROWS) -> dict[str, list[str]]:
    """The first `rows` values of each column as text (None kept out), for `detect_columns`."""
    if not columns:
        return {}
    select = ", ".join(f"CAST({_q(c, columns)} AS VARCHAR)" for c in columns)
    data = cur.execute(f"SELECT {select} FROM {table} ORDER BY {ROW} LIMIT ?", [rows]).fetchall()
    return {c: [r[i] for r in data if r[i] is not None] for i, c in enumerate(columns)}


def inspect_transactions(store: Store, path: str | Path, *, source_name: str | None = None) -> tuple[list[str], TransactionMapping]:
    """The columns of a transactions file and the detected mapping, without loading anything (for
    the UI's mapping step when `sure` is False)."""
    from core.ingest import stage_file

    path = Path(path)
    with store.transaction() as cur:
        table = f"rfm_inspect_{new_id()}"
        staged = stage_file(cur, path, table, source_name=source_name or path.name)
        sample = column_sample(cur, table, staged.columns)
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return staged.columns, detect_columns(staged.columns, sample)


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
    from core.ingest import StagedFile, publish_staged, stage_file

    path = Path(path)
    source = source_name or path.name
    name = (name or Path(source).stem or "transactions").strip() or "transactions"
    if date_order not in DATE_ORDERS:
        raise InputError(f"date_order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    _parse_reference_date(reference_date)  # a bad date fails before the file is read
    try:
        with store.transaction() as cur:
            key = new_id()
            t0 = time.perf_counter()
            staged = stage_file(cur, path, f"rfm_stage_{key}", source_name=source)
            t1 = time.perf_counter()
            sample = column_sample(cur, staged.table, staged.columns)
            used, mapping_warnings = _resolve_mapping(staged.columns, sample, mapping)
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
    if st.date_order_note:
        ambiguous = "pass date_order" in st.date_order_note or "were not read" in st.date_order_note
        (warnings if ambiguous else repairs).append(f"transactions: {st.date_order_note}")
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
                    "(pass an invoice column to have exact repeats removed)",
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
            json.dumps(_json_safe(q.to_dict())),
            info.dataset_id,
        ],
    )


def _short(text: object, limit: int = 40) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _json_safe(o):
    if isinstance(o, float):
        return o if o == o and o not in (float("inf"), float("-inf")) else None
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if o is None or isinstance(o, (str, int, bool)):
        return o
    try:
        return o.item()
    except AttributeError:
        return str(o)
