"""K-Means mechanics of a run: scaling (with the "auto" per-feature transforms), the elbow sweep and
suggested k, the final fit, the outlier group and `assign`, the one rule that maps rows to segment ids.

Scale: up to SWEEP_MAX_ROWS rows everything runs on all rows. Above, the sweep runs on a fixed-seed
sample of SWEEP_SAMPLE_ROWS rows and the final fit uses every row, started from the centroids found on
the sample (n_init=1). The silhouette is always computed on at most SILHOUETTE_SAMPLE rows.
"""
from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from core.errors import InputError
from core.models import ElbowPoint, Run

# scikit-learn is imported inside the functions that fit: scoring (Scaler, nearest_centroid) and the
# CLI (SCALES) use this module too and must not pay its import (about 1 s of CPU) on every command.
if TYPE_CHECKING:
    from sklearn.cluster import KMeans

SCALES = ("auto", "standard", "minmax", "none", "log")  # the one home of the scale list
K_MIN, K_MAX = 2, 10
SILHOUETTE_SAMPLE = 10_000  # rows the silhouette is computed on (it is quadratic in rows)
SWEEP_MAX_ROWS = 50_000  # above this the sweep runs on a sample
SWEEP_SAMPLE_ROWS = 20_000
N_INIT = 10  # k-means++ starts per sweep fit (the sweep never sees more than SWEEP_MAX_ROWS rows)
# Threads for numpy/BLAS/OpenMP inside a run. One: the matrices are small (a sweep sees at most 50,000
# rows), so thread start-up dominates, and on a shared machine oversubscribed BLAS threads made the
# sweep 10-20x slower (measured: 4.2 s vs 0.2 s for k=1..10 on 20,000 rows). The app serves several
# requests at once anyway.
NUMERIC_THREADS = 1
_threads_lock = threading.Lock()
_threads_users = 0
_threads_limiter: threadpool_limits | None = None

ProgressFn = Callable[[str, float], None]


@contextmanager
def numeric_threads() -> Iterator[None]:
    """Limit numpy/BLAS/OpenMP to NUMERIC_THREADS while any run is computing. The limit is process-wide,
    so it is counted: the first run in sets it, the last one out restores the previous setting (two
    overlapping runs in the app's threads must not restore each other's limits in the wrong order)."""
    global _threads_users, _threads_limiter
    with _threads_lock:
        if _threads_users == 0:
            _threads_limiter = threadpool_limits(NUMERIC_THREADS)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0 and _threads_limiter is not None:
                _threads_limiter.restore_original_limits()
                _threads_limiter = None


# -- scaling ------------------------------------------------------------------------------------
SKEW_LOG = 1.0  # "auto": a non-negative numeric feature with sample skewness above this gets log1p


@dataclass
class Scaler:
    """How raw values (original units, one-hot 0/1) become the matrix K-Means sees:
    x -> (t(x) - center) / scale per encoded feature, t = log1p(max(x, 0)) where transforms says
    "log1p", else the identity. Stored with the run (Run.transforms, Run.scaler) so a saved model can
    reproduce the scaling exactly."""

    transforms: list[str]  # per encoded feature: "log1p" | "none"
    center: np.ndarray
    scale: np.ndarray

    def apply(self, raw: np.ndarray) -> np.ndarray:
        X = np.array(raw, dtype=np.float64, copy=True)
        if X.ndim != 2:
            raise ValueError("expected a 2-D matrix")
        logged = np.array([t == "log1p" for t in self.transforms], dtype=bool)
        if logged.any():
            X[:, logged] = np.log1p(np.clip(X[:, logged], 0.0, None))
        return (X - self.center) / self.scale

    def to_dict(self) -> dict:
        return {"center": [float(v) for v in self.center], "scale": [float(v) for v in self.scale]}


def skewed_features(raw: np.ndarray, numeric_mask: np.ndarray) -> np.ndarray:
    """The "auto" rule: numeric columns with min >= 0 and sample skewness > SKEW_LOG (strongly
    right-skewed amounts and counts) get log1p; a column with a negative value never does (log1p would
    be undefined or fold it), one-hot columns never do."""
    X = np.asarray(raw, dtype=np.float64)
    out = np.zeros(X.shape[1], dtype=bool)
    for j in np.flatnonzero(numeric_mask):
        col = X[:, j]
        if len(col) < 3 or col.min() < 0:
            continue
        sd = col.std()
        if sd <= 1e-12 * max(1.0, abs(col.mean())):
            continue
        skew = float(np.mean(((col - col.mean()) / sd) ** 3))
        out[j] = skew > SKEW_LOG
    return out


