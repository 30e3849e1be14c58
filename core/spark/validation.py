"""Cleaning and validation on Spark with core.quality's rules: duplicates, typing issues (text dates too), value rules.

Spark produces the per-row results (the typed dataset, the `issues` and `rejects` rows, missing
counts); the findings' counts, samples and messages are then built by core.quality from those rows
once they are in the DuckDB store (core/spark/publish.py), so both engines report identically.
Which value rule applies to which column comes from `core.quality.value_checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core import dates, quality, roles
from core.ingest import base as ingest_base
from core.ingest import coltypes
from core.ingest.derived import date_candidates, plan_derived
from core.models import CATEGORICAL, DATE, EXCLUDED, IDENTIFIER, NUMERIC, ROW, ColumnInfo
from core.spark.columns import col
from core.spark.dates import date_column, date_counts
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
    find_dates(frame, plans)  # every row read, duplicates too, as core.ingest reads the staged table

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
    coltypes._decide_roles(plans, rows_loaded, repairs, warnings)

    # Cached once typed: narrowing and the derived columns' latest dates read it, then cheap casts
    # and day counts are projected over it.
    typed = kept.select(F.col(ROW), *[typed_column(p) for p in plans]).cache()
    typed = narrow_integers(typed, plans)
    columns = [ColumnInfo(p.name, p.role, p.sql_type, p.reason) for p in plans]
    typed, columns = add_derived(typed, plans, columns, repairs)
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


def find_dates(frame, plans: list) -> None:
    """core.ingest.derived.find_dates on Spark: the same candidate columns, their DateCounts counted
    by Spark over every row (one aggregate for all of them), the reading decided by core/dates.py."""
    candidates = date_candidates(plans)
    counts = date_counts(frame, [p.name for p in candidates])
    for p in candidates:
        p.date = dates.decide_reading(counts[p.name])


def add_derived(typed, plans: list, columns: list[ColumnInfo], repairs: list[str]):
    """core.ingest.derived.add_derived_columns on Spark: "<date> (days since)" after every date column
    and "Age (from <birth year>)" after every birth-year column, as core.ingest.derived.plan_derived
    names and words them (the latest dates: one aggregate)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    dated = [p.name for p in plans if p.role == DATE]
    if not dated and not any(p.role == EXCLUDED and p.reason == roles.BIRTH_YEAR_REASON for p in plans):
        return typed, columns
    latest = dict(zip(dated, typed.agg(*[F.max(col(n)) for n in dated]).first())) if dated else {}
    derived = plan_derived(plans, columns, latest, repairs)
    select = [F.col(ROW)]
    for c in columns:
        select.append(col(c.name))
        if c.name in derived.days:
            days = F.datediff(F.lit(derived.latest[c.name]), col(c.name))
            select.append(days.cast("long").alias(derived.days[c.name].name))
        elif c.name in derived.ages:
            select.append((F.lit(derived.ref_year) - col(c.name)).cast("long").alias(derived.ages[c.name].name))
    return typed.select(*select), derived.ordered(columns)


def _typing_issues(spark, kept, plans: list):
    """core.ingest's `_record_typing_issues`: rejects + non_numeric for text that does not parse,
    not_finite for inf and overflow (NaN only comes from the 'nan' missing token)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    issues = [spark.createDataFrame([], ISSUE_SCHEMA)]
    rejects = [spark.createDataFrame([], REJECT_SCHEMA)]
    for p in plans:
        if p.role == DATE:
            rejects.append(_unread_dates(kept, p))
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


def _unread_dates(kept, p):
    """core.ingest's `_record_unread_dates`: present values of a date column that do not read as
    dates are rejected (NULL in the dataset)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    t = col(p.name).cast("string")
    return kept.where(~missing(t) & date_column(p.name, p.date).isNull()).select(
        F.col(ROW), F.lit(p.name).alias("column_name"), t.alias("raw_value"), F.lit("not a date").alias("reason"))


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
