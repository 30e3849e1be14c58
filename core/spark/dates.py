"""Text dates on Spark: core/dates.py's layouts, written as Spark expressions.

core/dates.py is the one home of the date rules: which layouts exist (their regexes and which regex
group holds the year, month and day), the POSIX rule for two-digit years, the year range and the
order rule (`decide_reading`). This module only translates them: `date_counts` counts, over every
value of the candidate columns in one Spark aggregate, what `decide_reading` needs (the same counts
`detect_dates` takes in DuckDB), and `date_column` reads a column as the decided DateReading says.
No Python runs per row.

The one layout core/dates.py leaves to DuckDB is ISO, read there by DuckDB's own TIMESTAMP cast;
ISO_REGEX below is that cast's grammar as far as a date can come out of it (checked value by value
against DuckDB in tests/spark/test_spark_dates.py): year-month-day with `-`, `/` or a space (the
same twice), an optional time after `T` or spaces (H:M, H:M:S, fractions), then an optional zone
(`Z`, +hh, +hh:mm, +hhmm or a name such as UTC or Europe/Paris), which DuckDB ignores. 24:00:00 is
the next day, and DuckDB's word 'epoch' is 1970-01-01 ('infinity' is outside the year range anyway).

Cost (200,000 day-first values, local[2], load 4.4): the counts 5-6.5 s, reading the column 1.4 s,
against 0.3 s for Spark's to_date with a fixed pattern, which cannot follow core/dates.py's rules
(POSIX two-digit years, AM/PM, mixed layouts, the year range). Most of it is the lambda variables
(higher-order functions run interpreted); they keep each regex to one pass per value.
"""
from __future__ import annotations

from core import dates
from core.dates import DateCounts, DateReading
from core.spark.columns import col

ISO_REGEX = (
    r"^(\d{4})([-/ ])(\d{1,2})([-/ ])(\d{1,2})"
    r"(?:(?:T\s*|\s+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d*)?)?"
    r"(?:Z|\s*[+-]\d{2}(?::?\d{2}){0,2}|\s+[A-Za-z][A-Za-z0-9_/+-]*)?)?$"
)
_ISO_GROUPS = ("p1", "s1", "p2", "s2", "p3", "hh", "mi", "ss")


def _f():
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return F


def text(name: str):
    """The column's text as core/dates.py reads it: trimmed of spaces, NULL when empty."""
    F = _f()
    t = F.trim(col(name).cast("string"))
    return F.when(t != "", t)


def _int(part):
    return part.try_cast("int")


def _let(value, body):
    """`body(v)` with `value` computed once and bound to the lambda variable `v`, as core/dates.py
    binds its parts: a body that mentions a part many times would otherwise compute it again for
    each mention (regexes included) and outgrow Java's 64 KB method limit in generated code."""
    F = _f()
    return F.transform(F.array(value), body).getItem(0)


_SEP = "\u0001"  # joins the groups in one string: no date regex group can hold it


class _Groups:
    """The regex groups of a value, by name, from the array bound to a lambda variable."""

    def __init__(self, parts, names: tuple[str, ...]) -> None:
        self._parts, self._names = parts, names

    def __getitem__(self, name: str):
        return _f().get(self._parts, self._names.index(name))  # NULL, not an error, past the end


def _parsed(t, regex: str, names: tuple[str, ...], body):
    """`body(s)` where `s` gives the regex groups of `t` by name ('' for a group that is absent). One
    regex pass writes every group into one string (a regexp_extract per group would run the regex
    once per group), split into an array; NULL when `t` does not match."""
    F = _f()
    joined = F.regexp_replace(t, regex, _SEP.join(f"${i + 1}" for i in range(len(names))))
    return _let(F.split(joined, _SEP, len(names)), lambda parts: body(_Groups(parts, names)))


def _year(part):
    """POSIX %y for two-digit years; four-digit years as written."""
    F = _f()
    y = _int(part)
    return F.when(F.length(part) == 2, y + F.when(y >= 69, 1900).otherwise(2000)).otherwise(y)


