"""Sweep, fit and projection on Spark: the sample sweep on the driver, MLlib K-Means, PCA, profiles.

- The k sweep (inertia, silhouette, Calinski-Harabasz for k = 1..10) runs with scikit-learn on rows
  collected to the driver, exactly like the DuckDB engine: every row up to SWEEP_MAX_ROWS (50,000),
  else SWEEP_SAMPLE_ROWS (20,000) rows with the smallest hash of (__row, seed): a fixed sample that
  needs no global order. `core.segmentation.suggest_k` picks k.
- The final fit is MLlib K-Means on every row (initMode k-means||, fixed seed). pyspark.ml's KMeans
  takes no initial model, so it cannot start from the sample's centroids as the DuckDB engine does.
  Instead the sweep's scikit-learn centroids for k compete with MLlib's: both are scored on every
  row in one Spark pass each and the lower inertia wins. Up to 50,000 rows the sweep's model IS the
  DuckDB engine's final model, so small inputs match it exactly; above, MLlib's full-data fit
  usually wins. (k-means|| alone, seeded, landed one Mall customer off the best partition when the
  input came in three Parquet parts: its sampling depends on the partitioning.) The outlier group and
  segment ids 1..k by size come from core/spark/explaining.py (core.kmeans.partition's rules).
- PCA (more than two encoded features): pyspark.ml PCA for the components, signs fixed the way
  scikit-learn fixes them (largest |loading| positive), rows projected after centring.
- Names, actions, drivers, rules, stability: core/spark/explaining.py. The sweep also computes
  core.stability.stability_by_k on its sample, so suggest_k and k_reason use stability as in DuckDB.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.models import ROW, SEGMENT, X, Y, ElbowPoint
from core.segmentation import (
    K_MAX,
    SILHOUETTE_SAMPLE,
    SWEEP_MAX_ROWS,
    SWEEP_SAMPLE_ROWS,
    _sample_index,
    _sweep,
    numeric_threads,
    silhouettes,
    suggest_k,
)
from core.spark.explaining import Explained, explain, nearest, segment_column, spark_partition
from core.spark.features import Scaler, SparkFeatures
from core.stability import stability_by_k
from core.kmeans import Partition, assign

MAX_ITER = 100
TOL = 1e-6  # centroid movement in the scaled space at which MLlib stops


@dataclass
class Sweep:
    points: list[ElbowPoint]
    suggested: int
    sample_raw: np.ndarray  # rows on the driver (original units), for the silhouette
    sampled: bool
    centers: dict[int, np.ndarray]  # k -> the sweep's scikit-learn centroids (scaled space)
    sample_X: np.ndarray  # the same rows in the fitted space
    stability_by_k: dict[str, float]  # core.stability.stability_by_k on the sample


@dataclass
class Fit:
    """The final model and its segments; `assigned` holds __row, __segment, __x, __y on Spark."""

    k_fit: int  # clusters fitted (k asked); part.k regular segments remain
    part: Partition  # centroids, their segment ids, outlier threshold (core.kmeans.partition)
    inertia: float
    silhouette: float | None
    assigned: object
    x_label: str
    y_label: str
    explained_variance: list[float] | None


def sample_sweep(data: SparkFeatures, scaler: Scaler, seed: int) -> Sweep:
    """Collect every row (<= SWEEP_MAX_ROWS) or a fixed hash sample, and sweep k on the driver."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    frame = data.frame
    sampled = data.rows > SWEEP_MAX_ROWS
    if sampled:
        frame = frame.orderBy(F.xxhash64(F.col(ROW), F.lit(seed)), ROW).limit(SWEEP_SAMPLE_ROWS)
    rows = frame.orderBy(ROW).select(*data.names).collect()
    raw = np.array([list(r) for r in rows], dtype=np.float64).reshape(len(rows), len(data.names))
    X_s = scaler.apply(raw)
    with numeric_threads():
        sweep = _sweep(X_s, K_MAX, seed)
        centers = {k: np.asarray(m.cluster_centers_, dtype=np.float64) for k, m in sweep.models.items()}
        stab = stability_by_k(X_s, centers, seed)
    return Sweep(sweep.points, suggest_k(sweep.points, stab), raw, sampled, centers, X_s, stab)


