"""Typing on Spark with core.ingest's rules: Spark counts, core.ingest decides.

Per column Spark computes the statistics core.ingest profiles in DuckDB (values present, parsing as
numbers in each number style, not finite, whole, distinct...); they fill core.ingest's own plan
objects and `_decide_roles` picks role and type, so both engines type a file identically. The typed
expressions below are the Spark spelling of core.ingest's `_typed_expr`.
"""
from __future__ import annotations

from core import quality, roles
from core.ingest import base as ingest_base
from core.ingest import coltypes
from core.models import DATE, EXCLUDED, IDENTIFIER, NUMERIC
from core.spark.columns import col

_SPARK_TO_DUCKDB = {
    "tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT",
    "float": "FLOAT", "double": "DOUBLE",
}
MAX_WHOLE = 9007199254740992.0  # 2**53
_NUMBER_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$"


def duckdb_type(spark_type: str) -> str:
    """The DuckDB name of a Spark column type, as core.ingest sees staged types."""
    if spark_type.startswith("decimal"):
        return "DECIMAL" + spark_type[len("decimal"):].upper()
    return _SPARK_TO_DUCKDB.get(spark_type, "VARCHAR")


def missing(t):
    """core.ingest's missing test: no value, or one of the missing tokens (any case)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return t.isNull() | F.lower(t).isin(list(ingest_base.MISSING_TOKENS))


def to_double(t):
    """TRY_CAST(text AS DOUBLE) as DuckDB does it: Java's parser would also take '1d' or '0x1p3'."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return F.when(F.lower(t).rlike(_NUMBER_TEXT), t.try_cast("double"))


