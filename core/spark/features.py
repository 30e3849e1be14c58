"""Feature preparation on Spark: kept rows, fill values, one-hot levels and the scaler.

The Spark spelling of core.segmentation.prepare_features and scale_matrix: the same kept-row rule
(no excluding issue in a chosen feature), the same fill values (median, mean or mode, over the whole
dataset like core.quality.fill_values), the same one-hot levels and the same scaling parameters. The
encoded matrix stays on the cluster as columns c0..c{m-1}; only the scaler's numbers reach the driver.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.models import IDENTIFIER, NUMERIC, ROW, DatasetInfo
from core.segmentation import K_MAX, MAX_CATEGORY_LEVELS
from core.spark.columns import col
from core.spark.validation import CleanDataset


@dataclass
class SparkFeatures:
    """The kept rows' encoded features on Spark (c0..), plus what preparing them did (Run fields)."""

    frame: object  # DataFrame: __row, c0..c{m-1} (filled values in original units; one-hot 0/1)
    encoded: list[str]
    numeric: list[str]
    categorical: list[str]
    onehot: dict[str, tuple[str, str]]
    fill: dict[str, dict]  # every fillable column with missing values -> fill used (whole dataset)
    filled: dict[str, dict]  # Run.filled (counted over the kept rows)
    rows: int
    rows_excluded: int
    excluded_by_rule: dict[str, int]
    distinct: int

    @property
    def names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.encoded))]

    @property
    def numeric_mask(self) -> np.ndarray:
        return np.array([e not in self.onehot for e in self.encoded], dtype=bool)


@dataclass
class Scaler:
    """x_scaled = (f(x) - center) / scale per encoded column, f = log1p(max(x, 0)) on numeric columns
    for the log scale; `mean` is the scaled columns' mean (0 for standard and log)."""

    scale_name: str
    center: list[float]
    scale: list[float]
    log: list[bool]
    mean: list[float] = field(default_factory=list)

    def column(self, i: int):
        from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

        x = F.col(f"c{i}")
        if self.log[i]:
            x = F.log1p(F.greatest(x, F.lit(0.0)))
        return (x - F.lit(self.center[i])) / F.lit(self.scale[i])

    def apply(self, raw: np.ndarray) -> np.ndarray:
        X = np.array(raw, dtype=np.float64, copy=True)
        mask = np.array(self.log, dtype=bool)
        if mask.any():
            X[:, mask] = np.log1p(np.clip(X[:, mask], 0.0, None))
        return (X - np.array(self.center)) / np.array(self.scale)


