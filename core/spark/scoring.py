"""`score_spark`: put the customers of a file, a folder of Parquet parts or a glob into a saved model's
segments on Spark, with the rules of core.scoring (docs/MODELS.md, "Scoring on Spark").

The input is read, typed and validated by the Spark engine's own reading and validation (the same
rules as core.ingest); then, in Spark SQL, the model's fill values, one-hot levels, transforms and
scaler, the nearest centroid by squared distance (ties to the first, as core.kmeans.nearest_centroid),
the distance and the poor-fit flag. Nothing reaches the driver but counts. The rules that are not
Spark's (column checks, segment sizes, the ScoreResult and its warnings) are core.scoring's own.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError
from core.model_file import Model
from core.models import CATEGORICAL, NUMERIC, ROW
from core.scoring import OUTPUT_COLUMNS, UNSEEN_SHOWN, ScoreResult, check_columns, score_result, segment_sizes
from core.spark.columns import col
from core.spark.engine import dataset_info
from core.spark.reading import read_input
from core.spark.validation import CleanDataset, clean_and_validate

ROW_OUTPUT = "Row"  # the output's key column when the input has no identifier column
_KEPT, _SEG, _DIST, _POOR = "__kept", "__seg", "__dist", "__poor"


@dataclass
class SparkCounts:
    """What core.scoring.score_result needs besides the segment sizes (core.scoring.Scored's counts)."""

    unseen: dict[str, dict[str, int]] = field(default_factory=dict)
    unseen_rows: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    excluded_by_rule: dict[str, int] = field(default_factory=dict)


def score_spark(spark, model: Model, source: str | os.PathLike, out: str | os.PathLike | None = None) -> ScoreResult:
    """Score INPUT on Spark; write `out` (a Parquet folder, name ending in .parquet) with the id column
    (or Row), Segment, Segment name, Distance and Poor fit for every loaded row (excluded rows: empty
    Segment); return core.scoring's ScoreResult. A failure leaves no output behind."""
    started = time.perf_counter()
    target = None if out is None else Path(out)
    if target is not None and target.suffix.lower() != ".parquet":
        raise InputError(f"on Spark the output is a Parquet folder: its name must end in .parquet (got '{target.name}')")
    if target is not None and not target.parent.is_dir():
        raise InputError(f"folder not found for the output: {target.parent}")
    try:
        clean = clean_and_validate(spark, read_input(spark, str(source)))
        info = dataset_info(clean, Path(str(source).rstrip("/")).name or "spark input", str(source))
        check_columns(model, info)  # before any scoring work, like score_rows
        frame = scored_frame(model, clean, info).cache()
        try:
            result = _count(model, info, clean, frame)
            if target is not None:
                _write(_output(model, info, frame), target)
        finally:
            frame.unpersist()
    finally:
        spark.catalog.clearCache()  # the cleaned input's cached frames are this call's alone
    result.out = None if out is None else str(out)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def scored_frame(model: Model, clean: CleanDataset, info):
    """Every loaded row: __row, the id column, __kept, __seg, __dist, __poor, plus per feature __m{i}
    (missing before filling) and, per categorical feature, __u{i} (a level the model never saw) and
    __l{i} (its filled level). Internal names start with "__", which core.ingest's names never do."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when Spark scores

    names = info.names()
    excluding = clean.issues.where(F.col("excludes") & F.col("column_name").isin(model.feature_names))
    flagged = excluding.select(ROW).distinct().withColumn("__excluded", F.lit(True))
    base = clean.typed.join(flagged, ROW, "left")
    extra, values = [], {}
    for i, f in enumerate(model.features):
        q = col(f.name, names)
        extra.append(q.isNull().alias(f"__m{i}"))
        if f.role == NUMERIC:
            values[f.name] = F.coalesce(q.cast("double"), F.lit(float(f.fill)))
        else:
            level = F.coalesce(q.cast("string"), F.lit(str(f.fill)))
            values[f.name] = level
            extra += [level.alias(f"__l{i}"), (~level.isin(list(f.levels))).alias(f"__u{i}")]
    z = [_scaled(model, j, values) for j in range(len(model.encoded))]
    finite = F.lit(True)
    for e in z:  # NaN sorts above +inf in Spark, so this one test refuses NaN and both infinities
        finite = finite & (F.abs(e) < F.lit(float("inf")))
    keep_cols = [F.col(ROW)] + ([col(info.id_column, names)] if info.id_column else [])
    staged = base.select(*keep_cols, F.col("__excluded").isNull().alias("__issue_kept"), *extra,
                         *[e.alias(f"__z{j}") for j, e in enumerate(z)], finite.alias("__finite"))
    return _assign(model, staged.withColumn(_KEPT, F.col("__issue_kept") & F.col("__finite")))


def _scaled(model: Model, j: int, values: dict):
    """Encoded column j in the model's scaled space: core.kmeans.Scaler.apply's arithmetic."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when Spark scores

    feat, level = model.encoded[j]
    x = values[feat]
    if level is not None:
        x = (x == F.lit(level)).cast("double")
    elif next(f for f in model.features if f.name == feat).transform == "log1p":
        x = F.log1p(F.greatest(x, F.lit(0.0)))
    return (x - F.lit(float(model.center[j]))) / F.lit(float(model.scale_by[j]))


def _assign(model: Model, staged):
    """core.scoring.assign in Spark SQL: squared distance to every centroid, the first nearest one's
    segment, its distance, poor fit beyond the threshold (into the outlier group when there is one)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when Spark scores

    m = len(model.encoded)
    d2 = []
    for c in model.centroids:
        total = None
        for j in range(m):  # summed left to right, as numpy sums a short last axis
            term = _sq(F.col(f"__z{j}") - F.lit(float(c[j])))
            total = term if total is None else total + term
        d2.append(total)
    keep = [c for c in staged.columns if not c.startswith("__z")]
    staged = staged.select("*", *[e.alias(f"__d{i}") for i, e in enumerate(d2)])
    ds = [F.col(f"__d{i}") for i in range(len(d2))]
    nearest = F.least(*ds) if len(ds) > 1 else ds[0]
    which = F.coalesce(*[F.when(d == nearest, F.lit(i)) for i, d in enumerate(ds)]) if len(ds) > 1 else F.lit(0)
    segment = F.element_at(F.array(*[F.lit(int(s)) for s in model.centroid_segments]), which + 1)
    distance = F.sqrt(nearest)
    if model.outlier_threshold is None:
        poor = F.lit(False)
    else:
        poor = distance > F.lit(float(model.outlier_threshold))
        if model.outlier_segment is not None:
            segment = F.when(poor, F.lit(int(model.outlier_segment.id))).otherwise(segment)
    kept = F.col(_KEPT)
    return staged.select(
        *keep,
        F.when(kept, segment.cast("int")).alias(_SEG), F.when(kept, distance).alias(_DIST),
        F.when(kept, poor).alias(_POOR))


def _sq(x):
    return x * x  # numpy's ** 2 is x * x: the same rounding


def _count(model: Model, info, clean: CleanDataset, frame) -> ScoreResult:
    """Segment sizes, poor fits, fills, unseen levels and exclusions: a few aggregates over `frame`."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when Spark scores

    kept = F.col(_KEPT)
    cats = [i for i, f in enumerate(model.features) if f.role == CATEGORICAL]
    any_unseen = F.lit(False)
    for i in cats:
        any_unseen = any_unseen | F.col(f"__u{i}")
    row = frame.agg(
        F.count(F.when(kept & F.col(_POOR), 1)).alias("poor"),
        F.count(F.when(kept & any_unseen, 1)).alias("unseen"),
        *[F.count(F.when(kept & F.col(f"__m{i}"), 1)).alias(f"m{i}") for i in range(len(model.features))],
    ).first()
    sizes = {int(r[0]): int(r[1]) for r in frame.where(kept).groupBy(_SEG).count().collect()}
    filled = {f.name: int(row[f"m{i}"]) for i, f in enumerate(model.features) if row[f"m{i}"]}
    unseen = {}
    for i in cats:  # over the rows kept by validation, as core.scoring._count_unseen
        top = (frame.where(F.col("__issue_kept") & F.col(f"__u{i}")).groupBy(F.col(f"__l{i}").alias("level"))
               .count().orderBy(F.desc("count"), F.asc("level")).limit(UNSEEN_SHOWN).collect())
        if top:
            unseen[model.features[i].name] = {str(r["level"]): int(r["count"]) for r in top}
    excluding = clean.issues.where(F.col("excludes") & F.col("column_name").isin(model.feature_names))
    by_rule = (excluding.select(F.concat_ws(":", "rule", "column_name").alias("rc"), ROW).distinct()
               .groupBy("rc").count().collect())
    counts = SparkCounts(unseen, int(row["unseen"]), filled, {r[0]: int(r[1]) for r in sorted(by_rule)})
    return score_result(model, info, segment_sizes(model, sizes), int(row["poor"]), counts, [])


def _output(model: Model, info, frame):
    """The output rows in input order: the id column (or Row), then core.scoring.OUTPUT_COLUMNS."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when Spark scores

    segment, name, distance, poor_fit = OUTPUT_COLUMNS
    key = F.col(ROW).alias(ROW_OUTPUT) if not info.id_column else col(info.id_column, info.names())
    names = F.create_map(*[x for s in model.segments for x in (F.lit(int(s.id)), F.lit(s.name))])
    return frame.orderBy(ROW).select(
        key, F.col(_SEG).alias(segment), F.element_at(names, F.col(_SEG)).alias(name),
        F.col(_DIST).alias(distance), F.col(_POOR).alias(poor_fit))


def _write(output, target: Path) -> None:
    """Spark writes a temporary folder beside `target`, renamed at the end: a failure leaves nothing."""
    tmp = Path(tempfile.mkdtemp(prefix=".scored-", suffix=".parquet", dir=target.parent))
    try:
        output.write.mode("overwrite").parquet(str(tmp))
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["score_spark", "scored_frame", "SparkCounts"]