def fit_scaler(raw: np.ndarray, scale: str = "standard", numeric_mask: np.ndarray | None = None) -> Scaler:
    """standard: (x - mean) / std per column (population std; a constant column stays 0);
    minmax: (x - min) / (max - min) into 0..1; none: unchanged;
    log: log1p of the values clipped at 0 (numeric columns only; one-hot columns stay 0/1), then standard;
    auto (default): log1p only for the skewed, non-negative numeric columns (skewed_features), then
    standard. The log suits skewed amounts such as spend per category, balances or monetary value."""
    if scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)} (got {scale!r})")
    X = np.array(raw, dtype=np.float64, copy=True)
    if X.ndim != 2:
        raise ValueError("expected a 2-D matrix")
    m = X.shape[1]
    mask = np.ones(m, dtype=bool) if numeric_mask is None else np.asarray(numeric_mask, bool)
    logged = np.zeros(m, dtype=bool)
    if scale == "log":
        logged = mask.copy()
    elif scale == "auto":
        logged = skewed_features(X, mask)
    transforms = ["log1p" if b else "none" for b in logged]
    if scale == "none":
        return Scaler(transforms, np.zeros(m), np.ones(m))
    if scale == "minmax":
        lo, hi = X.min(axis=0), X.max(axis=0)
        return Scaler(transforms, lo, np.where(hi > lo, hi - lo, 1.0))
    if logged.any():
        X[:, logged] = np.log1p(np.clip(X[:, logged], 0.0, None))
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return Scaler(transforms, mean, std)


def scale_matrix(raw: np.ndarray, scale: str = "standard", numeric_mask: np.ndarray | None = None) -> np.ndarray:
    """The matrix K-Means sees (fit_scaler(...).apply(raw))."""
    return fit_scaler(raw, scale, numeric_mask).apply(raw)


# -- elbow sweep and suggested k ----------------------------------------------------------------
def _kmeans(k: int, seed: int, n_init: int, init="k-means++") -> KMeans:
    from sklearn.cluster import KMeans  # deferred: see the TYPE_CHECKING import

    return KMeans(n_clusters=k, init=init, n_init=n_init, random_state=seed)


def _fit(model: KMeans, X: np.ndarray) -> KMeans:
    from sklearn.exceptions import ConvergenceWarning  # deferred: see the TYPE_CHECKING import

    with warnings.catch_warnings():
        # Duplicate points can leave fewer distinct clusters than k; callers keep k <= distinct points.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def _sample_index(n: int, size: int, seed: int) -> np.ndarray | None:
    """Sorted fixed-seed sample of row positions, or None when every row is used."""
    if n <= size:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False))