def fill_map(clean: CleanDataset, info: DatasetInfo, method: str) -> dict[str, dict]:
    """core.quality.fill_values over the Spark dataset: median/mean for numeric, mode (ties
    alphabetical) for categorical columns, for every non-identifier column with missing values."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    cols = [c for c in info.columns if c.role != IDENTIFIER and c.name != info.id_column
            and 0 < clean.missing.get(c.name, 0) < clean.rows_loaded]
    numeric = [c.name for c in cols if c.role == NUMERIC]
    agg = F.median if method == "median" else F.avg
    values = clean.typed.agg(*[agg(col(c)).cast("double") for c in numeric]).first() if numeric else []
    out = {c: {"method": method, "value": float(v), "count": clean.missing[c]} for c, v in zip(numeric, values)}
    for c in cols:
        if c.role == NUMERIC:
            continue
        q = col(c.name).cast("string")
        top = (clean.typed.where(q.isNotNull()).groupBy(q.alias("v")).count()
               .orderBy(F.desc("count"), F.asc("v")).first())
        out[c.name] = {"method": "mode", "value": top["v"], "count": clean.missing[c.name]}
    return {c.name: out[c.name] for c in info.columns if c.name in out}


def filled_column(info: DatasetInfo, name: str, fill: dict[str, dict]):
    """A dataset column with its missing values filled (core.segmentation's `_filled_expr`)."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    q = col(name, info.names())
    if name not in fill:
        return q
    value = fill[name]["value"]
    if info.column(name).role == NUMERIC:
        v = float(value)
        return F.coalesce(q, F.lit(int(v) if v.is_integer() else v))
    return F.coalesce(q.cast("string"), F.lit(str(value)))


def prepare(clean: CleanDataset, info: DatasetInfo, numeric: list[str], categorical: list[str],
            fill: str) -> SparkFeatures:
    """Kept rows, fill, one-hot: the encoded feature columns of every row that is segmented."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    features = numeric + categorical
    for f in features:
        if clean.missing.get(f, 0) >= clean.rows_loaded:
            raise InputError(f"column '{f}' has no values at all; leave it out of the features")
    excluding = clean.issues.where(F.col("excludes") & F.col("column_name").isin(features))
    kept = clean.typed.join(excluding.select(ROW).distinct(), ROW, "left_anti")
    by_rule = (excluding.select(F.concat_ws(":", "rule", "column_name").alias("rc"), ROW).distinct()
               .groupBy("rc").count().orderBy("rc").collect())
    fills = fill_map(clean, info, fill)
    counts = kept.agg(F.count(F.lit(1)), *[F.count(col(c)) for c in fills]).first()
    n = int(counts[0])
    if n == 0:
        raise InputError(
            f"no customers left to segment: all {clean.rows_loaded} rows have invalid values in the chosen "
            "features (see the data-quality report); choose other features"
        )
    filled = {c: {"method": f["method"], "value": _json_value(f["value"]), "count": n - int(present)}
              for (c, f), present in zip(fills.items(), counts[1:]) if n - int(present)}
    exprs = [filled_column(info, c, fills).cast("double") for c in numeric]
    encoded, onehot = list(numeric), {}
    for c in categorical:
        v = filled_column(info, c, fills).cast("string")
        levels = [r[0] for r in kept.select(v.alias("l")).distinct().orderBy("l").limit(MAX_CATEGORY_LEVELS + 1).collect()]
        if len(levels) > MAX_CATEGORY_LEVELS:
            raise InputError(
                f"column '{c}' has more than {MAX_CATEGORY_LEVELS} different values; one-hot encoding "
                "allows at most that many, so leave it out of the features or group its values first"
            )
        for level in levels:
            onehot[f"{c}={level}"] = (c, level)
            encoded.append(f"{c}={level}")
            exprs.append((v == F.lit(level)).cast("double"))
    frame = kept.select(F.col(ROW), *[e.alias(f"c{i}") for i, e in enumerate(exprs)]).cache()
    distinct = frame.drop(ROW).distinct().limit(K_MAX + 1).count()
    return SparkFeatures(frame, encoded, numeric, categorical, onehot, fills, filled, n,
                         clean.rows_loaded - n, {r[0]: int(r[1]) for r in by_rule}, distinct)


def fit_scaler(data: SparkFeatures, scale: str) -> Scaler:
    """The scaling parameters core.segmentation.scale_matrix would use, from one Spark aggregate."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    m = len(data.encoded)
    log = [bool(scale == "log" and data.numeric_mask[i]) for i in range(m)]
    if scale == "auto":
        log = _skewed(data)
    if scale == "none":
        return Scaler(scale, [0.0] * m, [1.0] * m, log, _means(data, [0.0] * m, [1.0] * m, log))
    xs = [F.log1p(F.greatest(F.col(f"c{i}"), F.lit(0.0))) if log[i] else F.col(f"c{i}") for i in range(m)]
    if scale == "minmax":
        row = data.frame.agg(*[F.min(x) for x in xs], *[F.max(x) for x in xs]).first()
        lo, hi = [float(v) for v in row[:m]], [float(v) for v in row[m:]]
        span = [h - l if h > l else 1.0 for l, h in zip(lo, hi)]
        return Scaler(scale, lo, span, log, _means(data, lo, span, log))
    row = data.frame.agg(*[F.avg(x) for x in xs], *[F.stddev_pop(x) for x in xs]).first()
    mean, std = [float(v) for v in row[:m]], [float(v or 0.0) for v in row[m:]]
    std = [s if s > 1e-12 * max(1.0, abs(mu)) else 1.0 for mu, s in zip(mean, std)]
    return Scaler(scale, mean, std, log, [0.0] * m)


def _skewed(data: SparkFeatures) -> list[bool]:
    """core.kmeans.skewed_features in one Spark aggregate: numeric columns with min >= 0 and (population)
    skewness above core.kmeans.SKEW_LOG get log1p; one-hot columns never do."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    from core.kmeans import SKEW_LOG  # loaded with the Spark engine only

    cols = [i for i in range(len(data.encoded)) if data.numeric_mask[i]]
    if not cols:
        return [False] * len(data.encoded)
    aggs = []
    for i in cols:
        c = F.col(f"c{i}")
        aggs += [F.min(c), F.avg(c), F.stddev_pop(c), F.skewness(c), F.count(c)]
    row = data.frame.agg(*aggs).first()
    out = [False] * len(data.encoded)
    for n, i in enumerate(cols):
        lo, mean, sd, skew, count = row[5 * n: 5 * n + 5]
        if count is None or count < 3 or lo is None or lo < 0 or not sd or skew is None:
            continue
        if sd <= 1e-12 * max(1.0, abs(mean)):
            continue
        out[i] = float(skew) > SKEW_LOG
    return out


def _means(data: SparkFeatures, center: list[float], scale: list[float], log: list[bool]) -> list[float]:
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    s = Scaler("", center, scale, log)
    row = data.frame.agg(*[F.avg(s.column(i)) for i in range(len(center))]).first()
    return [float(v) for v in row]


def _json_value(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
