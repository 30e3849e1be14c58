"""Cleaning and validation on Spark with core.quality's rules: duplicates, typing issues, value rules.

Spark produces the per-row results (the typed dataset, the `issues` and `rejects` rows, missing
counts); the findings' counts, samples and messages are then built by core.quality from those rows
once they are in the DuckDB store (core/spark/publish.py), so both engines report identically.
Which value rule applies to which column comes from `core.quality.value_checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core import quality
from core.ingest import base as ingest_base
from core.ingest import coltypes
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC, ROW, ColumnInfo
from core.spark.columns import col
from core.spark.reading import SparkInput
from core.spark.typed import missing, narrow_integers, number, profile, typed_column, usable

ISSUE_SCHEMA = f"{ROW} LONG, column_name STRING, rule STRING, value STRING, excludes BOOLEAN"
REJECT_SCHEMA = f"{ROW} LONG, column_name STRING, raw_value STRING, reason STRING"


@dataclass
class CleanDataset:
    """A typed, de-duplicated dataset on Spark and what cleaning and validation found."""

    typed: object  # DataFrame: __row + typed columns (ds_<id>)
    issues: object  # DataFrame in ISSUE_SCHEMA
    rejects: object  # DataFrame in REJECT_SCHEMA
    columns: list[ColumnInfo]
    rows_read: int
    rows_loaded: int
    duplicates_removed: int
    missing: dict[str, int]
    rejected_values: dict[str, int]
    constant: list[str]
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def id_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == IDENTIFIER), None)


def clean_and_validate(spark, data: SparkInput) -> CleanDataset:
    """Type, de-duplicate and validate the input; nothing is written yet."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    from core.errors import InputError  # loaded with the Spark engine only

    frame = data.frame
    types = dict(frame.dtypes)
    rows_read = data.rows  # counted while numbering the rows: no pass of its own
    if rows_read == 0:
        raise InputError(f"'{data.source}' has no data rows; nothing to load")
    repairs, warnings = list(data.repairs), []
    plans = profile(frame, data.columns, types, data.delimiter)

    if any(p.distinct == rows_read for p in plans if quality.is_id_like(p.name)):
        kept = frame  # a column unique in every row: no two rows can be exact duplicates
    else:
        # core.quality.mark_first_rows: the first row of every group of equal rows (NULL equals NULL)
        first = frame.groupBy(*[col(c) for c in data.columns]).agg(F.min(ROW).alias(ROW)).select(ROW)
        kept = frame.join(first, ROW, "left_semi")
    kept = kept.cache()
    rows_loaded = kept.count()
    if data.cached is not None:  # the de-duplicated rows are cached now: the input's copy can go
        data.cached.unpersist()
    refuse_dates(kept, plans)
    coltypes._decide_roles(plans, rows_loaded, repairs, warnings)

    typed = kept.select(F.col(ROW), *[typed_column(p) for p in plans])
    typed = narrow_integers(typed, plans)
    columns = [ColumnInfo(p.name, p.role, p.sql_type, p.reason) for p in plans]
    typed, columns = add_ages(typed, plans, columns, repairs)
    typed = typed.cache()
    issues, rejects = _typing_issues(spark, kept, plans)
    issues = issues.unionByName(_value_issues(spark, typed, columns)).cache()
    rejects = rejects.cache()
    rejected = {r[0]: int(r[1]) for r in rejects.groupBy("column_name").count().collect()}
    rejected = {c.name: rejected[c.name] for c in columns if c.name in rejected}
    miss, constant = _column_stats(typed, columns, rows_loaded)
    _few_points_warning(typed, columns, constant, warnings)
    issues.count()  # fills the cached issue rows, the last frame read from `kept`: its copy can go
    kept.unpersist()
    return CleanDataset(typed, issues, rejects, columns, rows_read, rows_loaded, rows_read - rows_loaded,
                        miss, rejected, constant, repairs, warnings)


DATE_SAMPLE = 10_000  # values of a date-looking column read on the driver to decide whether it holds dates


def refuse_dates(kept, plans: list) -> None:
    """Text dates (core/dates.py) are not read by the Spark engine yet: a column that core.ingest would
    read as dates (core.dates.detect_dates on a driver sample of its values, the candidates chosen as
    core.ingest.derived.find_dates chooses them) stops the run with a message naming it."""
    import duckdb  # loaded with the Spark engine only
    import pandas as pd  # loaded with the Spark engine only

    from core import dates, roles  # loaded with the Spark engine only
    from core.errors import InputError  # loaded with the Spark engine only

    for p in plans:
        if not p.present or quality.is_id_like(p.name):
            continue
        compact = p.lo is not None and roles.may_be_compact_date(p.name, p.lo, p.hi)
        text = not p.native and p.parsed * 2 <= p.present and bool(p.example) and dates.looks_like_date(p.example)
        if not (compact or text):
            continue
        values = [r[0] for r in kept.select(col(p.name).cast("string")).limit(DATE_SAMPLE).collect()]
        with duckdb.connect() as con:
            con.register("sample_view", pd.DataFrame({p.name: pd.Series(values, dtype=object)}))
            con.execute("CREATE TABLE sample_dates AS SELECT * FROM sample_view")
            found = dates.detect_dates(con, "sample_dates", p.name)
        if found is not None:
            raise InputError(
                f"column '{p.name}' holds dates ({found.message}); the Spark engine does not read text dates "
                "yet: drop the column, store it as a number of days, or use the DuckDB engine"
            )


