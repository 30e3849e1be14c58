"""Outlier group and explanations of a Spark run: the row-wise parts in Spark, the rest with core's functions.

- Partition (core.kmeans.partition, docs/EXPLAIN.md): distances to the nearest centroid, the outlier
  threshold from their distribution (median, MAD, 99% quantile), the refit without the extreme
  customers (Lloyd iterations, one Spark aggregate each) and the cluster sizes are computed by Spark;
  `core.kmeans.label_clusters` turns the sizes into segment ids. When the driver sample holds every row
  (<= SWEEP_MAX_ROWS) core.kmeans.partition itself runs on it instead: the DuckDB engine's result exactly.
  Above, the quantiles are Spark's percentile_approx (relative error 1/ACCURACY).
- Drivers, rules, per-segment stability: core.explain / core.stability on the driver sample, labelled
  with core.kmeans.assign. Names and actions: core.profiling.describe_segments on the segment means that
  Spark aggregates over every row. Rule precision and recall: core.explain.rule_scores on the registered
  run table (core/spark/publish.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.explain import Rule, segment_drivers, segment_rules
from core.kmeans import OUTLIER_MADS, OUTLIER_QUANTILE, Partition, assign, label_clusters, partition
from core.models import SEGMENT, X, Y, Segment
from core.profiling import describe_segments
from core.segmentation import numeric_threads
from core.stability import cluster_stability

ACCURACY = 100_000  # percentile_approx accuracy: relative error 1e-5 of the rank
REFIT_ITER = 50  # Lloyd iterations at most for the refit without the extreme customers
REFIT_TOL = 1e-10  # squared centroid movement at which the refit stops


@dataclass
class _Model:
    """What core.kmeans.partition reads of a fitted scikit-learn K-Means."""

    cluster_centers_: np.ndarray
    inertia_: float


def nearest(centers: np.ndarray, m: int):
    """(index of the nearest centre, squared distance to it) as Spark columns over s0..s{m-1};
    ties go to the first centre, as in core.kmeans.nearest_centroid."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    dists = [sum((F.col(f"s{i}") - float(c[i])) ** 2 for i in range(m)) for c in centers]
    if len(dists) == 1:
        return F.lit(0), dists[0]
    best = F.least(*dists)
    label = F.coalesce(*[F.when(d == best, F.lit(j)) for j, d in enumerate(dists)])
    return label, best


def spark_partition(vec, centers: np.ndarray, inertia: float, m: int, rows: int, sample_X: np.ndarray | None,
                    seed: int) -> Partition:
    """core.kmeans.partition for the rows of `vec` (columns s0..s{m-1}, the fitted space).
    `sample_X`: every row in __row order when the driver holds them all, else None."""
    if sample_X is not None and len(sample_X) == rows:
        with numeric_threads():
            return partition(sample_X, _Model(np.asarray(centers, np.float64), inertia), seed)
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    C = np.asarray(centers, dtype=np.float64)
    _, d2 = nearest(C, m)
    dist = F.sqrt(d2)
    thr = _threshold(vec, dist)
    n_far = vec.where(dist > thr).count()
    if n_far and rows - n_far >= len(C):
        C = _refit(vec.where(dist <= thr), C, m)
    label, d2 = nearest(C, m)
    dist = F.sqrt(d2)
    stats = {int(r[0]): (int(r[1]), float(r[2] or 0.0)) for r in
             vec.where(dist <= thr).groupBy(label.alias("__c")).agg(F.count(F.lit(1)), F.sum(d2)).collect()}
    sizes = np.array([stats.get(j, (0, 0.0))[0] for j in range(len(C))])
    seg, k, small = label_clusters(C, sizes, rows)
    if not (n_far or small.any()):
        return Partition(C, seg, k, None, inertia)
    member = sum(stats.get(j, (0, 0.0))[1] for j in range(len(C)) if not small[j])
    return Partition(C, seg, k, thr, float(member))


