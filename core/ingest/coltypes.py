"""Ingest, column typing: profile every staged column in SQL (present values, number style, whole
numbers, distinct counts), decide its role and SQL type, and build the typed dataset table."""
from __future__ import annotations

from dataclasses import dataclass

from core import quality
from core.ingest.base import (
    _FLOAT_TYPES,
    _INT_TYPES,
    MAX_ABS,
    MISSING_TOKENS,
    NUMERIC_SHARE,
    PROFILE_CHUNK,
    _short,
)
from core import dates, roles
from core.dates import date_sql
from core.models import CATEGORICAL, DATE, EXCLUDED, IDENTIFIER, NUMERIC, ROW
from core.store import quote_ident


_MISSING_LIST = "[" + ", ".join(f"'{t}'" for t in MISSING_TOKENS) + "]"
_TH = r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?"  # 1,234 / 1,234.5 / 12,345,678
_DC = r"[+-]?(\d{1,3}(\.\d{3})+|\d+)?,\d+"  # 12,5 / 1.234,5 / ,5 / 1,234 (ambiguous with _TH)
_DOT_TH = r"[+-]?\d{1,3}(\.\d{3})+"  # 1.234 / 1.234.567 in a decimal-comma column
_INT = r"[+-]?\d{1,18}"
_LEAD0 = r"[+-]?0\d+"
# Decorated numbers: a currency sign before or after ($ € £ ¥, with spaces), a trailing percent sign,
# accounting negatives "(1,234)". They are cleaned to plain text, then read in the column's number style.
_CUR = "[$€£¥]"
_NUM_BODY = r"[\d.,]*\d[\d.,]*"
_DECORATED = rf"[+-]?\s*{_CUR}?\s*[+-]?\s*{_NUM_BODY}\s*{_CUR}?\s*%?"
_ACCOUNTING = rf"\(\s*{_CUR}?\s*{_NUM_BODY}\s*{_CUR}?\s*\)"


# typing
# =================================================================================================
@dataclass
class _Plan:
    """How one staged column becomes a dataset column."""

    name: str
    staged_type: str
    native: bool  # already numeric in the staged table
    present: int = 0
    parsed: int = 0  # present values that parse as numbers in the chosen style
    style: str = "plain"  # plain | thousands | comma
    nonfinite: int = 0  # values that cast to inf or NaN (NaN comes from the "nan" missing token)
    whole: int = 0  # plain-style values that are whole numbers below 2**53
    ints: int = 0  # present values that are plain integers (id-like columns only)
    lead0: int = 0  # present values with leading zeros (id-like columns only)
    distinct: int = 0  # exact for id-like columns, approximate for text columns, else 0
    example: str | None = None  # a present value that is not a number
    role: str = CATEGORICAL
    sql_type: str = "VARCHAR"
    as_number: bool = False  # the typed value is parsed from text
    trimmed: bool = False  # staged text already trimmed
    decor: bool = False  # values carry currency/percent signs or accounting brackets: cleaned first
    currency: int = 0  # present values with a currency sign or accounting brackets
    percent: int = 0  # present values with a percent sign
    num_distinct: int = 0  # distinct numbers (whole-number columns with few values only, else 0)
    lo: float | None = None  # smallest and largest number (whole-number columns)
    hi: float | None = None
    code: bool = False  # integer codes stored as text categories
    date: dates.DateReading | None = None  # how a date column writes its dates (core/dates.py)
    reason: str = ""  # why this role, in words (ColumnInfo.reason)


def _t(q: str, trimmed: bool = False) -> str:
    """Text of a staged column: as staged when stage_file trimmed it, else trimmed of spaces."""
    return f"{q}::VARCHAR" if trimmed else f"trim({q}::VARCHAR)"


def _missing(t: str) -> str:
    return f"({t} IS NULL OR list_contains({_MISSING_LIST}, lower({t})))"