def final_fit(data: SparkFeatures, scaler: Scaler, sweep: Sweep, k: int, seed: int) -> Fit:
    """MLlib K-Means (k-means||) on every row; the sweep's scikit-learn centroids for k compete with
    it and the centroids with the lower inertia over every row win (up to SWEEP_MAX_ROWS rows those
    are the DuckDB engine's own fit). Segments 1..k by size, then 2-D coordinates."""
    from pyspark.ml.clustering import KMeans  # pyspark is an optional extra: loaded only when a Spark run starts
    # pyspark is an optional extra: loaded only when a Spark run starts
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    m = len(data.encoded)
    scaled = data.frame.select(F.col(ROW), *[F.col(f"c{i}") for i in range(m)],
                               *[scaler.column(i).alias(f"s{i}") for i in range(m)])
    vec = VectorAssembler(inputCols=[f"s{i}" for i in range(m)], outputCol="features").transform(scaled).cache()
    model = KMeans(k=k, seed=seed, initMode="k-means||", maxIter=MAX_ITER, tol=TOL,
                   featuresCol="features", predictionCol="__pred").fit(vec)
    data.frame.unpersist()  # `vec` (cached, filled by the fit) holds every column read from here on
    candidates = [np.array([np.asarray(c, dtype=np.float64) for c in model.clusterCenters()])]
    if k in sweep.centers and len(sweep.centers[k]) == k:
        candidates.append(sweep.centers[k])
    costs = vec.agg(*[F.sum(nearest(c, m)[1]) for c in candidates]).first()  # every candidate, one pass
    best = None
    for centers, cost in zip(candidates, costs):
        cost = float(cost or 0.0)
        if best is None or cost < best[0] * (1 - 1e-9):
            best = (cost, centers)
    cost, centers = best
    full = sweep.sample_X if not sweep.sampled else None
    part = spark_partition(vec, centers, cost, m, data.rows, full, seed)
    assigned = vec.withColumn(SEGMENT, segment_column(part, m))
    x, y, x_label, y_label, ratios = _coordinates(assigned, data, scaler, seed)
    assigned = assigned.select(ROW, SEGMENT, x.alias(X), y.alias(Y),
                               *[F.col(f"c{i}") for i in range(m)], *[F.col(f"s{i}") for i in range(m)])
    return Fit(k, part, part.inertia, _silhouette(sweep, part, seed), assigned, x_label, y_label, ratios)


def _silhouette(sweep: Sweep, part: Partition, seed: int) -> float | None:
    """The silhouette of the final segments (core.kmeans.assign, the outlier group included, as the
    DuckDB engine) on (at most SILHOUETTE_SAMPLE of) the sweep's rows."""
    X_s = sweep.sample_X
    idx = _sample_index(len(X_s), SILHOUETTE_SAMPLE, seed + 1)
    if idx is not None:
        X_s = X_s[idx]
    labels, _ = assign(X_s, part)
    with numeric_threads():
        return silhouettes(X_s, [labels])[0]


def _coordinates(assigned, data: SparkFeatures, scaler: Scaler, seed: int):
    """(x, y, x_label, y_label, explained variance) like core.segmentation.project_2d."""
    from pyspark.ml.feature import PCA  # pyspark is an optional extra: loaded only when a Spark run starts
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    m = len(data.encoded)
    if m == 1:
        return F.col("c0"), F.lit(0.0), data.encoded[0], "", None
    if m == 2:
        return F.col("c0"), F.col("c1"), data.encoded[0], data.encoded[1], None
    pca = PCA(k=2, inputCol="features", outputCol="__pca").fit(assigned)
    pc = np.array(pca.pc.toArray(), copy=True)  # m x 2
    for j in range(2):  # scikit-learn's sign convention: the largest |loading| is positive
        if pc[np.argmax(np.abs(pc[:, j])), j] < 0:
            pc[:, j] = -pc[:, j]
    ratios = [float(r) for r in pca.explainedVariance.toArray()[:2]]
    mean = np.array(scaler.mean)
    coords = [sum((F.col(f"s{i}") - float(mean[i])) * float(pc[i, j]) for i in range(m)) for j in range(2)]
    labels = [f"PC{j + 1} ({r * 100:.1f}% of variance)" for j, r in enumerate(ratios)]
    return coords[0], coords[1], labels[0], labels[1], ratios


def segments(fit: Fit, data: SparkFeatures, sweep: Sweep, seed: int) -> Explained:
    """Segments with their explanations (core/spark/explaining.py)."""
    return explain(fit.assigned, fit.part, sweep.sample_raw, sweep.sample_X, data.encoded, data.onehot,
                   data.rows, seed)