def _month_by_name(part):
    F = _f()
    names = dates.month_numbers()
    table = F.create_map(*[F.lit(x) for kv in names.items() for x in kv])
    return F.try_element_at(table, F.lower(part))


def _parts(ok, y, m, d, s, am_pm: bool):
    """The struct of a value's parts (ok, y, m, d, h, mi, sec) from its regex groups `s`; the hour is
    NULL when an AM/PM hour is not 1-12, the time 0:00:00 when none is written."""
    F = _f()
    h = _int(s["hh"])
    hour = F.when(s["hh"] == "", 0)
    if am_pm:
        hour = hour.when(s["ap"] == "", h).when(
            h.between(1, 12), h % 12 + F.when(F.lower(s["ap"]) == "p", 12).otherwise(0))
    else:
        hour = hour.otherwise(h)
    minute = F.when(s["mi"] == "", 0).otherwise(_int(s["mi"]))
    second = F.when(s["ss"] == "", 0).otherwise(_int(s["ss"]))
    return F.struct(ok.alias("ok"), y.alias("y"), m.alias("m"), d.alias("d"), hour.alias("h"),
                    minute.alias("mi"), second.alias("sec"))


def _checked_date(v, *, years: bool = True, max_hour: int = 23):
    """make_date of the parts `v` when every part is in range (core.dates._VALID_TIMESTAMP), else NULL."""
    F = _f()
    y, m, d = v["y"], v["m"], v["d"]
    leap = (((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)).cast("int")
    days = F.when(m == 2, 28 + leap).when(m.isin(4, 6, 9, 11), 30).otherwise(31)
    valid = (v["ok"] & m.between(1, 12) & d.between(1, days) & v["h"].between(0, max_hour)
             & v["mi"].between(0, 59) & v["sec"].between(0, 59))
    if years:
        valid = valid & y.between(dates.MIN_YEAR, dates.MAX_YEAR)
    return F.when(valid, F.make_date(y, m, d))


def layout_date(t, layout: str, order: str):
    """The DATE of text `t` read in one regex layout of core/dates.py (NULL when it does not match
    or is no real date); core.dates._layout_sql in Spark."""
    F = _f()
    if layout == "numeric" and order not in ("dmy", "mdy"):
        return F.lit(None).cast("date")  # day-or-month-first dates are not read when year first was chosen
    regex = dates.layout_regex(layout)
    return F.when(t.rlike(regex), _parsed(t, regex, dates.GROUPS, lambda s: _groups_date(s, layout, order)))


def _groups_date(s, layout: str, order: str):
    """The DATE of the regex groups `s` of a value of `layout`, read in `order`."""
    f = dates.layout_fields(layout, order)
    month = _month_by_name(s[f.month]) if f.month_name else _int(s[f.month])
    ok = s["p1"] != ""
    if f.same_sep:
        ok = ok & (s["s1"] == s["s2"])
    return _let(_parts(ok, _year(s[f.year]), month, _int(s[f.day]), s, True), lambda v: _checked_date(v))


def iso_date(t):
    """The DATE of ISO text `t` as DuckDB's TIMESTAMP cast reads it, within the year range (NULL
    otherwise); 24:00:00 is the next day's midnight, and DuckDB's word 'epoch' is 1970-01-01."""
    import datetime as dt  # loaded with the Spark engine only

    F = _f()
    parsed = _parsed(t, ISO_REGEX, _ISO_GROUPS, _iso_groups_date)
    return F.when(F.lower(t) == "epoch", F.lit(dt.date(1970, 1, 1))).when(t.rlike(ISO_REGEX), parsed)


def _iso_groups_date(s):
    ok = (s["p1"] != "") & (s["s1"] == s["s2"])
    return _let(_parts(ok, _int(s["p1"]), _int(s["p2"]), _int(s["p3"]), s, False), _iso_checked)


def _iso_checked(v):
    F = _f()
    midnight = (v["h"] == 24) & (v["mi"] == 0) & (v["sec"] == 0)
    day = _let(_checked_date(v, years=False, max_hour=24), lambda d: F.when(
        v["h"] < 24, d).when(midnight, F.date_add(d, 1)))
    return _let(day, lambda d: F.when(F.year(d).between(dates.MIN_YEAR, dates.MAX_YEAR), d))


def _count_if(cond):
    F = _f()
    return F.sum(F.when(cond, 1).otherwise(0))


def _numeric_both_orders(s):
    """Day-or-month-first groups `s` read both ways: the two parts, the year's digits, both dates."""
    F = _f()
    return F.struct(_int(s["p1"]).alias("a"), _int(s["p2"]).alias("b"),
                    (F.length(s["p3"]) == 2).alias("two_digit"),
                    _groups_date(s, "numeric", "dmy").alias("dmy"), _groups_date(s, "numeric", "mdy").alias("mdy"))


def _classified(frame, names: list[str]):
    """Per column i: __t<i> (its text), __l<i> (its layout by shape, core.dates._classify_sql: ISO
    when it reads as one), __o<i> (a value of another layout than day-or-month-first reads as a
    date) and __n<i> (_numeric_both_orders, day-or-month-first values only). One select per step:
    each step reads the one before once (Spark keeps non-trivial projections apart)."""
    F = _f()
    step = frame.select(*[e for i, n in enumerate(names) for e in (
        text(n).alias(f"__t{i}"), iso_date(text(n)).alias(f"__i{i}"))])
    shapes = []
    for i in range(len(names)):
        t = F.col(f"__t{i}")
        layout = F.when(F.col(f"__i{i}").isNotNull(), F.lit("iso"))
        for lay in dates.REGEX_LAYOUTS:
            layout = layout.when(t.rlike(dates.layout_regex(lay)), F.lit(lay))
        shapes += [t, layout.alias(f"__l{i}")]
    step = step.select(*shapes)
    out = []
    for i in range(len(names)):
        t, layout = F.col(f"__t{i}"), F.col(f"__l{i}")
        other = F.when(layout == "iso", True)
        for lay in dates.REGEX_LAYOUTS:
            if lay != "numeric":
                other = other.when(layout == lay, layout_date(t, lay, "dmy").isNotNull())
        regex = dates.layout_regex("numeric")
        numeric = F.when(layout == "numeric", _parsed(t, regex, dates.GROUPS, _numeric_both_orders))
        out += [t, layout, F.coalesce(other, F.lit(False)).alias(f"__o{i}"), numeric.alias(f"__n{i}")]
    return step.select(*out)


def date_counts(frame, names: list[str]) -> dict[str, DateCounts]:
    """The DateCounts of every column in `names`, over every row of `frame`: one Spark aggregate."""
    F = _f()
    if not names:
        return {}
    aggs = []
    for i in range(len(names)):
        layout, n = F.col(f"__l{i}"), F.col(f"__n{i}")
        aggs += [F.count(f"__t{i}"), *[_count_if(layout == lay) for lay in dates.LAYOUT_KEYS],
                 _count_if(n["a"] > 12), _count_if(n["b"] > 12), _count_if(F.col(f"__o{i}")),
                 F.count(n["dmy"]), F.count(n["mdy"]), _count_if(n["two_digit"])]
    row = [int(v or 0) for v in _classified(frame, names).agg(*aggs).first()]
    width, k = len(aggs) // len(names), len(dates.LAYOUT_KEYS)
    out = {}
    for i, n in enumerate(names):
        r = row[i * width: (i + 1) * width]
        out[n] = DateCounts(r[0], dict(zip(dates.LAYOUT_KEYS, r[1: 1 + k])), *r[1 + k:])
    return out


def date_column(name: str, reading: DateReading):
    """Column `name` read as DATE as `reading` says (core.dates.date_sql in Spark): every layout
    present is tried, ISO first; NULL where a value cannot be read."""
    F = _f()
    t = text(name)
    layouts = reading.layouts or dates.LAYOUT_KEYS
    tries = [iso_date(t)] if "iso" in layouts else []
    tries += [layout_date(t, lay, reading.order) for lay in dates.REGEX_LAYOUTS if lay in layouts]
    if not tries:
        return F.lit(None).cast("date")
    return tries[0] if len(tries) == 1 else F.coalesce(*tries)