def _parse(t: str, style: str) -> str:
    """A DOUBLE from trimmed text `t` in a column's number style (NULL when it does not parse; the
    missing tokens parse to NULL or NaN)."""
    if style == "thousands":
        inner = f"CASE WHEN contains({t}, ',') AND regexp_full_match({t}, '{_TH}') THEN replace({t}, ',', '') ELSE {t} END"
    elif style == "comma":
        inner = (
            f"CASE WHEN contains({t}, ',') AND regexp_full_match({t}, '{_DC}') "
            f"THEN replace(replace({t}, '.', ''), ',', '.') "
            f"WHEN regexp_full_match({t}, '{_DOT_TH}') THEN replace({t}, '.', '') ELSE {t} END"
        )
    else:
        inner = t
    return f"TRY_CAST({inner} AS DOUBLE)"


def _clean(t: str) -> str:
    """Text `t` without currency signs, percent sign and accounting brackets ("(1,234)" -> "-1,234");
    values of any other shape are left as they are."""
    return (
        f"CASE WHEN regexp_full_match({t}, '{_ACCOUNTING}') THEN '-' || regexp_replace({t}, '[()$€£¥\\s]', '', 'g') "
        f"WHEN regexp_full_match({t}, '{_DECORATED}') THEN regexp_replace({t}, '[$€£¥%\\s]', '', 'g') "
        f"ELSE {t} END"
    )


def _text(p: _Plan) -> str:
    """The text of a staged column as numbers are read from it (cleaned when decorated)."""
    t = _t(quote_ident(p.name), p.trimmed)
    return _clean(t) if p.decor else t


def _number(t: str, p: _Plan) -> str:
    """A DOUBLE from the text `t` of column `p` (its decorations removed, in its number style)."""
    return _parse(_clean(t) if p.decor else t, p.style)


def _usable(x: str) -> str:
    """A finite number small enough to square: anything else is NULL plus a not_finite finding.
    (isfinite first: DuckDB orders NaN above every number, so abs(NaN) > MAX_ABS is true.)"""
    return f"(isfinite({x}) AND abs({x}) <= {MAX_ABS:.0e})"


def _is_native_number(typ: str) -> bool:
    base = typ.split("(")[0].upper()
    return base in _INT_TYPES or base in _FLOAT_TYPES or base == "DECIMAL"


def _profile(
    cur, table: str, columns: list[str], types: dict, delimiter: str | None, trimmed: bool
) -> list[_Plan]:
    """Per column: how many values are present, parse as numbers (in each number style), are not
    finite or whole; then, only where needed, distinct counts, integers and leading zeros."""
    plans = [_Plan(c, types[c], _is_native_number(types[c]), trimmed=trimmed) for c in columns]
    commas: dict[str, int] = {}
    _basic_stats(cur, table, plans, commas)
    # currency/percent signs or accounting brackets: read those columns again with the signs removed
    decorated = [p for p in plans if p.currency or p.percent]
    for p in decorated:
        p.decor = True
        commas.pop(p.name, None)
    _basic_stats(cur, table, decorated, commas)
    # number style, only for text columns holding commas (regexes are the expensive part)
    with_commas = [p for p in plans if p.name in commas]
    for chunk in _chunks(with_commas, PROFILE_CHUNK):
        aggs = []
        for p in chunk:
            v = _text(p)
            th = f"regexp_full_match({v}, '{_TH}')"
            dc = f"regexp_full_match({v}, '{_DC}')"
            aggs += [
                f"count_if(CASE WHEN contains({v}, ',') THEN {th} AND NOT {dc} ELSE false END)",
                f"count_if(CASE WHEN contains({v}, ',') THEN {dc} AND NOT {th} ELSE false END)",
                f"count_if(CASE WHEN contains({v}, ',') THEN {th} AND {dc} ELSE false END)",
            ]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM {table}").fetchone()
        for i, p in enumerate(chunk):
            choose_number_style(p, *stats[3 * i: 3 * i + 3], delimiter)
    _profile_distinct(cur, table, plans)
    _profile_whole_numbers(cur, table, plans)
    return plans


