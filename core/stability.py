"""Stability of segments: how well refits on subsamples find the same clusters again (issue 9 section 3).

Per cluster, the stability is the mean over REFITS refits of the best Jaccard index between the cluster
(its members in the subsample) and any cluster of the refit (Hennig's clusterboot idea, with subsamples
instead of bootstrap samples so no customer is counted twice). Each refit is a K-Means with the same k
on a random SUBSAMPLE share of a fixed-seed pool of at most POOL_ROWS customers, so the cost does not
grow with the table: REFITS small fits per k, a few seconds at 1,000,000 customers for k = 2..10.
Per k, the stability is the unweighted mean over its clusters (a small cluster that falls apart counts
as much as a large one: that is what makes a k untrustworthy).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.kmeans import K_MIN, _fit, _kmeans, _sample_index, nearest_centroid

POOL_ROWS = 4_000  # customers the refits draw from (a fixed-seed sample of the clustered ones)
SUBSAMPLE = 0.8  # share of the pool each refit sees
REFITS = 10
REFIT_N_INIT = 3  # k-means++ starts per refit: enough to avoid most bad local minima, still cheap


def _pool(n: int, seed: int) -> np.ndarray:
    idx = _sample_index(n, POOL_ROWS, seed + 7)
    return np.arange(n) if idx is None else idx


def best_jaccard(ref: np.ndarray, new: np.ndarray) -> dict[int, float]:
    """Per label of `ref`: the highest Jaccard index |A & B| / |A | B| with any cluster B of `new`."""
    ref_ids, r = np.unique(ref, return_inverse=True)
    new_ids, c = np.unique(new, return_inverse=True)
    cont = np.zeros((len(ref_ids), len(new_ids)), dtype=np.float64)
    np.add.at(cont, (r, c), 1.0)
    union = cont.sum(axis=1)[:, None] + cont.sum(axis=0)[None, :] - cont
    jac = np.where(union > 0, cont / np.maximum(union, 1.0), 0.0)
    return {int(i): float(v) for i, v in zip(ref_ids, jac.max(axis=1))}


def cluster_stability(X: np.ndarray, labels: np.ndarray, k_fit: int, seed: int = 42,
                      refits: int = REFITS) -> dict[int, float]:
    """Mean best Jaccard per label of `labels` (a partition of X) over `refits` K-Means refits with
    k_fit clusters on subsamples of the pool. A label absent from a subsample is skipped for that refit."""
    X = np.asarray(X, dtype=np.float64)
    pool = _pool(len(X), seed)
    return _on_pool(X[pool], np.asarray(labels)[pool], k_fit, seed, refits)


def _on_pool(Xp: np.ndarray, lp: np.ndarray, k_fit: int, seed: int, refits: int) -> dict[int, float]:
    pool = np.arange(len(Xp))
    size = max(k_fit + 1, int(round(SUBSAMPLE * len(pool))))
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    rng = np.random.default_rng(seed + 11)
    for b in range(refits):
        sub = np.sort(rng.choice(len(pool), size=min(size, len(pool)), replace=False))
        if len(np.unique(Xp[sub], axis=0)) < k_fit:
            continue
        refit = _fit(_kmeans(k_fit, seed + 101 + b, REFIT_N_INIT), Xp[sub])
        for lab, j in best_jaccard(lp[sub], refit.labels_).items():
            sums[lab] = sums.get(lab, 0.0) + j
            counts[lab] = counts.get(lab, 0) + 1
    return {lab: sums[lab] / counts[lab] for lab in sums}


def stability_by_k(X: np.ndarray, centroids_by_k: Mapping[int, np.ndarray], seed: int = 42,
                   refits: int = REFITS) -> dict[str, float]:
    """{str(k): mean stability of its clusters} for every k >= 2 with fitted centroids (the sweep's);
    the reference partition is the nearest centroid of each pool customer."""
    X = np.asarray(X, dtype=np.float64)
    pool = _pool(len(X), seed)
    out: dict[str, float] = {}
    for k, C in sorted(centroids_by_k.items()):
        if k < K_MIN:
            continue
        ref, _ = nearest_centroid(X[pool], C)
        per = _on_pool(X[pool], ref, k, seed, refits)
        if per:
            out[str(k)] = float(np.mean(list(per.values())))
    return out
