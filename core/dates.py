"""Dates written as text, in every common layout: detect how a column writes them and read them in SQL.

One home for the date rules of the product (transactions and customer tables alike, docs/RFM.md):
`detect_dates` looks at every value of a text column in one aggregate query and says which layouts
occur, which day/month order they follow and how sure that is; `date_sql` turns the text into a
TIMESTAMP (NULL where a value cannot be read), vectorised, without any Python per row.

Layouts: ISO (`2013-05-12`, with or without a time, `T` or space, fractions, a zone), year first with
`/` or `.`, `YYYYMMDD`, day or month first with `/`, `-` or `.` (one- or two-digit day and month,
two- or four-digit year, an optional `H:MM`, `HH:MM:SS` and AM/PM), `12-May-2013` and `May 12, 2013`.
Two-digit years follow POSIX `%y`: 69-99 are 19xx, 00-68 are 20xx. Years outside 1900-2100 are not
dates (a "0021-03-04" is a typo, not the year 21).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import InputError
from core.store import quote_ident
import datetime as dt
import re

DATE_ORDERS = ("auto", "ymd", "dmy", "mdy")
MIN_YEAR, MAX_YEAR = 1900, 2100
# A column is a date column when at least this share of its present values read as dates.
DATE_SHARE = 0.9
TWO_DIGIT_YEARS = "two-digit years 69-99 as 19xx and 00-68 as 20xx"
ORDER_WORDS = {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}

# An optional time after the date: H:MM, HH:MM:SS(.fff), AM/PM, then an optional zone (ignored:
# only the written wall-clock time counts).
_TIME = (
    r"(?:(?:[ T]+|,\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT))?"
)
_MONTH_NAME = r"([A-Za-z]{3,9})\.?"
# Every layout's regex has the same groups: part 1, separator 1, part 2, separator 2, part 3, hour,
# minute, second, a/p (the layouts without separators have empty groups in their place).
GROUPS = ("p1", "s1", "p2", "s2", "p3", "hh", "mi", "ss", "ap")
_GROUPS = "[" + ", ".join(f"'{g}'" for g in GROUPS) + "]"
_RE_YMD = rf"^(\d{{4}})([-/.])(\d{{1,2}})([-/.])(\d{{1,2}}){_TIME}$"
_RE_COMPACT = r"^(\d{4})()(\d{2})()(\d{2})()()()()$"
_RE_NUMERIC = rf"^(\d{{1,2}})([-/.])(\d{{1,2}})([-/.])(\d{{4}}|\d{{2}}){_TIME}$"
_RE_DAY_NAME = rf"^(\d{{1,2}})(?:st|nd|rd|th)?([-/ .]+){_MONTH_NAME}([-/ .,]+)(\d{{4}}|\d{{2}}){_TIME}$"
_RE_NAME_DAY = rf"^{_MONTH_NAME}([-/ ]+)(\d{{1,2}})(?:st|nd|rd|th)?(,?[-/ ]+)(\d{{4}}|\d{{2}}){_TIME}$"
# The layouts read by a regex, in the order they are tried; "iso" (DuckDB's own cast) comes first.
REGEX_LAYOUTS = ("ymd", "compact", "numeric", "day_name", "name_day")
LAYOUT_KEYS = ("iso", "ymd", "compact", "numeric", "day_name", "name_day")


def layout_regex(layout: str) -> str:
    """The regex of a regex layout (groups as GROUPS; the Spark engine uses the same text)."""
    return _regex(layout)


def _regex(layout: str) -> str:
    if layout == "ymd":
        return _RE_YMD
    if layout == "compact":
        return _RE_COMPACT
    if layout == "numeric":
        return _RE_NUMERIC
    if layout == "day_name":
        return _RE_DAY_NAME
    return _RE_NAME_DAY


LAYOUT_WORDS = {
    "iso": "ISO (2013-05-12, with or without a time)",
    "ymd": "year first (2013/05/12)",
    "compact": "YYYYMMDD (20130512)",
    "numeric": "day or month first (12/05/2013)",
    "day_name": "day, month name, year (12-May-2013)",
    "name_day": "month name, day, year (May 12, 2013)",
    "native": "a date type of the file",
}
_MONTHS = (
    ("jan", 1), ("january", 1), ("feb", 2), ("february", 2), ("mar", 3), ("march", 3), ("apr", 4),
    ("april", 4), ("may", 5), ("jun", 6), ("june", 6), ("jul", 7), ("july", 7), ("aug", 8), ("august", 8),
    ("sep", 9), ("sept", 9), ("september", 9), ("oct", 10), ("october", 10), ("nov", 11), ("november", 11),
    ("dec", 12), ("december", 12),
)
_NATIVE_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE",
                 "TIMESTAMPTZ", "DATETIME"}


@dataclass
class DateReading:
    """How a column writes its dates. `layout` is the main layout (a key of LAYOUT_WORDS), `order`
    the order used for day-or-month-first dates (dmy | mdy; ymd when there are none), `sure` False
    when the data left the order open, `share_parsed` the share of present values that read as dates,
    `message` one sentence for the report. `layouts` lists every layout present (date_sql reads only
    those), `values` the present values looked at."""

    layout: str
    order: str
    sure: bool
    share_parsed: float
    message: str
    layouts: tuple[str, ...] = field(default_factory=tuple)
    values: int = 0
    parsed: int = 0


def is_date_type(sql_type: str) -> bool:
    """True for DuckDB DATE/TIMESTAMP types (a Parquet date column needs no parsing)."""
    return sql_type.split("(")[0].upper() in _NATIVE_TYPES


def _month_sql(name: str) -> str:
    cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _MONTHS)
    return f"(CASE lower({name}) {cases} END)"


def _int(part: str) -> str:
    return f"TRY_CAST({part} AS INTEGER)"


def _year_sql(part: str) -> str:
    # POSIX %y for two-digit years; four-digit years as written.
    y = _int(part)
    return f"(CASE WHEN length({part}) = 2 THEN {y} + CASE WHEN {y} >= 69 THEN 1900 ELSE 2000 END ELSE {y} END)"


def _hour_sql() -> str:
    h = _int("s.hh")
    return (
        f"(CASE WHEN s.hh = '' THEN 0 WHEN s.ap = '' THEN {h} "
        f"WHEN {h} BETWEEN 1 AND 12 THEN {h} % 12 + CASE WHEN lower(s.ap) = 'p' THEN 12 ELSE 0 END END)"
    )


def _layout_sql(text: str, layout: str, order: str) -> str:
    """TIMESTAMP of `text` read in one regex layout (NULL when it does not match or is no real
    date). The regex runs once per value: its groups are bound to a lambda variable (a repeated
    regex inside a CASE would run once per mention), then the parts, checked, to a second one."""
    if layout == "numeric" and order not in ("dmy", "mdy"):
        return "NULL::TIMESTAMP"  # day-or-month-first dates are not read when year first was chosen
    return (
        f"list_transform([regexp_extract({text}, '{_regex(layout)}', {_GROUPS})], "
        f"lambda s: {_groups_timestamp_sql(layout, order)})[1]"
    )


@dataclass(frozen=True)
class LayoutFields:
    """Which regex groups (names of GROUPS) hold the year, month and day of a layout read in an
    order; `month_name` when the month is written as a name, `same_sep` when both separators must
    be the same character (2013-05/12 is no date). Both engines build their parsers from it."""

    year: str
    month: str
    day: str
    month_name: bool
    same_sep: bool


def layout_parts(layout: str, order: str) -> tuple[str, str, str]:
    """The groups holding the year, month and day of a regex layout read in `order` (dmy | mdy;
    other layouts ignore it). Constants only: SQL is built from them (tests/security/sql_audit.py)."""
    if layout in ("ymd", "compact"):
        return ("p1", "p2", "p3")
    if layout == "day_name" or (layout == "numeric" and order == "dmy"):
        return ("p3", "p2", "p1")
    return ("p3", "p1", "p2")  # name_day, or numeric month first


def layout_fields(layout: str, order: str) -> LayoutFields:
    """The LayoutFields of a regex layout read in `order`."""
    y, m, d = layout_parts(layout, order)
    return LayoutFields(y, m, d, layout in ("day_name", "name_day"), layout in ("ymd", "numeric"))


def month_numbers() -> dict[str, int]:
    """Lower-case month names and abbreviations -> month number."""
    return dict(_MONTHS)


def _groups_timestamp_sql(layout: str, order: str) -> str:
    """TIMESTAMP from the regex groups bound to `s` (see _layout_sql), read as `layout` and `order`."""
    f = layout_fields(layout, order)
    part_y, part_m, part_d = layout_parts(layout, order)
    y, m, d = f"s.{part_y}", f"s.{part_m}", f"s.{part_d}"
    month = _month_sql(m) if f.month_name else _int(m)
    same_sep = "s.s1 = s.s2" if f.same_sep else "true"
    minute = f"(CASE WHEN s.mi = '' THEN 0 ELSE {_int('s.mi')} END)"
    second = f"(CASE WHEN s.ss = '' THEN 0 ELSE {_int('s.ss')} END)"
    parts = (
        f"{{'ok': s.p1 <> '' AND {same_sep}, 'y': {_year_sql(y)}, 'm': {month}, 'd': {_int(d)}, "
        f"'h': {_hour_sql()}, 'mi': {minute}, 'sec': {second}}}"
    )
    return f"list_transform([{parts}], lambda v: {_VALID_TIMESTAMP})[1]"


# Every part is checked before make_timestamp: an invalid date there raises an error, and catching
# it (TRY) costs about 0.2 ms per value, 100 times the whole parse.
_DAYS_IN_MONTH = (
    "(CASE WHEN v.m = 2 THEN 28 + (((v.y % 4 = 0 AND v.y % 100 <> 0) OR v.y % 400 = 0))::INTEGER "
    "WHEN v.m IN (4, 6, 9, 11) THEN 30 ELSE 31 END)"
)
_VALID_TIMESTAMP = (
    f"CASE WHEN v.ok AND v.y BETWEEN {MIN_YEAR} AND {MAX_YEAR} AND v.m BETWEEN 1 AND 12 "
    f"AND v.d BETWEEN 1 AND {_DAYS_IN_MONTH} AND v.h BETWEEN 0 AND 23 AND v.mi BETWEEN 0 AND 59 "
    "AND v.sec BETWEEN 0 AND 59 THEN make_timestamp(v.y, v.m, v.d, v.h, v.mi, v.sec) END"
)


def _iso_sql(text: str) -> str:
    """ISO dates and timestamps through DuckDB's own cast (the fast path), within the year range.
    The cast is written twice on purpose: DuckDB computes a repeated cheap expression once, and this
    form costs a tenth of binding the value in a one-element list and a lambda (10M values: 0.08
    CPU-seconds against 0.6)."""
    ts = f"TRY_CAST({text} AS TIMESTAMP)"
    return f"(CASE WHEN year({ts}) BETWEEN {MIN_YEAR} AND {MAX_YEAR} THEN {ts} END)"


def date_sql(expr: str, reading: DateReading, *, trimmed: bool = False) -> str:
    """SQL turning the VARCHAR `expr` into a TIMESTAMP read as `reading` says; NULL where a value
    cannot be read. Only the layouts present in the reading are tried, cheapest first. `trimmed`
    says `expr` has no surrounding spaces already (10M values: trimming again costs 0.2 s)."""
    if reading.layout == "native":
        return f"CAST({expr} AS TIMESTAMP)"
    layouts = reading.layouts or LAYOUT_KEYS
    text = f"NULLIF(CAST({expr} AS VARCHAR), '')" if trimmed else f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"
    tries = [_iso_sql(text)] if "iso" in layouts else []
    tries += [_layout_sql(text, lay, reading.order) for lay in REGEX_LAYOUTS if lay in layouts]
    if not tries:
        return "NULL::TIMESTAMP"
    return tries[0] if len(tries) == 1 else "COALESCE(" + ", ".join(tries) + ")"


# Day-or-month-first text `t` read once by its regex: both orders, the two parts and the year's digits.
_NUMERIC_BOTH_ORDERS = (
    f"list_transform([regexp_extract(t, '{_RE_NUMERIC}', {_GROUPS})], lambda s: "
    f"{{'a': TRY_CAST(s.p1 AS INTEGER), 'b': TRY_CAST(s.p2 AS INTEGER), 'two_digit_year': length(s.p3) = 2, "
    f"'dmy': {_groups_timestamp_sql('numeric', 'dmy')}, 'mdy': {_groups_timestamp_sql('numeric', 'mdy')}}})[1]"
)


def _classify_sql(t: str) -> str:
    """The layout key of text `t` by its shape (not yet whether it is a real date)."""
    whens = [f"WHEN {_iso_sql(t)} IS NOT NULL THEN 'iso'"]
    whens += [f"WHEN regexp_full_match({t}, '{_regex(lay)}') THEN '{lay}'" for lay in REGEX_LAYOUTS]
    return "CASE " + " ".join(whens) + " END"


@dataclass
class DateCounts:
    """What the order rule of `decide_reading` needs from a column's present values (either engine
    counts them: DuckDB in `detect_dates`, Spark in core/spark/dates.py). `layouts` counts values per
    layout key by shape; `first_day`/`second_day` the day-or-month-first values whose first/second part
    is above 12; `parsed_other` the values of every other layout that read as real dates;
    `numeric_dmy`/`numeric_mdy` the day-or-month-first values that read as dates in each order;
    `two_digit` those with a two-digit year."""

    present: int
    layouts: dict[str, int]
    first_day: int
    second_day: int
    parsed_other: int
    numeric_dmy: int
    numeric_mdy: int
    two_digit: int


def detect_dates(
    cur, table: str, column: str, order: str = "auto", *, min_share: float = DATE_SHARE
) -> DateReading | None:
    """How `column` of `table` writes dates, from every value (one aggregate query); None when it is
    not a date column (see `decide_reading`)."""
    check_order(order)
    types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE SELECT * FROM {quote_ident(table)}").fetchall()}
    cols = list(types)
    q = quote_ident(column, cols)
    if is_date_type(types[column]):
        n = cur.execute(f"SELECT count({q}) FROM {quote_ident(table)}").fetchone()[0]
        return native_reading(n)
    row = _layout_counts(cur, quote_ident(table), q)
    counts = DateCounts(row[0], dict(zip(LAYOUT_KEYS, row[1:7])), *row[7:])
    return decide_reading(counts, order, min_share=min_share)


def check_order(order: str) -> None:
    if order not in DATE_ORDERS:
        raise InputError(f"the date order must be one of {', '.join(DATE_ORDERS)}, not {order!r}")


def native_reading(present: int) -> DateReading | None:
    """The reading of a column stored with a date type of the file (None when it holds no value)."""
    if not present:
        return None
    return DateReading("native", "ymd", True, 1.0, "dates were read as stored in the file", ("native",),
                       present, present)


def decide_reading(counts: DateCounts, order: str = "auto", *, min_share: float = DATE_SHARE) -> DateReading | None:
    """The one rule deciding how a column writes dates, from its DateCounts; None when it is not a
    date column (fewer than 90% of its present values read as dates, or none present).

    Order rule for day-or-month-first dates: a first part above 12 anywhere means day/month/year, a
    second part above 12 means month/day/year. When nothing decides (every such date has both parts
    at most 12) they are read day first and `sure` is False; when both occur the order that reads
    more values wins and `sure` is False. An explicit `order` (dmy | mdy | ymd) is used as given.
    `min_share` lowers the 90% bar for callers that read a known date column as far as it goes."""
    check_order(order)
    present, c = counts.present, counts
    parsed_dmy, parsed_mdy = c.parsed_other + c.numeric_dmy, c.parsed_other + c.numeric_mdy
    if not present:
        return None
    layouts = tuple(lay for lay in LAYOUT_KEYS if c.layouts.get(lay))
    numeric = c.layouts.get("numeric", 0)
    first_day, second_day = c.first_day, c.second_day
    sure, note = True, ""
    if order != "auto":
        chosen = order
    elif not numeric:
        chosen = "ymd"
    elif first_day and not second_day:
        chosen, note = "dmy", f"{first_day:,} have a first part above 12"
    elif second_day and not first_day:
        chosen, note = "mdy", f"{second_day:,} have a second part above 12"
    elif first_day and second_day:
        chosen, sure = ("dmy" if parsed_dmy >= parsed_mdy else "mdy"), False
        note = (f"dates mix day/month ({first_day:,} with a first part above 12) and month/day "
                f"({second_day:,} with a second part above 12); the others could not be read")
    else:
        chosen, sure = "dmy", False
    parsed = {"dmy": parsed_dmy, "mdy": parsed_mdy, "ymd": c.parsed_other}[chosen]
    share = parsed / present
    if share < min_share or (min_share > 0 and not parsed):
        return None
    main = max(layouts, key=lambda lay: c.layouts[lay])
    reading = DateReading(main, chosen, sure, share, "", layouts, present, parsed)
    reading.message = _message(reading, numeric, note, c.two_digit)
    return reading


# A column with few distinct values (dates without a time: one per day) is classified and parsed once
# per distinct value, weighted by how often it occurs; the counts are the same either way. Judged on
# the first rows (only the speed depends on it).
FEW_DISTINCT_SHARE = 0.5
DISTINCT_SAMPLE = 100_000


def _layout_counts(cur, table_sql: str, q: str) -> list[int]:
    """For detect_dates, over the present values of column `q`: their count, the count of each layout,
    day-or-month-first values with a first / second part above 12, values read in a year-first or
    named layout, day-or-month-first values read day first / month first, two-digit years."""
    sampled, distinct = cur.execute(
        f"SELECT count(*), count(DISTINCT {q}) FROM (SELECT {q} FROM {table_sql} LIMIT {DISTINCT_SAMPLE})"
    ).fetchone()
    if distinct <= FEW_DISTINCT_SHARE * sampled:
        values = (f"SELECT NULLIF(trim(CAST(raw AS VARCHAR)), '') AS t, w "
                  f"FROM (SELECT {q} AS raw, count(*) AS w FROM {table_sql} GROUP BY raw)")
    else:
        values = f"SELECT NULLIF(trim(CAST({q} AS VARCHAR)), '') AS t, 1 AS w FROM {table_sql}"
    # Each value is parsed only in the layout its shape says (a CASE runs only the matching branch);
    # day-or-month-first values both ways, to count how many each order reads.
    other = " ".join(
        f"WHEN '{lay}' THEN {_layout_sql('t', lay, 'dmy')}" for lay in REGEX_LAYOUTS if lay != "numeric"
    )
    row = cur.execute(
        f"""
        WITH v AS ({values}),
        c AS (SELECT t, w, {_classify_sql('t')} AS layout FROM v WHERE t IS NOT NULL),
        p AS (SELECT *, CASE WHEN layout = 'numeric' THEN {_NUMERIC_BOTH_ORDERS} END AS n FROM c)
        SELECT sum(w),
               {", ".join(f"sum(w) FILTER (layout = '{lay}')" for lay in LAYOUT_KEYS)},
               sum(w) FILTER (n.a > 12), sum(w) FILTER (n.b > 12),
               COALESCE(sum(w) FILTER (layout = 'iso'), 0)
                 + COALESCE(sum(w) FILTER ((CASE layout {other} END) IS NOT NULL), 0),
               sum(w) FILTER (n.dmy IS NOT NULL), sum(w) FILTER (n.mdy IS NOT NULL),
               sum(w) FILTER (n.two_digit_year)
        FROM p
        """
    ).fetchone()
    return [int(v or 0) for v in row]  # a sum over no rows is NULL


def _message(r: DateReading, numeric: int, note: str, two_digit: int) -> str:
    """One sentence on how the dates were read, for the data-quality report."""
    kinds = ", ".join(LAYOUT_WORDS[lay] for lay in r.layouts)
    text = f"dates were read from {r.parsed:,} of {r.values:,} values ({kinds})"
    if numeric:
        if r.order == "ymd":
            text += f"; {numeric:,} dates written day or month first were not read (year first was chosen)"
        else:
            text += f"; day-or-month-first dates as {ORDER_WORDS[r.order]}"
            if note:
                text += f" ({note})"
            if not r.sure:
                other = "month first" if r.order == "dmy" else "day first"
                text += (
                    f"; the data does not settle whether the day or the month comes first: "
                    f"choose the date order (day first or month first) if {other} is right"
                )
    if two_digit:
        text += f"; {TWO_DIGIT_YEARS}"
    return text


def looks_like_date(text: str) -> bool:
    """True when `text` reads as a real date in some layout and some day/month order (used on a few
    sample values, e.g. to guess which column of a transactions file holds the dates)."""

    t = str(text).strip()
    if not t:
        return False
    for layout in REGEX_LAYOUTS:
        m = re.fullmatch(_regex(layout), t)
        if not m:
            continue
        p1, s1, p2, s2, p3 = m.group(1, 2, 3, 4, 5)
        if layout in ("ymd", "numeric") and s1 != s2:
            return False
        if layout in ("ymd", "compact"):
            candidates = [(p1, p2, p3)]
        elif layout == "numeric":
            candidates = [(p3, p2, p1), (p3, p1, p2)]
        else:
            name, day = (p2, p1) if layout == "day_name" else (p1, p2)
            month = dict(_MONTHS).get(name.lower())
            candidates = [(p3, str(month), day)] if month else []
        for y, mo, d in candidates:
            year = int(y) + ((1900 if int(y) >= 69 else 2000) if len(y) == 2 else 0)
            try:
                dt.date(year, int(mo), int(d))
            except ValueError:
                continue
            if MIN_YEAR <= year <= MAX_YEAR:
                return True
        return False
    return False