def _basic_stats(cur, table: str, plans: list[_Plan], commas: dict[str, int]) -> None:
    """Present, plain-parsed, comma-holding, non-finite and whole values per column, an example of a
    value that is not a number, and (text columns) values with currency or percent signs."""
    for chunk in _chunks(plans, PROFILE_CHUNK):
        inner = ", ".join(
            (f"{quote_ident(p.name)} AS v{i}" if p.native else f"{_text(p)} AS v{i}")
            for i, p in enumerate(chunk)
        )
        aggs = []  # eight per column, in a fixed order
        for i, p in enumerate(chunk):
            v = f"v{i}"
            if p.native:
                d = f"{v}::DOUBLE"
                aggs += [f"count({v})", f"count({v})", "0", f"count_if(NOT {_usable(d)})",
                         f"count_if({d} = trunc({d}) AND abs({d}) < 9007199254740992)", "NULL", "0", "0"]
                continue
            x = f"TRY_CAST({v} AS DOUBLE)"
            present = f"NOT {_missing(v)}"
            money = " OR ".join(f"contains({v}, '{c}')" for c in ("$", "€", "£", "¥", "("))
            aggs += [
                f"count_if({present})",
                f"count_if({present} AND {x} IS NOT NULL)",  # "nan" is a missing token, not a number
                f"count_if(contains({v}, ','))",
                f"count_if(NOT {_usable(x)})",
                f"count_if({x} = trunc({x}) AND abs({x}) < 9007199254740992)",
                f"min(CASE WHEN {present} AND {x} IS NULL THEN {v} END)",
                "0" if p.decor else f"count_if({money})",
                "0" if p.decor else f"count_if(contains({v}, '%'))",
            ]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM (SELECT {inner} FROM {table})").fetchone()
        for i, p in enumerate(chunk):
            present, plain, comma, nonfinite, whole, example, money, pct = stats[8 * i: 8 * i + 8]
            p.present, p.parsed, p.nonfinite, p.whole, p.example = present, plain, nonfinite, whole, example
            if not p.decor:
                p.currency, p.percent = money, pct
            if comma:
                commas[p.name] = comma


def _profile_whole_numbers(cur, table: str, plans: list[_Plan]) -> None:
    """Smallest, largest and (when few) distinct values of whole-number columns: integer codes and
    birth years are told apart from quantities by them (core/roles.py)."""
    need = [p for p in plans if p.present and p.parsed == p.present and p.whole == p.parsed
            and not p.nonfinite and p.style == "plain" and not quality.is_id_like(p.name)]
    for chunk in _chunks(need, PROFILE_CHUNK):
        aggs = []
        for p in chunk:
            x = f"{quote_ident(p.name)}::DOUBLE" if p.native else _number(_text_raw(p), p)
            aggs += [f"min({x})", f"max({x})", f"approx_count_distinct({x})"]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM {table}").fetchone()
        for i, p in enumerate(chunk):
            p.lo, p.hi, approx = stats[3 * i: 3 * i + 3]
            p.num_distinct = int(approx or 0)
        few = [p for p in chunk if p.num_distinct <= roles.CODE_MAX_DISTINCT + 2]
        if few:  # exact counts where they decide (the estimate is approximate)
            exact = ", ".join(
                f"count(DISTINCT {quote_ident(p.name)}::DOUBLE)" if p.native
                else f"count(DISTINCT {_number(_text_raw(p), p)})" for p in few
            )
            for p, n in zip(few, cur.execute(f"SELECT {exact} FROM {table}").fetchone()):
                p.num_distinct = int(n)


def _text_raw(p: _Plan) -> str:
    return _t(quote_ident(p.name), p.trimmed)


def choose_number_style(p: "_Plan", th: int, dc: int, amb: int, delimiter: str) -> None:
    """The one rule for a column's number style from its counts of values that read only with
    thousands separators (th), only with a decimal comma (dc), or either way (amb)."""
    if dc > th:
        p.style = "comma"
    elif th > 0:
        p.style = "thousands"
    elif amb > 0:
        p.style = "comma" if delimiter == ";" else "thousands"
    p.parsed += (dc + amb) if p.style == "comma" else (th + amb) if p.style == "thousands" else 0


