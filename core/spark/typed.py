"""Typing on Spark with core.ingest's rules: Spark counts, core.ingest decides.

Per column Spark computes the statistics core.ingest profiles in DuckDB (values present, parsing as
numbers in each number style, not finite, whole, distinct...); they fill core.ingest's own plan
objects and `_decide_roles` picks role and type, so both engines type a file identically. The typed
expressions below are the Spark spelling of core.ingest's `_typed_expr`.
"""
from __future__ import annotations

from core import quality
from core.ingest import base as ingest_base
from core.ingest import coltypes
from core.models import IDENTIFIER, NUMERIC
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
    from pyspark.sql import functions as F

    return t.isNull() | F.lower(t).isin(list(ingest_base.MISSING_TOKENS))


def to_double(t):
    """TRY_CAST(text AS DOUBLE) as DuckDB does it: Java's parser would also take '1d' or '0x1p3'."""
    from pyspark.sql import functions as F

    return F.when(F.lower(t).rlike(_NUMBER_TEXT), t.try_cast("double"))


def parse(t, style: str):
    """core.ingest's `_parse`: a DOUBLE from trimmed text in the column's number style."""
    from pyspark.sql import functions as F

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
    from pyspark.sql import functions as F

    return ~F.isnan(x) & (F.abs(x) <= ingest_base.MAX_ABS)


def _whole(x):
    from pyspark.sql import functions as F

    return (x % 1 == 0) & (F.abs(x) < MAX_WHOLE)


def _count_if(cond):
    from pyspark.sql import functions as F

    return F.sum(F.when(cond, 1).otherwise(0))


def profile(frame, columns: list[str], types: dict[str, str], delimiter: str | None) -> list:
    """core.ingest's `_profile` + `_profile_distinct` computed by Spark: one plan per column."""
    from pyspark.sql import functions as F

    plans = [coltypes._Plan(c, duckdb_type(types[c]), coltypes._is_native_number(duckdb_type(types[c])),
                          trimmed=True) for c in columns]
    aggs = []
    for p in plans:
        v = col(p.name)
        if p.native:
            d = v.cast("double")
            aggs += [F.count(v), F.count(v), F.lit(0), _count_if(d.isNotNull() & ~usable(d)),
                     _count_if(_whole(d)), F.lit(None).cast("string")]
            continue
        v = v.cast("string")
        x = to_double(v)
        present = ~missing(v)
        aggs += [
            _count_if(present), _count_if(present & x.isNotNull()), _count_if(v.contains(",")),
            _count_if(x.isNotNull() & ~usable(x)), _count_if(_whole(x)),
            F.min(F.when(present & x.isNull(), v)),
        ]
    stats = frame.agg(*aggs).first() if aggs else []
    commas = []
    for i, p in enumerate(plans):
        present, plain, comma, nonfinite, whole, example = stats[6 * i: 6 * i + 6]
        p.present, p.parsed, p.nonfinite, p.whole, p.example = (
            int(present or 0), int(plain or 0), int(nonfinite or 0), int(whole or 0), example)
        if comma:
            commas.append(p)
    _number_styles(frame, commas, delimiter)
    _distinct(frame, plans)
    return plans


def _number_styles(frame, plans: list, delimiter: str | None) -> None:
    if not plans:
        return
    aggs = []
    for p in plans:
        v = col(p.name)
        th, dc = v.rlike(f"^(?:{coltypes._TH})$"), v.rlike(f"^(?:{coltypes._DC})$")
        has = v.contains(",")
        aggs += [_count_if(has & th & ~dc), _count_if(has & dc & ~th), _count_if(has & th & dc)]
    stats = frame.agg(*aggs).first()
    for i, p in enumerate(plans):
        th, dc, amb = (int(s or 0) for s in stats[3 * i: 3 * i + 3])
        if dc > th:
            p.style = "comma"
        elif th > 0:
            p.style = "thousands"
        elif amb > 0:
            p.style = "comma" if delimiter == ";" else "thousands"
        p.parsed += (dc + amb) if p.style == "comma" else (th + amb) if p.style == "thousands" else 0


def _distinct(frame, plans: list) -> None:
    from pyspark.sql import functions as F

    need = [p for p in plans if quality.is_id_like(p.name)
            or (not p.native and p.parsed * 2 <= max(p.present, 1))]
    if not need:
        return
    aggs = []
    for p in need:
        q = col(p.name)
        v = q.cast("string")
        present = q.isNotNull() if p.native else ~missing(v)
        if quality.is_id_like(p.name):
            aggs += [F.count_distinct(F.when(present, v)),
                     _count_if(present & v.rlike(f"^(?:{coltypes._INT})$")),
                     _count_if(v.rlike(f"^(?:{coltypes._LEAD0})$"))]
        else:
            aggs += [F.approx_count_distinct(F.when(present, v), 0.01), F.lit(0), F.lit(0)]
    stats = frame.agg(*aggs).first()
    for i, p in enumerate(need):
        p.distinct, p.ints, p.lead0 = (int(x or 0) for x in stats[3 * i: 3 * i + 3])


def typed_column(p):
    """core.ingest's `_typed_expr` in Spark: the dataset column for one plan."""
    from pyspark.sql import functions as F

    q = col(p.name)
    if p.native and p.role in (NUMERIC, IDENTIFIER):
        if p.sql_type == "BIGINT":
            return q.cast("long").alias(p.name)
        d = q.cast("double")
        return (d if p.nonfinite == 0 else F.when(usable(d), d)).alias(p.name)
    t = q.cast("string")
    if p.role == IDENTIFIER and p.sql_type == "BIGINT":
        return t.try_cast("long").alias(p.name)
    if p.as_number:
        v = parse(t, p.style)
        if p.style == "plain" and p.nonfinite == 0 and p.sql_type == "BIGINT":
            return v.cast("long").alias(p.name)
        return F.when(usable(v), v).alias(p.name)
    return F.when(~missing(t), t).alias(p.name)


def narrow_integers(typed, plans: list):
    """core.ingest's `_narrow_integers`: parsed DOUBLE columns holding only whole numbers -> BIGINT."""
    from pyspark.sql import functions as F

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