def add_ages(typed, plans: list, columns: list[ColumnInfo], repairs: list[str]):
    """core.ingest.derived.add_derived_columns for birth years (no dates on Spark): "Age (from <name>)"
    = the current year - the birth year, right after its column; the birth year itself is excluded."""
    import datetime as dt  # loaded with the Spark engine only

    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    from core import roles  # loaded with the Spark engine only
    from core.ingest.derived import _unique  # loaded with the Spark engine only
    from core.models import EXCLUDED  # loaded with the Spark engine only

    births = {p.name for p in plans if p.role == EXCLUDED and p.reason == roles.BIRTH_YEAR_REASON}
    if not births:
        return typed, columns
    year = dt.date.today().year
    taken = {c.name.lower() for c in columns}
    out, select = [], [F.col(ROW)]
    for c in columns:
        out.append(c)
        select.append(col(c.name))
        if c.name in births:
            name = _unique(roles.age_column_name(c.name), taken)
            out.append(ColumnInfo(name, NUMERIC, "BIGINT",
                                  f"derived: {year} - '{c.name}' (reference year: the current year)"))
            repairs.append(f"column '{name}' added: {year} - '{c.name}' (reference year: the current year); "
                           f"'{c.name}' itself is not a feature")
            select.append((F.lit(year) - col(c.name)).cast("long").alias(name))
    return typed.select(*select), out


def _typing_issues(spark, kept, plans: list):
    """core.ingest's `_record_typing_issues`: rejects + non_numeric for text that does not parse,
    not_finite for inf and overflow (NaN only comes from the 'nan' missing token)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    issues = [spark.createDataFrame([], ISSUE_SCHEMA)]
    rejects = [spark.createDataFrame([], REJECT_SCHEMA)]
    for p in plans:
        if p.role != NUMERIC:
            continue
        q = col(p.name)
        if p.native:
            if p.nonfinite:
                d = q.cast("double")
                issues.append(kept.where(d.isNotNull() & ~usable(d) & ~F.isnan(d)).select(
                    F.col(ROW), F.lit(p.name).alias("column_name"), F.lit("not_finite").alias("rule"),
                    q.cast("string").alias("value"), F.lit(True).alias("excludes")))
            continue
        t = q.cast("string")
        v = number(t, p)
        if p.parsed < p.present:
            bad = kept.where(~missing(t) & v.isNull())
            rejects.append(bad.select(F.col(ROW), F.lit(p.name).alias("column_name"),
                                      t.alias("raw_value"), F.lit("not a number").alias("reason")))
            issues.append(bad.select(F.col(ROW), F.lit(p.name).alias("column_name"),
                                     F.lit("non_numeric").alias("rule"), t.alias("value"),
                                     F.lit(False).alias("excludes")))
        if p.nonfinite:
            issues.append(kept.where(~missing(t) & v.isNotNull() & ~usable(v) & ~F.isnan(v)).select(
                F.col(ROW), F.lit(p.name).alias("column_name"), F.lit("not_finite").alias("rule"),
                t.alias("value"), F.lit(True).alias("excludes")))
    return _union(issues), _union(rejects)


def _value_issues(spark, typed, columns: list[ColumnInfo]):
    """core.quality.validate's value and duplicate-id rules as issue rows."""
    from pyspark.sql import Window  # pyspark is an optional extra: loaded only when a Spark run starts
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    parts = [spark.createDataFrame([], ISSUE_SCHEMA)]
    for check in quality.value_checks(columns):
        q = col(check.column)
        if check.rule == "out_of_range":
            cond = (q < check.params[0]) | (q > check.params[1])
        elif check.rule == "impossible_age":
            cond = (q < 0) | (q > check.params[0])
        else:  # negative
            cond = q < 0
        parts.append(typed.where(cond).select(
            F.col(ROW), F.lit(check.column).alias("column_name"), F.lit(check.rule).alias("rule"),
            q.cast("string").alias("value"), F.lit(quality.RULE_TEXT[check.rule][1]).alias("excludes")))
    for c in columns:
        if c.role != IDENTIFIER:
            continue
        q = col(c.name)
        w = Window.partitionBy(q)
        parts.append(typed.where(q.isNotNull()).withColumn("__n", F.count(F.lit(1)).over(w))
                     .where(F.col("__n") > 1).select(
            F.col(ROW), F.lit(c.name).alias("column_name"), F.lit("duplicate_id").alias("rule"),
            q.cast("string").alias("value"), F.lit(False).alias("excludes")))
    return _union(parts)


def _union(parts: list):
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _column_stats(typed, columns: list[ColumnInfo], rows: int) -> tuple[dict[str, int], list[str]]:
    """Missing values per column, and the constant columns (one distinct present value, >= 2 rows)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    aggs = []
    for c in columns:
        q = col(c.name)
        aggs += [F.count(q), F.min(q) == F.max(q)]
    stats = typed.agg(*aggs).first()
    miss, constant = {}, []
    for i, c in enumerate(columns):
        present, same = stats[2 * i], stats[2 * i + 1]
        if rows - present:
            miss[c.name] = int(rows - present)
        if rows >= 2 and same and c.role in (NUMERIC, CATEGORICAL):
            constant.append(c.name)
    return miss, constant


def _few_points_warning(typed, columns: list[ColumnInfo], constant: list[str], warnings: list[str]) -> None:
    numeric = [c.name for c in columns if c.role == NUMERIC and c.name not in constant]
    if not numeric:
        return
    n = typed.select(*[col(c) for c in numeric[:50]]).distinct().limit(ingest_base.FEW_POINTS).count()
    if n < ingest_base.FEW_POINTS:
        warnings.append(
            f"the numeric columns hold only {n} distinct point{'s' if n != 1 else ''}; "
            f"segmentation can form at most {n} segment{'s' if n != 1 else ''}"
        )