def _profile_distinct(cur, table: str, plans: list[_Plan]) -> None:
    """Exact distinct counts, integers and leading zeros for id-like columns (identifier decision);
    approximate distinct counts for text columns (free-text warning)."""
    need = [p for p in plans if quality.is_id_like(p.name)
            or (not p.native and p.parsed * 2 <= max(p.present, 1))]
    for chunk in _chunks(need, PROFILE_CHUNK):
        aggs = []
        for p in chunk:
            q = quote_ident(p.name)
            v = q if p.native else _t(q, p.trimmed)
            present = f"{q} IS NOT NULL" if p.native else f"NOT {_missing(v)}"
            if quality.is_id_like(p.name):
                aggs += [
                    f"count(DISTINCT CASE WHEN {present} THEN {v} END)",
                    f"count_if({present} AND regexp_full_match({v}::VARCHAR, '{_INT}'))",
                    f"count_if(regexp_full_match({v}::VARCHAR, '{_LEAD0}'))",
                ]
            else:
                aggs += [f"approx_count_distinct(CASE WHEN {present} THEN {v} END)", "0", "0"]
        stats = cur.execute(f"SELECT {', '.join(aggs)} FROM {table}").fetchone()
        for i, p in enumerate(chunk):
            p.distinct, p.ints, p.lead0 = (int(x) for x in stats[3 * i: 3 * i + 3])


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i: i + n]


def _decide_roles(
    plans: list[_Plan], rows: int, repairs: list[str], warnings: list[str], customers: bool = True
) -> None:
    """Role, SQL type and reason of every column. `customers`: the code/birth-year rules of core/roles.py
    apply (a derived transactions table, core/rfm, keeps its numbers as numbers)."""
    for p in plans:
        shown = _short(p.name)
        numeric = p.present > 0 and p.parsed > NUMERIC_SHARE * p.present
        if p.present == 0:
            p.role, p.sql_type, p.reason = CATEGORICAL, "VARCHAR", "no values"
            warnings.append(f"column '{shown}' is empty (no values); it is kept but never used as a feature")
        elif quality.is_identifier(p.name, p.distinct, rows):
            p.role = IDENTIFIER
            p.reason = f"identifier: id-like name, {p.distinct} distinct values in {rows} rows"
            if p.native:
                p.sql_type = _native_type(p.staged_type)
            elif p.ints == p.present and p.lead0 == 0:
                p.sql_type = "BIGINT"
            else:
                p.sql_type = "VARCHAR"  # text ids, or numbers whose leading zeros matter
        elif quality.is_id_like(p.name):
            p.role, p.sql_type = CATEGORICAL, "VARCHAR"
            p.reason = f"id-like name but repeats ({p.distinct} distinct values): a code, not a number"
            warnings.append(
                f"column '{shown}' looks like an identifier or code but repeats ({p.distinct} distinct values "
                f"in {rows} rows); it is treated as categorical, not as a number"
            )
        elif p.date is not None:
            p.role, p.sql_type = DATE, "DATE"
            p.reason = f"dates, {dates.LAYOUT_WORDS.get(p.date.layout, p.date.layout)}"
            repairs.append(f"column '{shown}': {p.date.message}")
        elif p.native:
            p.role, p.sql_type = NUMERIC, _native_type(p.staged_type)
            if customers:
                _refine_numeric(p, rows, repairs)
            else:
                p.reason = "numbers"
        elif numeric:
            p.role, p.sql_type, p.as_number = NUMERIC, "DOUBLE", True
            if p.style == "plain" and p.nonfinite == 0 and p.whole == p.parsed:
                p.sql_type = "BIGINT"
            if p.style == "comma":
                repairs.append(f"column '{shown}' uses decimal commas (e.g. '12,5' read as 12.5)")
            elif p.style == "thousands" and p.parsed > p.present - p.parsed:
                repairs.append(f"column '{shown}' uses thousands separators (e.g. '1,234' read as 1234)")
            if customers:
                _refine_numeric(p, rows, repairs)
            else:
                p.reason = "numbers"
        else:
            p.role, p.sql_type, p.reason = CATEGORICAL, "VARCHAR", "text values"
            numbers = p.parsed
            if numbers:
                warnings.append(
                    f"column '{shown}' is mostly text ({numbers} of {p.present} values are numbers, "
                    f"e.g. text '{_short(p.example, 20)}'); it is treated as categorical"
                )
            elif quality.is_quantity(p.name) or quality.is_age(p.name) or quality.declared_range(p.name):
                warnings.append(
                    f"column '{shown}' sounds numeric but holds only text (e.g. '{_short(p.example, 20)}'); "
                    "it is treated as categorical"
                )
            elif rows >= 20 and p.distinct > 0.9 * rows:
                warnings.append(
                    f"column '{shown}' has a different value in almost every row ({p.distinct} of {rows}); "
                    "it looks like free text or a name and is not useful as a segment feature"
                )