def silhouettes(X: np.ndarray, label_sets: Sequence[np.ndarray]) -> list[float | None]:
    """Mean silhouette of several labelings of the same points (exact, like sklearn's
    silhouette_score with the euclidean metric), computing the pairwise distances once for all of them.
    None where the silhouette is undefined (fewer than 2 or as many labels as points)."""
    n = len(X)
    out: list[float | None] = [None] * len(label_sets)
    usable = []
    for i, labels in enumerate(label_sets):
        used = len(np.unique(labels))
        if 2 <= used <= n - 1:
            usable.append(i)
    if not usable:
        return out
    # Distances in float32 (a 1e-7 relative error) keep this at about a second for 10,000 points.
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    sq = np.einsum("ij,ij->i", Xf, Xf)
    codes, offsets = [], [0]
    for i in usable:
        _, inv = np.unique(label_sets[i], return_inverse=True)
        codes.append(inv)
        offsets.append(offsets[-1] + int(inv.max()) + 1)
    H = np.zeros((n, offsets[-1]), dtype=np.float32)
    for inv, off in zip(codes, offsets):
        H[np.arange(n), off + inv] = 1.0
    sums = np.empty((n, offsets[-1]), dtype=np.float64)
    chunk = max(1, min(n, 2_000_000 // max(n, 1)))
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        D = Xf[s:e] @ Xf.T
        D *= -2.0
        D += sq[s:e, None]
        D += sq[None, :]
        np.maximum(D, 0.0, out=D)
        np.sqrt(D, out=D)
        sums[s:e] = D @ H
    idx = np.arange(n)
    for j, (i, inv) in enumerate(zip(usable, codes)):
        block = sums[:, offsets[j]:offsets[j + 1]]
        sizes = np.bincount(inv).astype(np.float64)
        own = sizes[inv]
        a = block[idx, inv] / np.maximum(own - 1.0, 1.0)
        means = block / sizes
        means[idx, inv] = np.inf
        b = means.min(axis=1)
        denom = np.maximum(a, b)
        s_i = np.where((own > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
        out[i] = float(s_i.mean())
    return out


@dataclass
class _Sweep:
    points: list[ElbowPoint]
    models: dict[int, KMeans] = field(default_factory=dict)
    sample: np.ndarray | None = None  # row positions the sweep ran on (None: all rows)


def _distinct_rows(X: np.ndarray, cap: int) -> int:
    """Distinct rows of X, counted up to `cap` (cheap for the sample sizes used here)."""
    return min(cap, len(np.unique(X, axis=0))) if len(X) else 0


def _sweep(
    X: np.ndarray,
    k_max: int = K_MAX,
    seed: int = 42,
    progress: ProgressFn | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    distinct: int | None = None,
) -> _Sweep:
    sample = _sample_index(len(X), SWEEP_SAMPLE_ROWS, seed) if len(X) > SWEEP_MAX_ROWS else None
    Xs = X if sample is None else X[sample]
    distinct = _distinct_rows(Xs, k_max) if distinct is None or sample is not None else distinct
    top = max(1, min(k_max, distinct))
    models: dict[int, KMeans] = {}
    for k in range(1, top + 1):
        models[k] = _fit(_kmeans(k, seed, N_INIT), Xs)
        if progress:
            progress("sweep", span[0] + (span[1] - span[0]) * 0.7 * k / top)
    # Silhouettes of every k at once, on at most SILHOUETTE_SAMPLE of the sweep's rows.
    sil_idx = _sample_index(len(Xs), SILHOUETTE_SAMPLE, seed + 1)
    Xsil = Xs if sil_idx is None else Xs[sil_idx]
    labels = [m.labels_ if sil_idx is None else m.labels_[sil_idx] for m in models.values()]
    sil = silhouettes(Xsil, labels)
    points = []
    for (k, m), s in zip(models.items(), sil):
        ch = None
        used = len(np.unique(m.labels_))
        if 2 <= used <= len(Xs) - 1:
            from sklearn.metrics import calinski_harabasz_score  # deferred: see the TYPE_CHECKING import

            ch = _finite(calinski_harabasz_score(Xs, m.labels_))
        points.append(ElbowPoint(k=k, inertia=float(m.inertia_), silhouette=s if k > 1 else None,
                                 calinski_harabasz=ch))
    if progress:
        progress("sweep", span[1])
    return _Sweep(points, models, sample)


def elbow_sweep(X: np.ndarray, k_max: int = K_MAX, seed: int = 42) -> list[ElbowPoint]:
    """Inertia, silhouette and Calinski-Harabasz for k = 1..k_max (capped at the distinct points).

    Above SWEEP_MAX_ROWS rows the sweep runs on a fixed-seed sample of SWEEP_SAMPLE_ROWS rows; the
    silhouette uses at most SILHOUETTE_SAMPLE rows. Same X and seed -> same points."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise InputError("nothing to sweep: the feature matrix is empty")
    with numeric_threads():
        return _sweep(X, k_max, seed).points


STABLE = 0.8  # a k whose refits agree at least this much (mean Jaccard) is a stable choice


def suggest_k(points: Sequence[ElbowPoint], stability: Mapping | None = None) -> int:
    """The suggested k, weighing separation (silhouette) and stability (see core/stability.py):
    among k = 2..10 whose stability is at least STABLE, the highest silhouette; when no k is that
    stable, the highest silhouette x stability. Ties (within 1e-9) go to the smaller k. Without
    stability figures, the highest silhouette.

    The silhouette rewards segments that are compact and well apart and has a maximum, so the rule
    needs no judgement; stability keeps it from picking a k whose segments a resample would not find
    again. (Mall data, income and score standardised: silhouettes 0.32, 0.47, 0.49, 0.555, 0.54 for
    k = 2..6, every one stable -> 5.) When no silhouette is defined (at most 2 distinct points), the
    smallest k >= 2 swept, else 2."""
    return _choose_k(points, stability)[0]


def _choose_k(points: Sequence[ElbowPoint], stability: Mapping | None) -> tuple[int, str]:
    """(k, how it was chosen: "stable" | "weighted" | "silhouette" | "fallback")."""
    stab = {int(k): float(v) for k, v in (stability or {}).items() if v is not None}
    cands = [p for p in sorted(points, key=lambda p: p.k)
             if K_MIN <= p.k <= K_MAX and p.silhouette is not None]
    if cands and stab:
        stable = [p for p in cands if stab.get(p.k, 0.0) >= STABLE]
        if stable:
            return _best(stable, lambda p: p.silhouette), "stable"
        return _best(cands, lambda p: p.silhouette * stab.get(p.k, 0.0)), "weighted"
    if cands:
        return _best(cands, lambda p: p.silhouette), "silhouette"
    ks = sorted(p.k for p in points if p.k >= K_MIN)
    return (ks[0] if ks else K_MIN), "fallback"


def _best(points: Sequence[ElbowPoint], score: Callable[[ElbowPoint], float]) -> int:
    best_k, best = points[0].k, -math.inf
    for p in points:
        if score(p) > best + 1e-9:
            best_k, best = p.k, score(p)
    return best_k


def k_reason(points: Sequence[ElbowPoint], stability: Mapping | None, k: int, chosen: bool) -> str:
    """One sentence saying why the run has this k (`chosen`: the analyst set k)."""
    sil = {p.k: p.silhouette for p in points}
    stab = {int(a): b for a, b in (stability or {}).items()}
    facts = []
    if sil.get(k) is not None:
        facts.append(f"silhouette {sil[k]:.2f}")
    if stab.get(k) is not None:
        facts.append(f"stability {stab[k]:.2f}")
    figures = f" ({', '.join(facts)})" if facts else ""
    suggested, how = _choose_k(points, stability)
    if chosen:
        if k == suggested:
            return f"k = {k} was chosen by the analyst and is also the suggested k{figures}."
        return f"k = {k} was chosen by the analyst; the suggested k is {suggested}{figures}."
    if how == "stable":
        return (f"k = {k} has the best separation among the k whose segments are found again on "
                f"resamples (stability >= {STABLE}){figures}.")
    if how == "weighted":
        return (f"k = {k} has the best separation weighted by stability; no k reached stability "
                f"{STABLE}, so treat the segments with care{figures}.")
    if how == "silhouette":
        return f"k = {k} has the best separation (highest silhouette){figures}."
    return f"k = {k}: too few distinct customers to compare k by separation{figures}."


def agreement_with_full_kmeans(X: np.ndarray, labels: np.ndarray, k: int, seed: int = 42) -> float:
    """Adjusted Rand index between `labels` and a plain K-Means on all of X (k-means++, n_init=10,
    random_state=seed): 1.0 means the same partition. Used by the benchmark to check the sampled path."""
    from sklearn.metrics import adjusted_rand_score  # deferred: see the TYPE_CHECKING import

    with numeric_threads():
        full = _fit(_kmeans(int(k), seed, 10), np.asarray(X, dtype=np.float64))
    return float(adjusted_rand_score(full.labels_, np.asarray(labels)))


# -- fit, relabelling, projection ---------------------------------------------------------------
def _final_fit(X: np.ndarray, k: int, seed: int, sweep: _Sweep) -> KMeans:
    if sweep.sample is None:
        model = sweep.models.get(k)
        return model if model is not None else _fit(_kmeans(k, seed, N_INIT), X)
    start = sweep.models.get(k)
    if start is not None and len(np.unique(start.labels_)) == k:
        return _fit(_kmeans(k, seed, 1, init=start.cluster_centers_), X)
    return _fit(_kmeans(k, seed, 1), X)


def relabel_by_size(labels: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Segment ids 1..k: 1 = largest; equal sizes ordered by their centroid (lexicographically), so the
    same input always gives the same ids."""
    k = len(centers)
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda j: (-int(sizes[j]), tuple(np.round(centers[j], 12))))
    new = np.empty(k, dtype=np.int32)
    for rank, j in enumerate(order):
        new[j] = rank + 1
    return new[labels]




def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None



# -- assignment and the outlier group -------------------------------------------------------------
MIN_SEGMENT_SHARE = 0.01  # a regular segment holds at least this share of the clustered customers
OUTLIER_MADS = 8.0  # distance beyond median + OUTLIER_MADS * 1.4826 * MAD (of the distances) is extreme
OUTLIER_QUANTILE = 0.99  # ... and beyond this quantile: distance alone never flags more than 1%
_ASSIGN_CHUNK = 200_000  # rows per distance block (n x centroids floats)


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centroid, euclidean distance to it) per row; ties go to the first."""
    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(centroids, dtype=np.float64)
    idx = np.empty(len(X), dtype=np.int64)
    dist = np.empty(len(X), dtype=np.float64)
    for s in range(0, len(X), _ASSIGN_CHUNK):
        block = X[s:s + _ASSIGN_CHUNK]
        d2 = ((block[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        j = d2.argmin(axis=1)
        idx[s:s + len(block)] = j
        dist[s:s + len(block)] = np.sqrt(d2[np.arange(len(block)), j])
    return idx, dist


def assign(X_scaled: np.ndarray, run: Run | Partition) -> tuple[np.ndarray, np.ndarray]:
    """The one assignment rule of a run, used for its own labels and for scoring new customers:
    the nearest fitted centroid (Run.centroids_scaled) gives the segment id (Run.centroid_segments;
    k + 1 for a cluster merged into the outlier group); a row farther than Run.outlier_threshold from
    its nearest centroid goes to the outlier group (id k + 1). X_scaled is in the fitted space
    (Run.transforms and Run.scaler applied). Returns (segment ids as int32, distances)."""
    idx, dist = nearest_centroid(X_scaled, np.asarray(run.centroids_scaled, dtype=np.float64))
    ids = np.asarray(run.centroid_segments, dtype=np.int32)[idx]
    if run.outlier_threshold is not None:
        ids = np.where(dist > run.outlier_threshold, np.int32(run.k + 1), ids).astype(np.int32)
    return ids, dist


def outlier_threshold(dist: np.ndarray) -> float:
    """The distance beyond which a customer is far from every segment: the larger of
    median + OUTLIER_MADS robust standard deviations (1.4826 * MAD) and the OUTLIER_QUANTILE quantile of
    the distances. Robust, so a few extreme customers cannot hide themselves by inflating it, and never
    more than 1% of the customers by distance alone."""
    d = np.asarray(dist, dtype=np.float64)
    if len(d) == 0:
        return 0.0
    med = float(np.median(d))
    mad = float(np.median(np.abs(d - med)))
    return max(med + OUTLIER_MADS * 1.4826 * mad, float(np.quantile(d, OUTLIER_QUANTILE)))


@dataclass
class Partition:
    """The fitted centroids of a run and how they map to segments (the Run fields of the same names)."""

    centroids_scaled: np.ndarray  # fitted centroids (k_fit x m), fitted space
    centroid_segments: list[int]  # segment id per centroid; k + 1 for a cluster merged into the outliers
    k: int  # regular segments
    outlier_threshold: float | None  # None when nothing is flagged (then no outlier group exists)
    inertia: float

    @property
    def has_outliers(self) -> bool:
        return self.outlier_threshold is not None


def label_clusters(C: np.ndarray, sizes: np.ndarray, n: int) -> tuple[list[int], int, np.ndarray]:
    """Steps 3-4 of `partition` (also the Spark engine's): from the clusters' sizes (extreme customers
    not counted) to (segment id per centroid, k, which clusters were merged into the outlier group)."""
    small = np.asarray(sizes) < MIN_SEGMENT_SHARE * n
    if small.all():  # nothing regular would remain: keep every cluster
        small[:] = False
    regular = [j for j in range(len(C)) if not small[j]]
    order = sorted(regular, key=lambda j: (-int(sizes[j]), tuple(np.round(C[j], 12))))
    k = len(order)
    seg = [k + 1] * len(C)
    for rank, j in enumerate(order):
        seg[j] = rank + 1
    return seg, k, small


def partition(X: np.ndarray, model: KMeans, seed: int) -> Partition:
    """From a fitted K-Means to segments with an outlier group (docs/EXPLAIN.md):
    1. customers farther from their nearest centroid than `outlier_threshold` are extreme;
    2. when there are any, K-Means is refitted on the other customers (started from the centroids,
       n_init=1) so extreme values do not pull the centroids; the threshold stays;
    3. a cluster holding under MIN_SEGMENT_SHARE of the clustered customers (extreme ones not counted
       as its members) is merged into the outlier group;
    4. regular clusters get ids 1..k by size (1 = largest), the outlier group k + 1.
    Refitting with fewer clusters instead of merging was rejected: it would change the k the analyst
    asked for on every file with a handful of extreme customers."""
    C = np.asarray(model.cluster_centers_, dtype=np.float64)
    _, dist = nearest_centroid(X, C)
    thr = outlier_threshold(dist)
    far = dist > thr
    if far.any() and (~far).sum() >= len(C):
        C = _fit(_kmeans(len(C), seed, 1, init=C), X[~far]).cluster_centers_
    idx, dist = nearest_centroid(X, C)
    far = dist > thr
    sizes = np.bincount(idx[~far], minlength=len(C))
    seg, k, small = label_clusters(C, sizes, len(X))
    flagged = bool(far.any() or small.any())
    if not flagged:
        return Partition(C, seg, k, None, float(model.inertia_))
    member = ~far & ~np.isin(idx, np.flatnonzero(small))  # inertia of the regular segments' members
    return Partition(C, seg, k, thr, float((dist[member] ** 2).sum()))