def _threshold(vec, dist) -> float:
    """core.kmeans.outlier_threshold from Spark's approximate quantiles of the distances."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    med, q = vec.agg(F.percentile_approx(dist, 0.5, ACCURACY),
                     F.percentile_approx(dist, OUTLIER_QUANTILE, ACCURACY)).first()
    mad = vec.agg(F.percentile_approx(F.abs(dist - float(med)), 0.5, ACCURACY)).first()[0]
    return max(float(med) + OUTLIER_MADS * 1.4826 * float(mad), float(q))


def _refit(rows, C: np.ndarray, m: int) -> np.ndarray:
    """Lloyd's K-Means started from C (scikit-learn's n_init=1, init=C): one Spark aggregate per step;
    an empty cluster keeps its centre."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    for _ in range(REFIT_ITER):
        label, _ = nearest(C, m)
        means = rows.groupBy(label.alias("__c")).agg(*[F.avg(f"s{i}") for i in range(m)]).collect()
        new = C.copy()
        for r in means:
            new[int(r[0])] = [float(v) for v in r[1:]]
        moved = float(((new - C) ** 2).sum())
        C = new
        if moved <= REFIT_TOL:
            break
    return C


def segment_column(part: Partition, m: int):
    """core.kmeans.assign as a Spark column: the segment id of every row."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    label, d2 = nearest(np.asarray(part.centroids_scaled), m)
    mapping = F.create_map(*[F.lit(v) for j, s in enumerate(part.centroid_segments) for v in (j, s)])
    seg = mapping[label]
    if part.outlier_threshold is not None:
        seg = F.when(F.sqrt(d2) > part.outlier_threshold, F.lit(part.k + 1)).otherwise(seg)
    return seg.cast("int")


@dataclass
class Explained:
    segments: list[Segment]
    rules: dict[int, Rule]


def explain(assigned, part: Partition, sample_raw: np.ndarray, sample_X: np.ndarray, encoded: list[str],
            onehot: dict, rows: int, seed: int) -> Explained:
    """Segments (ids 1..k, the outlier group k + 1 last) with size, centroid, drivers, stability, names
    and actions; and the rules, scored later on the registered run table."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    m, k = len(encoded), part.k
    labels, _ = assign(sample_X, part)
    with numeric_threads():
        drivers = segment_drivers(sample_X, sample_raw, labels, encoded, onehot)
        rules = segment_rules(sample_raw, labels, encoded, onehot, seed)
        per = cluster_stability(sample_X, labels, len(part.centroids_scaled), seed)
    stability = {i: v for i, v in per.items() if i <= k}
    per_seg = {int(r[0]): r for r in assigned.groupBy(SEGMENT).agg(
        F.count(F.lit(1)), F.avg(X), F.avg(Y), *[F.avg(f"c{i}") for i in range(m)],
        *[F.avg(f"s{i}") for i in range(m)]).collect()}
    base = assigned.agg(*[F.avg(f"s{i}") for i in range(m)], *[F.stddev_pop(f"s{i}") for i in range(m)]).first()
    base_mean = np.array([float(v) for v in base[:m]])
    base_std = np.array([float(v or 0.0) for v in base[m:]])
    seg_means = np.array([[float(per_seg[s][4 + m + i]) if s in per_seg else 0.0 for i in range(m)]
                          for s in range(1, k + 1)]).reshape(k, m)
    names, actions = describe_segments(seg_means, base_mean, base_std, encoded, onehot=onehot,
                                       drivers=drivers, outliers=part.has_outliers)
    ids = list(range(1, k + 1)) + ([k + 1] if part.has_outliers else [])
    out = []
    for s, name, action in zip(ids, names, actions):
        r = per_seg.get(s)
        size = int(r[1]) if r else 0
        out.append(Segment(
            id=s, name=name, action=action, size=size, share=size / max(1, rows),
            centroid={} if r is None else {e: float(r[4 + i]) for i, e in enumerate(encoded) if r[4 + i] is not None},
            xy=None if r is None else [float(r[2]), float(r[3])],
            drivers=drivers.get(s, []), stability=stability.get(s), outlier_group=s > k,
        ))
    return Explained(out, rules)