def _refine_numeric(p: _Plan, rows: int, repairs: list[str]) -> None:
    """A numeric column that is not a quantity: a birth year (excluded; an age is derived from it) or
    integer codes (categories, stored as text); else the reason says how its numbers were read."""
    shown = _short(p.name)
    whole = p.lo is not None and p.hi is not None  # profiled as whole numbers
    if whole and roles.is_birth_year(p.name, p.lo, p.hi):
        p.role, p.sql_type, p.reason = EXCLUDED, "BIGINT", roles.BIRTH_YEAR_REASON
        return
    code = roles.integer_code_reason(p.name, p.num_distinct, p.lo, p.hi, rows) if whole else None
    if code:
        p.role, p.sql_type, p.code, p.reason = CATEGORICAL, "VARCHAR", True, code
        repairs.append(f"column '{shown}' read as categories, not numbers ({code})")
        return
    notes = []
    if p.decor and p.percent:
        notes.append("percent: '45%' read as 45")
    if p.decor and p.currency:
        notes.append("currency signs removed ('$1,234' read as 1234, '(1,234)' as -1234)")
    p.reason = "numbers" + "".join(f"; {n}" for n in notes)
    repairs += [f"column '{shown}' {n}" for n in notes]


def _native_type(staged_type: str) -> str:
    return "BIGINT" if staged_type.split("(")[0].upper() in _INT_TYPES else "DOUBLE"


def _typed_expr(p: _Plan) -> str:
    q = quote_ident(p.name)
    if p.code:  # integer codes as text categories: "1", "2", ... whatever the file wrote ("01", "1.0")
        n = f"{q}::DOUBLE" if p.native else _number(_t(q, p.trimmed), p)
        return f"CAST(TRY_CAST({n} AS BIGINT) AS VARCHAR)"
    if p.role == DATE:
        return f"CAST({date_sql(_t(q, p.trimmed), p.date, trimmed=True)} AS DATE)"
    if p.native and p.role in (NUMERIC, IDENTIFIER, EXCLUDED):
        if p.sql_type == "BIGINT":
            return f"{q}::BIGINT"
        if p.nonfinite == 0:
            return f"{q}::DOUBLE"
        return f"CASE WHEN {_usable(f'{q}::DOUBLE')} THEN {q}::DOUBLE END"
    t = _t(q, p.trimmed)
    if p.role == IDENTIFIER and p.sql_type == "BIGINT":
        return f"TRY_CAST({t} AS BIGINT)"
    if p.as_number:
        v = _number(t, p)
        if p.style == "plain" and p.nonfinite == 0:  # fast path: nothing to null out
            return f"TRY_CAST({v} AS BIGINT)" if p.sql_type == "BIGINT" else v
        return f"CASE WHEN {_usable(v)} THEN {v} END"
    return f"CASE WHEN {_missing(t)} THEN NULL ELSE {t} END"


def _create_typed_table(cur, ds: str, table: str, keep: str | None, plans: list[_Plan]) -> None:
    select = ", ".join(f"{_typed_expr(p)} AS {quote_ident(p.name)}" for p in plans)
    where = f"WHERE {ROW} IN (SELECT {ROW} FROM {keep})" if keep else ""
    cur.execute(f"CREATE TABLE {ds} AS SELECT {ROW}::BIGINT AS {ROW}, {select} FROM {table} {where} ORDER BY {ROW}")


def _narrow_integers(cur, ds: str, plans: list[_Plan]) -> None:
    """Numeric columns parsed from text become BIGINT when every value is a whole number below 2**53."""
    cands = [p for p in plans if p.as_number and p.sql_type == "DOUBLE" and p.whole]
    for chunk in _chunks(cands, 100):
        sql = ", ".join(
            f"coalesce(bool_and({quote_ident(p.name)} = trunc({quote_ident(p.name)}) "
            f"AND abs({quote_ident(p.name)}) < 9007199254740992), false)"
            for p in chunk
        )
        flags = cur.execute(f"SELECT {sql} FROM {ds}").fetchone()
        for p, whole in zip(chunk, flags):
            if whole:
                cur.execute(f"ALTER TABLE {ds} ALTER COLUMN {quote_ident(p.name)} TYPE BIGINT")
                p.sql_type = "BIGINT"
