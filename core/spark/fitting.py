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
  input came in three Parquet parts: its sampling depends on the partitioning.) Segments are matched
  by size (ids 1..k, 1 = largest, ties by centroid, like core.segmentation.relabel_by_size).
- PCA (more than two encoded features): pyspark.ml PCA for the components, signs fixed the way
  scikit-learn fixes them (largest |loading| positive), rows projected after centring.
- Names and actions: core.profiling from per-segment means that Spark aggregates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.models import ROW, SEGMENT, X, Y, ElbowPoint, Segment
from core.profiling import name_segments, suggest_action
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
from core.spark.features import Scaler, SparkFeatures

MAX_ITER = 100
TOL = 1e-6  # centroid movement in the scaled space at which MLlib stops


@dataclass
class Sweep:
    points: list[ElbowPoint]
    suggested: int
    sample_raw: np.ndarray  # rows on the driver (original units), for the silhouette
    sampled: bool
    centers: dict[int, np.ndarray]  # k -> the sweep's scikit-learn centroids (scaled space)


@dataclass
class Fit:
    """The final model and its segments; `assigned` holds __row, __segment, __x, __y on Spark."""

    k: int
    centers: np.ndarray  # k x m, scaled space, in segment-id order (row i = segment i + 1)
    inertia: float
    silhouette: float | None
    assigned: object
    x_label: str
    y_label: str
    explained_variance: list[float] | None


def sample_sweep(data: SparkFeatures, scaler: Scaler, seed: int) -> Sweep:
    """Collect every row (<= SWEEP_MAX_ROWS) or a fixed hash sample, and sweep k on the driver."""
    from pyspark.sql import functions as F

    frame = data.frame
    sampled = data.rows > SWEEP_MAX_ROWS
    if sampled:
        frame = frame.orderBy(F.xxhash64(F.col(ROW), F.lit(seed)), ROW).limit(SWEEP_SAMPLE_ROWS)
    rows = frame.orderBy(ROW).select(*data.names).collect()
    raw = np.array([list(r) for r in rows], dtype=np.float64).reshape(len(rows), len(data.names))
    with numeric_threads():
        sweep = _sweep(scaler.apply(raw), K_MAX, seed)
    centers = {k: np.asarray(m.cluster_centers_, dtype=np.float64) for k, m in sweep.models.items()}
    return Sweep(sweep.points, suggest_k(sweep.points), raw, sampled, centers)