def clean(t):
    """core.ingest's `_clean`: text without currency signs, percent sign and accounting brackets
    ("(1,234)" -> "-1,234"); values of any other shape are left as they are."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return (F.when(t.rlike(f"^(?:{coltypes._ACCOUNTING})$"), F.concat(F.lit("-"), F.regexp_replace(t, r"[()$€£¥\s]", "")))
            .when(t.rlike(f"^(?:{coltypes._DECORATED})$"), F.regexp_replace(t, r"[$€£¥%\s]", ""))
            .otherwise(t))


def text_of(p):
    """The text of a column as numbers are read from it (core.ingest's `_text`: cleaned when decorated)."""
    t = col(p.name).cast("string")
    return clean(t) if p.decor else t


def number(t, p):
    """core.ingest's `_number`: a DOUBLE from raw text `t` of plan `p` (decorations removed, its style)."""
    return parse(clean(t) if p.decor else t, p.style)


def parse(t, style: str):
    """core.ingest's `_parse`: a DOUBLE from trimmed text in the column's number style."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    # rlike with ^(?:...)$ is DuckDB's regexp_full_match
    if style == "thousands":
        inner = F.when(t.contains(",") & t.rlike(f"^(?:{coltypes._TH})$"), F.regexp_replace(t, ",", "")).otherwise(t)
    elif style == "comma":
        inner = (
            F.when(t.contains(",") & t.rlike(f"^(?:{coltypes._DC})$"),
                   F.regexp_replace(F.regexp_replace(t, r"\.", ""), ",", "."))
            .when(t.rlike(f"^(?:{coltypes._DOT_TH})$"), F.regexp_replace(t, r"\.", ""))
            .otherwise(t)
        )
    else:
        inner = t
    return to_double(inner)


def usable(x):
    """A finite number small enough to square (core.ingest's `_usable`); NULL stays NULL."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return ~F.isnan(x) & (F.abs(x) <= ingest_base.MAX_ABS)


def _whole(x):
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return (x % 1 == 0) & (F.abs(x) < MAX_WHOLE)


def _count_if(cond):
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return F.sum(F.when(cond, 1).otherwise(0))


def profile(frame, columns: list[str], types: dict[str, str], delimiter: str | None) -> list:
    """core.ingest's `_profile` (+ `_profile_distinct`, `_profile_whole_numbers`) computed by Spark in
    a fixed number of passes: the counts of every column in one aggregate (a second one for decorated
    columns, a third for number styles when commas occur), then one aggregate of all the estimates
    (distinct text values, smallest, largest and distinct whole numbers), one exact distinct count of
    the id-like columns and one exact count of the whole-number columns with few values."""
    plans = [coltypes._Plan(c, duckdb_type(types[c]), coltypes._is_native_number(duckdb_type(types[c])),
                            trimmed=True) for c in columns]
    commas: dict[str, object] = {}
    _basic_stats(frame, plans, commas)
    decorated = [p for p in plans if p.currency or p.percent]  # read again with the signs removed
    for p in decorated:
        p.decor = True
        commas.pop(p.name, None)
    _basic_stats(frame, decorated, commas)
    _number_styles(frame, list(commas.values()), delimiter)
    _estimates(frame, plans)
    _exact_counts(frame, plans)
    return plans


def _basic_stats(frame, plans: list, commas: dict) -> None:
    """Present, plain-parsed, comma-holding, non-finite and whole values per column, an example of a
    value that is not a number, values with currency or percent signs (core.ingest's `_basic_stats`),
    and the integers and leading zeros of id-like columns (`_profile_distinct`'s): one aggregate of
    plain sums and minimums, which Spark compiles to generated code."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    if not plans:
        return
    aggs = []
    for p in plans:
        if p.native:
            v = col(p.name)
            d = v.cast("double")
            aggs += [F.count(v), F.count(v), F.lit(0), _count_if(d.isNotNull() & ~usable(d)),
                     _count_if(_whole(d)), F.lit(None).cast("string"), F.lit(0), F.lit(0)]
        else:
            v = text_of(p)
            x = to_double(v)
            present = ~missing(v)
            money = v.contains("$") | v.contains("€") | v.contains("£") | v.contains("¥") | v.contains("(")
            aggs += [
                _count_if(present), _count_if(present & x.isNotNull()), _count_if(v.contains(",")),
                _count_if(x.isNotNull() & ~usable(x)), _count_if(_whole(x)),
                F.min(F.when(present & x.isNull(), v)),
                F.lit(0) if p.decor else _count_if(money), F.lit(0) if p.decor else _count_if(v.contains("%")),
            ]
        aggs += _id_counts(p)
    stats = frame.agg(*aggs).first()
    for i, p in enumerate(plans):
        present, plain, comma, nonfinite, whole, example, money, pct, ints, lead0 = stats[10 * i: 10 * i + 10]
        p.present, p.parsed, p.nonfinite, p.whole, p.example = (
            int(present or 0), int(plain or 0), int(nonfinite or 0), int(whole or 0), example)
        if not p.decor:
            p.currency, p.percent = int(money or 0), int(pct or 0)
        p.ints, p.lead0 = int(ints or 0), int(lead0 or 0)
        if comma:
            commas[p.name] = p


def _id_counts(p) -> list:
    """Integers and leading zeros of an id-like column (core.ingest's `_profile_distinct`), else 0s."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    if not quality.is_id_like(p.name):
        return [F.lit(0), F.lit(0)]
    q = col(p.name)
    v = q.cast("string")
    present = q.isNotNull() if p.native else ~missing(v)
    return [_count_if(present & v.rlike(f"^(?:{coltypes._INT})$")), _count_if(v.rlike(f"^(?:{coltypes._LEAD0})$"))]


# approx_count_distinct's relative error where only "more than CODE_MAX_DISTINCT + 2?" is asked (the
# few columns below it are counted exactly): Spark's default. At 0.01 an estimate costs about 2 s per
# column and million rows here; the free-text warning quotes its estimate, so that one keeps 0.01.
_ROUGH_RSD = 0.05
_TEXT_RSD = 0.01


def _whole_candidates(plans: list) -> list:
    return [p for p in plans if p.present and p.parsed == p.present and p.whole == p.parsed
            and not p.nonfinite and p.style == "plain" and not quality.is_id_like(p.name)]


def _estimates(frame, plans: list) -> None:
    """One aggregate of the estimates: approximate distinct counts of text columns (core.ingest's
    `_profile_distinct`, free-text warning), and smallest, largest and approximately distinct values
    of whole-number columns (`_profile_whole_numbers`: integer codes and birth years, core/roles.py).
    (approx_count_distinct keeps Spark's aggregate out of generated code: they share one pass.)"""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    texts = [p for p in plans if not quality.is_id_like(p.name) and not p.native
             and p.parsed * 2 <= max(p.present, 1)]
    wholes = _whole_candidates(plans)
    for p in plans:
        p.distinct = 0
    if not texts and not wholes:
        return
    aggs = []
    for p in texts:
        v = col(p.name).cast("string")
        aggs.append(F.approx_count_distinct(F.when(~missing(v), v), _TEXT_RSD))
    for p in wholes:
        x = _whole_number(p)
        aggs += [F.min(x), F.max(x), F.approx_count_distinct(x, _ROUGH_RSD)]
    stats = frame.agg(*aggs).first()
    for i, p in enumerate(texts):
        p.distinct = int(stats[i] or 0)
    for i, p in enumerate(wholes):
        p.lo, p.hi, approx = stats[len(texts) + 3 * i: len(texts) + 3 * i + 3]
        p.num_distinct = int(approx or 0)


def _whole_number(p):
    return col(p.name).cast("double") if p.native else number(col(p.name).cast("string"), p)


def _exact_counts(frame, plans: list) -> None:
    """Exact distinct counts where they decide: id-like columns (the identifier decision and its
    reason; one aggregate of its own, since beside other aggregates a distinct count makes Spark carry
    every buffer per distinct value) and whole-number columns with few values (integer codes: one
    pass of collect_set, a plain aggregate)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    ids = [p for p in plans if quality.is_id_like(p.name)]
    if ids:
        aggs = []
        for p in ids:
            q = col(p.name)
            v = q.cast("string")
            aggs.append(F.count_distinct(F.when(q.isNotNull() if p.native else ~missing(v), v)))
        for p, n in zip(ids, frame.agg(*aggs).first()):
            p.distinct = int(n or 0)
    few = [p for p in _whole_candidates(plans) if p.num_distinct <= roles.CODE_MAX_DISTINCT + 2]
    if few:
        exact = frame.agg(*[F.size(F.collect_set(_whole_number(p))) for p in few]).first()
        for p, n in zip(few, exact):
            p.num_distinct = int(n)


def _number_styles(frame, plans: list, delimiter: str | None) -> None:
    if not plans:
        return
    aggs = []
    for p in plans:
        v = text_of(p)
        th, dc = v.rlike(f"^(?:{coltypes._TH})$"), v.rlike(f"^(?:{coltypes._DC})$")
        has = v.contains(",")
        aggs += [_count_if(has & th & ~dc), _count_if(has & dc & ~th), _count_if(has & th & dc)]
    stats = frame.agg(*aggs).first()
    for i, p in enumerate(plans):
        coltypes.choose_number_style(p, *(int(s or 0) for s in stats[3 * i: 3 * i + 3]), delimiter)


def typed_column(p):
    """core.ingest's `_typed_expr` in Spark: the dataset column for one plan."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    from core.spark.dates import date_column  # loaded with the Spark engine only

    q = col(p.name)
    if p.role == DATE:  # before the codes: a YYYYMMDD column is read as dates, not numbers
        return date_column(p.name, p.date).alias(p.name)
    if p.code:  # integer codes as text categories: "1", "2", ... whatever the file wrote ("01", "1.0")
        n = q.cast("double") if p.native else number(q.cast("string"), p)
        return n.cast("long").cast("string").alias(p.name)
    if p.native and p.role in (NUMERIC, IDENTIFIER, EXCLUDED):
        if p.sql_type == "BIGINT":
            return q.cast("long").alias(p.name)
        d = q.cast("double")
        return (d if p.nonfinite == 0 else F.when(usable(d), d)).alias(p.name)
    t = q.cast("string")
    if p.role == IDENTIFIER and p.sql_type == "BIGINT":
        return t.try_cast("long").alias(p.name)
    if p.as_number:
        v = number(t, p)
        if p.style == "plain" and p.nonfinite == 0 and p.sql_type == "BIGINT":
            return v.cast("long").alias(p.name)
        return F.when(usable(v), v).alias(p.name)
    return F.when(~missing(t), t).alias(p.name)


def narrow_integers(typed, plans: list):
    """core.ingest's `_narrow_integers`: parsed DOUBLE columns holding only whole numbers -> BIGINT."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    cands = [p for p in plans if p.as_number and p.sql_type == "DOUBLE" and p.whole]
    if not cands:
        return typed
    flags = typed.agg(*[
        F.coalesce(F.bool_and(_whole(col(p.name))), F.lit(False)) for p in cands
    ]).first()
    for p, whole in zip(cands, flags):
        if whole:
            typed = typed.withColumn(p.name, col(p.name).cast("long"))
            p.sql_type = "BIGINT"
    return typed

