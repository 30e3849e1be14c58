"""Ingest, dates and derived columns: find the date columns among the text columns (core/dates.py reads
them), then add the derived NUMERIC columns "<date> (days since)" and "Age (from <birth year>)" to the
dataset table, right after their source column, so every view, filter and export uses them unchanged."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core import dates, quality, roles
from core.ingest.coltypes import _Plan
from core.models import DATE, EXCLUDED, NUMERIC, ROW, ColumnInfo
from core.store import quote_ident


def date_candidates(plans: list[_Plan]) -> list[_Plan]:
    """The columns that may hold dates (both engines examine only these): mostly text with a sample
    value that looks like a date, or YYYYMMDD numbers with a date-like name; never id-like columns."""
    out = []
    for p in plans:
        if not p.present or quality.is_id_like(p.name):
            continue
        compact = p.lo is not None and roles.may_be_compact_date(p.name, p.lo, p.hi)  # 20130512
        text = not p.native and p.parsed * 2 <= p.present and bool(p.example) and dates.looks_like_date(p.example)
        if compact or text:
            out.append(p)
    return out


def find_dates(cur, table: str, plans: list[_Plan]) -> None:
    """Set `date` on the candidate columns whose values read as dates (90% of present values; one
    aggregate query each)."""
    for p in date_candidates(plans):
        p.date = dates.detect_dates(cur, table, p.name)


@dataclass
class Derived:
    """The derived columns of a dataset: date column -> its days-since column, birth-year column ->
    its age column, the reference year of the ages, and each date column's latest date."""

    days: dict[str, ColumnInfo]
    ages: dict[str, ColumnInfo]
    ref_year: int
    latest: dict[str, dt.date]

    def ordered(self, columns: list[ColumnInfo]) -> list[ColumnInfo]:
        """`columns` with every derived column right after its source column."""
        out: list[ColumnInfo] = []
        for c in columns:
            out.append(c)
            extra = self.days.get(c.name) or self.ages.get(c.name)
            if extra is not None:
                out.append(extra)
        return out


def plan_derived(plans: list[_Plan], columns: list[ColumnInfo], latest: dict[str, dt.date],
                 repairs: list[str]) -> Derived:
    """The one rule for derived columns (both engines): "<date> (days since)" = days from each date to
    its column's latest date (`latest`, as the engine found it; none for a column without dates) and
    "Age (from <birth year>)" = reference year - birth year, the reference year being the latest year
    of any date, else the current year. Names are unique; one repair line each."""
    dated = [p for p in plans if p.role == DATE]
    births = [p for p in plans if p.role == EXCLUDED and p.reason == roles.BIRTH_YEAR_REASON]
    latest = {p.name: latest[p.name] for p in dated if latest.get(p.name) is not None}
    ref_year = max((d.year for d in latest.values()), default=dt.date.today().year)
    where = "the latest date in the data" if latest else "the current year"
    taken = {c.name.lower() for c in columns}
    days: dict[str, ColumnInfo] = {}
    ages: dict[str, ColumnInfo] = {}
    for p in dated:
        if p.name not in latest:
            continue
        name = _unique(roles.days_since_column_name(p.name), taken)
        reason = f"derived: days from '{p.name}' to its latest date ({latest[p.name]})"
        days[p.name] = ColumnInfo(name, NUMERIC, "BIGINT", reason)
        repairs.append(f"column '{name}' added: days from each '{p.name}' date to the latest one, {latest[p.name]}")
    for p in births:
        name = _unique(roles.age_column_name(p.name), taken)
        reason = f"derived: {ref_year} - '{p.name}' (reference year: {where})"
        ages[p.name] = ColumnInfo(name, NUMERIC, "BIGINT", reason)
        repairs.append(f"column '{name}' added: {ref_year} - '{p.name}' (reference year: {where}); "
                       f"'{p.name}' itself is not a feature")
    return Derived(days, ages, ref_year, latest)


def add_derived_columns(
    cur, ds: str, plans: list[_Plan], columns: list[ColumnInfo], repairs: list[str]
) -> list[ColumnInfo]:
    """Rebuild `ds` with a days-since column after every date column and an age column after every
    birth-year column (`plan_derived`); return the dataset's columns in their new order."""
    dated = [p for p in plans if p.role == DATE]
    births = [p for p in plans if p.role == EXCLUDED and p.reason == roles.BIRTH_YEAR_REASON]
    if not dated and not births:
        return columns
    latest: dict[str, dt.date] = {}
    if dated:
        row = cur.execute("SELECT " + ", ".join(f"max({quote_ident(p.name)})" for p in dated) + f" FROM {ds}").fetchone()
        latest = dict(zip([p.name for p in dated], row))
    derived = plan_derived(plans, columns, latest, repairs)
    select = [ROW]
    for c in columns:
        q = quote_ident(c.name)
        select.append(q)
        if c.name in derived.days:
            days = quote_ident(derived.days[c.name].name)
            select.append(f"date_diff('day', {q}, max({q}) OVER ())::BIGINT AS {days}")
        elif c.name in derived.ages:
            age = quote_ident(derived.ages[c.name].name)
            select.append(f"({int(derived.ref_year)} - {q})::BIGINT AS {age}")
    cur.execute(f"CREATE OR REPLACE TABLE {ds} AS SELECT {', '.join(select)} FROM {ds} ORDER BY {ROW}")
    return derived.ordered(columns)


def _unique(name: str, taken: set[str]) -> str:
    new, k = name, 2
    while new.lower() in taken:
        new, k = f"{name} {k}", k + 1
    taken.add(new.lower())
    return new