def final_fit(data: SparkFeatures, scaler: Scaler, sweep: Sweep, k: int, seed: int) -> Fit:
    """MLlib K-Means (k-means||) on every row; the sweep's scikit-learn centroids for k compete with
    it and the centroids with the lower inertia over every row win (up to SWEEP_MAX_ROWS rows those
    are the DuckDB engine's own fit). Segments 1..k by size, then 2-D coordinates."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F

    m = len(data.encoded)
    scaled = data.frame.select(F.col(ROW), *[F.col(f"c{i}") for i in range(m)],
                               *[scaler.column(i).alias(f"s{i}") for i in range(m)])
    vec = VectorAssembler(inputCols=[f"s{i}" for i in range(m)], outputCol="features").transform(scaled).cache()
    model = KMeans(k=k, seed=seed, initMode="k-means||", maxIter=MAX_ITER, tol=TOL,
                   featuresCol="features", predictionCol="__pred").fit(vec)
    candidates = [np.array([np.asarray(c, dtype=np.float64) for c in model.clusterCenters()])]
    if k in sweep.centers and len(sweep.centers[k]) == k:
        candidates.append(sweep.centers[k])
    best = None
    for centers in candidates:
        label, dist = _nearest(centers, m)
        stats = {int(r[0]): (int(r[1]), float(r[2])) for r in
                 vec.groupBy(label.alias("__pred")).agg(F.count(F.lit(1)), F.sum(dist)).collect()}
        cost = sum(c for _, c in stats.values())
        if best is None or cost < best[0] * (1 - 1e-9):
            best = (cost, centers, label, [stats.get(j, (0, 0.0))[0] for j in range(k)])
    cost, centers, label, sizes = best
    order = sorted(range(k), key=lambda j: (-int(sizes[j]), tuple(np.round(centers[j], 12))))
    segment_of = {j: rank + 1 for rank, j in enumerate(order)}
    mapping = F.create_map(*[F.lit(v) for j in range(k) for v in (j, segment_of[j])])
    assigned = vec.withColumn(SEGMENT, mapping[label].cast("int"))
    x, y, x_label, y_label, ratios = _coordinates(assigned, data, scaler, seed)
    assigned = assigned.select(ROW, SEGMENT, x.alias(X), y.alias(Y),
                               *[F.col(f"c{i}") for i in range(m)], *[F.col(f"s{i}") for i in range(m)])
    ordered = centers[order]
    return Fit(k, ordered, cost, _silhouette(sweep, scaler, ordered, seed), assigned, x_label, y_label, ratios)


def _nearest(centers: np.ndarray, m: int):
    """(index of the nearest centre, squared distance to it) as Spark columns; ties go to the first
    centre, as in scikit-learn and MLlib."""
    from pyspark.sql import functions as F

    dists = [sum((F.col(f"s{i}") - float(c[i])) ** 2 for i in range(m)) for c in centers]
    if len(dists) == 1:
        return F.lit(0), dists[0]
    best = F.least(*dists)
    label = F.coalesce(*[F.when(d == best, F.lit(j)) for j, d in enumerate(dists)])
    return label, best


def _silhouette(sweep: Sweep, scaler: Scaler, centers: np.ndarray, seed: int) -> float | None:
    """The silhouette of the final segments on (at most SILHOUETTE_SAMPLE of) the sweep's rows."""
    X_s = scaler.apply(sweep.sample_raw)
    idx = _sample_index(len(X_s), SILHOUETTE_SAMPLE, seed + 1)
    if idx is not None:
        X_s = X_s[idx]
    labels = ((X_s[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    with numeric_threads():
        return silhouettes(X_s, [labels])[0]


def _coordinates(assigned, data: SparkFeatures, scaler: Scaler, seed: int):
    """(x, y, x_label, y_label, explained variance) like core.segmentation.project_2d."""
    from pyspark.ml.feature import PCA
    from pyspark.sql import functions as F

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


def segments(fit: Fit, data: SparkFeatures) -> list[Segment]:
    """Size, share, centroid in original units, scatter centre, name and action per segment; names
    and actions from core.profiling on the scaled means, as the DuckDB engine does."""
    from pyspark.sql import functions as F

    m = len(data.encoded)
    frame = fit.assigned
    per = {int(r[0]): r for r in frame.groupBy(SEGMENT).agg(
        F.count(F.lit(1)), F.avg(X), F.avg(Y), *[F.avg(f"c{i}") for i in range(m)],
        *[F.avg(f"s{i}") for i in range(m)]).collect()}
    base = frame.agg(*[F.avg(f"s{i}") for i in range(m)], *[F.stddev_pop(f"s{i}") for i in range(m)]).first()
    base_mean = np.array([float(v) for v in base[:m]])
    base_std = np.array([float(v or 0.0) for v in base[m:]])
    seg_means = np.array([[float(per[s][4 + m + i]) if s in per else base_mean[i] for i in range(m)]
                          for s in range(1, fit.k + 1)])
    names = name_segments(seg_means, base_mean, base_std, data.encoded, onehot=data.onehot)
    out = []
    for s in range(1, fit.k + 1):
        r = per.get(s)
        z = {f: (0.0 if base_std[j] <= 1e-12 else float((seg_means[s - 1, j] - base_mean[j]) / base_std[j]))
             for j, f in enumerate(data.encoded)}
        size = int(r[1]) if r else 0
        out.append(Segment(
            id=s, name=names[s - 1], action=suggest_action(z, onehot=data.onehot), size=size,
            share=size / max(1, data.rows),
            centroid={} if r is None else {e: float(r[4 + i]) for i, e in enumerate(data.encoded)},
            xy=None if r is None else [float(r[2]), float(r[3])],
        ))
    return out
