"""K-Means segmentation of a dataset: features prepared in SQL, elbow sweep, fit, PCA, atomic storage.

The steps of `run_segmentation` (docs/ARCHITECTURE.md):
  1. validate the parameters (InputError with a message a person can act on);
  2. in DuckDB: keep rows without an excluding finding in the chosen features, fill missing values
     (core.quality.fill_values), count what was excluded and filled, one-hot encode categoricals and
     fetch the feature matrix in one columnar fetch;
  3. scale (standard | minmax | none | log);
  4. elbow sweep k=1..10 (inertia, silhouette, Calinski-Harabasz) and `suggest_k`;
  5. K-Means (k-means++, fixed seed), segments relabelled 1..k by size;
  6. 2-D coordinates (the two features, or PC1/PC2);
  7. store the run table and the run in ONE transaction (bulk, never row by row), with centroids in
     original units computed in SQL from the stored rows, names and actions (core.profiling).

Scale: up to SWEEP_MAX_ROWS rows everything runs on all rows. Above, the sweep runs on a fixed-seed
sample of SWEEP_SAMPLE_ROWS rows (Run.sampled) and the final fit uses every row, started from the
centroids found on the sample (n_init=1): the sample's k-means++ restarts find the basin, the full-data
Lloyd iterations only polish it. `agreement_with_full_kmeans` measures how close that is to a plain
full K-Means. The silhouette is always computed on at most SILHOUETTE_SAMPLE rows.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score
from threadpoolctl import threadpool_limits

from core.errors import InputError
from core.models import (
    CATEGORICAL,
    IDENTIFIER,
    NUMERIC,
    ROW,
    SEGMENT,
    X,
    Y,
    DatasetInfo,
    ElbowPoint,
    Run,
    Segment,
)
from core.profiling import name_segments, onehot_columns, suggest_action
from core.quality import FILL_METHODS, fill_values, kept_rows_predicate
from core.roles import default_features
from core.store import Store, check_id, new_id, quote_ident, run_table

SCALES = ("standard", "minmax", "none", "log")
K_MIN, K_MAX = 2, 10
MAX_CATEGORY_LEVELS = 20  # one-hot columns per categorical feature
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
ASSIGN_VIEW = "__segment_assignments"  # the registered frame the run table is joined from

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


# -- features -----------------------------------------------------------------------------------
def _check_parameters(
    info: DatasetInfo,
    features: Sequence[str] | None,
    k: int | str,
    scale: str,
    fill: str,
    seed: int,
    categoricals: Iterable[str],
) -> tuple[list[str], list[str], int | None]:
    """(numeric features, categorical features, k or None for auto), or InputError."""
    if features is None:
        features = default_features(info)
        if not features and not categoricals:
            raise InputError(
                "this dataset has no numeric columns to segment on (identifiers and constant or empty "
                "columns are left out); choose the features yourself"
            )
    if isinstance(features, str) or not all(isinstance(f, str) for f in features):
        raise InputError("features must be a list of column names")
    if isinstance(categoricals, str) or not all(isinstance(f, str) for f in categoricals):
        raise InputError("categoricals must be a list of column names")
    cats = list(dict.fromkeys(categoricals))
    wanted = list(dict.fromkeys(list(features) + [c for c in cats if c not in features]))
    if not wanted:
        raise InputError("choose at least one feature to segment on")
    for f in wanted:
        col = info.column(f)
        if col is None or f in (ROW, SEGMENT, X, Y):
            shown = f if len(f) <= 60 else f[:57] + "..."
            choices = ", ".join(default_features(info)[:8]) or "none"
            raise InputError(f"unknown column '{shown}'; numeric columns you can use: {choices}")
        if col.role == IDENTIFIER or f == info.id_column:
            raise InputError(
                f"'{f}' is an identifier (a different value for every customer) and cannot be a feature"
            )
    numeric = [f for f in wanted if info.column(f).role == NUMERIC and f not in cats]
    categorical = [f for f in wanted if f not in numeric]

    if isinstance(k, str) and k == "auto":
        k_value = None
    elif isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not K_MIN <= int(k) <= K_MAX:
        raise InputError(f"k must be a whole number from {K_MIN} to {K_MAX}, or 'auto' (got {k!r})")
    else:
        k_value = int(k)
    if scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)} (got {scale!r})")
    if fill not in FILL_METHODS:
        raise InputError(f"fill must be one of {', '.join(FILL_METHODS)} (got {fill!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise InputError("seed must be a whole number from 0 to 4294967295")
    return numeric, categorical, k_value


# -- data preparation (SQL) ---------------------------------------------------------------------
@dataclass
class PreparedData:
    """The feature matrix of the kept rows, in __row order, and what preparing it did."""

    rows: np.ndarray  # __row of every kept row (int64)
    raw: np.ndarray  # n x m: filled values in original units; one-hot columns are 0/1
    encoded: list[str]  # m encoded feature names ("Gender=Female" for one-hot columns)
    numeric: list[str]
    categorical: list[str]
    onehot: dict[str, tuple[str, str]]  # encoded name -> (column, value)
    fill: dict[str, dict]  # every dataset column with a fill value (whole table): the fill used
    filled: dict[str, dict]  # Run.filled: the same, counted over the kept rows (columns with any)
    rows_excluded: int
    excluded_by_rule: dict[str, int]
    distinct: int  # distinct feature vectors, counted up to K_MAX + 1

    @property
    def numeric_mask(self) -> np.ndarray:
        return np.array([e not in self.onehot for e in self.encoded], dtype=bool)


def _filled_expr(info: DatasetInfo, col: str, fill: dict[str, dict]) -> tuple[str, list]:
    """SQL for a dataset column (alias d) with its missing values filled, and its parameter."""
    q = "d." + quote_ident(col, info.names())
    if col not in fill:
        return q, []
    value = fill[col]["value"]
    if info.column(col).role == NUMERIC:
        v = float(value)
        # An integral fill keeps an integer column integer; a fractional median makes it DOUBLE.
        return f"COALESCE({q}, ?)", [int(v) if v.is_integer() else v]
    return f"COALESCE({q}::VARCHAR, ?)", [str(value)]


def prepare_features(
    cur: duckdb.DuckDBPyConnection,
    info: DatasetInfo,
    numeric: list[str],
    categorical: list[str],
    fill: str = "median",
) -> PreparedData:
    """Exclude invalid rows, fill missing values and one-hot encode, in SQL; fetch the matrix."""
    table = info.table
    names = info.names()
    features = numeric + categorical
    kept_sql, kept_params = kept_rows_predicate(info.dataset_id, features)

    # Columns that have at least one value can be filled; an empty feature cannot be used.
    fillable = [c.name for c in info.columns if c.role != IDENTIFIER and c.name != info.id_column]
    present = {}
    if fillable:
        counts_sql = ", ".join(f"count({quote_ident(c, names)})" for c in fillable)
        present = dict(zip(fillable, cur.execute(f"SELECT {counts_sql} FROM {table}").fetchone()))
    for f in features:
        if not present.get(f):
            raise InputError(f"column '{f}' has no values at all; leave it out of the features")
    fill_map = fill_values(cur, info, [c for c in fillable if present.get(c)], fill)

    # Rows kept and filled (counted over the kept rows only: those are the values the run fills).
    missing_sql = "".join(f", count(*) - count({quote_ident(c, names)})" for c in fill_map)
    counts = cur.execute(
        f"SELECT count(*){missing_sql} FROM {table} d WHERE {kept_sql}", kept_params
    ).fetchone()
    kept = int(counts[0])
    total = int(cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    filled = {
        c: {"method": f["method"], "value": _json_value(f["value"]), "count": int(n)}
        for (c, f), n in zip(fill_map.items(), counts[1:])
        if n
    }
    by_rule = cur.execute(
        f"""
        SELECT i.rule || ':' || i.column_name AS rule_column, count(DISTINCT i."row") AS n
        FROM issues i
        JOIN {table} d ON d.{ROW} = i."row"
        WHERE i.dataset_id = ? AND i.excludes AND list_contains(?::VARCHAR[], i.column_name)
        GROUP BY rule_column
        ORDER BY rule_column
        """,
        [info.dataset_id, features],
    ).fetchall()
    excluded_by_rule = {r[0]: int(r[1]) for r in by_rule}
    if kept == 0:
        raise InputError(
            f"no customers left to segment: all {total} rows have invalid values in the chosen features "
            "(see the data-quality report); choose other features"
        )

    # One-hot levels per categorical feature (over the kept rows, filled).
    exprs: list[str] = []
    params: list = []
    encoded: list[str] = list(numeric)
    onehot: dict[str, tuple[str, str]] = {}
    for col in numeric:
        sql, p = _filled_expr(info, col, fill_map)
        exprs.append(f"({sql})::DOUBLE")
        params += p
    for col in categorical:
        sql, p = _filled_expr(info, col, fill_map)
        levels = cur.execute(
            f"""
            SELECT DISTINCT ({sql})::VARCHAR AS level FROM {table} d
            WHERE {kept_sql} ORDER BY level LIMIT {MAX_CATEGORY_LEVELS + 1}
            """,
            p + kept_params,
        ).fetchall()
        if len(levels) > MAX_CATEGORY_LEVELS:
            raise InputError(
                f"column '{col}' has more than {MAX_CATEGORY_LEVELS} different values; one-hot encoding "
                "allows at most that many, so leave it out of the features or group its values first"
            )
        for (level,) in levels:
            enc = f"{col}={level}"
            onehot[enc] = (col, level)
            encoded.append(enc)
            exprs.append(f"(({sql})::VARCHAR = ?)::DOUBLE")
            params += p + [level]

    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    distinct = int(
        cur.execute(
            f"""
            SELECT count(*) FROM (
                SELECT DISTINCT {select} FROM {table} d WHERE {kept_sql} LIMIT {K_MAX + 1}
            )
            """,
            params + kept_params,
        ).fetchone()[0]
    )
    result = cur.execute(
        f"SELECT d.{ROW} AS r, {select} FROM {table} d WHERE {kept_sql} ORDER BY d.{ROW}",
        params + kept_params,
    ).fetchnumpy()
    rows = np.asarray(result["r"], dtype=np.int64)
    raw = np.empty((len(rows), len(exprs)), dtype=np.float64)
    for i in range(len(exprs)):
        raw[:, i] = np.ma.filled(result[f"c{i}"], np.nan)
    bad = ~np.isfinite(raw).all(axis=0)
    if bad.any():
        col = encoded[int(np.argmax(bad))]
        raise InputError(
            f"column '{col}' has infinite or undefined values that no validation rule excluded; "
            "fix the file or leave the column out of the features"
        )
    return PreparedData(
        rows=rows,
        raw=raw,
        encoded=encoded,
        numeric=numeric,
        categorical=categorical,
        onehot=onehot,
        fill=fill_map,
        filled=filled,
        rows_excluded=total - kept,
        excluded_by_rule=excluded_by_rule,
        distinct=distinct,
    )


def _json_value(v):
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- scaling ------------------------------------------------------------------------------------
def scale_matrix(raw: np.ndarray, scale: str = "standard", numeric_mask: np.ndarray | None = None) -> np.ndarray:
    """The matrix K-Means sees.

    standard: (x - mean) / std per column (population std; a constant column stays 0);
    minmax: (x - min) / (max - min) into 0..1; none: unchanged;
    log: log1p of the values clipped at 0 (numeric columns only; one-hot columns stay 0/1), then standard.
    The log suits skewed amounts such as recency, frequency and monetary value.
    """
    if scale not in SCALES:
        raise InputError(f"scale must be one of {', '.join(SCALES)} (got {scale!r})")
    X = np.array(raw, dtype=np.float64, copy=True)
    if X.ndim != 2:
        raise ValueError("expected a 2-D matrix")
    if scale == "none":
        return X
    if scale == "minmax":
        lo, hi = X.min(axis=0), X.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        return (X - lo) / span
    if scale == "log":
        mask = np.ones(X.shape[1], dtype=bool) if numeric_mask is None else np.asarray(numeric_mask, bool)
        X[:, mask] = np.log1p(np.clip(X[:, mask], 0.0, None))
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return (X - mean) / std


# -- elbow sweep and suggested k ----------------------------------------------------------------
def _kmeans(k: int, seed: int, n_init: int, init="k-means++") -> KMeans:
    return KMeans(n_clusters=k, init=init, n_init=n_init, random_state=seed)


def _fit(model: KMeans, X: np.ndarray) -> KMeans:
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


def suggest_k(points: Sequence[ElbowPoint]) -> int:
    """The k with the highest mean silhouette among k = 2..10; ties (within 1e-9) go to the smaller k.

    The silhouette rewards segments that are compact and well apart, and unlike the elbow of the
    inertia curve it has a maximum, so the rule needs no judgement. (Mall data, income and score
    standardised: 0.32, 0.47, 0.49, 0.555, 0.54, ... for k = 2, 3, 4, 5, 6 -> 5.) When no silhouette
    is defined (at most 2 distinct points), the smallest k >= 2 swept, else 2."""
    best_k, best = None, -math.inf
    for p in sorted(points, key=lambda p: p.k):
        if K_MIN <= p.k <= K_MAX and p.silhouette is not None and p.silhouette > best + 1e-9:
            best_k, best = p.k, p.silhouette
    if best_k is not None:
        return best_k
    ks = sorted(p.k for p in points if p.k >= K_MIN)
    return ks[0] if ks else K_MIN


def agreement_with_full_kmeans(X: np.ndarray, labels: np.ndarray, k: int, seed: int = 42) -> float:
    """Adjusted Rand index between `labels` and a plain K-Means on all of X (k-means++, n_init=10,
    random_state=seed): 1.0 means the same partition. Used by the benchmark to check the sampled path."""
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


@dataclass
class Projection:
    x: np.ndarray
    y: np.ndarray
    x_label: str
    y_label: str
    explained_variance: list[float] | None


def project_2d(raw: np.ndarray, X: np.ndarray, encoded: list[str], seed: int = 42) -> Projection:
    """Scatter coordinates: PC1/PC2 of the scaled matrix when more than two encoded features; the two
    features in original units when exactly two; the feature and y = 0 when only one (no invented
    jitter: the dashboard may spread the points for display)."""
    n, m = X.shape
    if m == 1:
        return Projection(raw[:, 0].copy(), np.zeros(n), encoded[0], "", None)
    if m == 2:
        return Projection(raw[:, 0].copy(), raw[:, 1].copy(), encoded[0], encoded[1], None)
    pca = PCA(n_components=2, random_state=seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        coords = pca.fit_transform(X)
        ratios = [_finite(r) or 0.0 for r in pca.explained_variance_ratio_]
    labels = [f"PC{i + 1} ({r * 100:.1f}% of variance)" for i, r in enumerate(ratios)]
    return Projection(coords[:, 0], coords[:, 1], labels[0], labels[1], ratios)


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# -- the run ------------------------------------------------------------------------------------
def run_segmentation(
    store: Store,
    dataset_id: str,
    features: Sequence[str] | None = None,
    k: int | str = "auto",
    scale: str = "standard",
    fill: str = "median",
    seed: int = 42,
    categoricals: Iterable[str] = (),
    progress: ProgressFn | None = None,
) -> Run:
    """Segment a dataset and store the run (see the module docstring). Raises InputError for bad
    parameters or data that cannot be segmented as asked; a failure stores nothing.

    `progress(stage, fraction)` is called with stage in prepare | sweep | fit | project | store | done
    and the overall fraction done (0..1); raising from it cancels the run."""
    started = time.perf_counter()
    tell = progress or (lambda stage, fraction: None)
    info = store.get_dataset(check_id(dataset_id, "dataset"))
    numeric, categorical, k_value = _check_parameters(
        info, features, k, scale, fill, seed, tuple(categoricals or ())
    )
    seed = int(seed)
    tell("prepare", 0.0)
    with store.cursor() as cur:
        data = prepare_features(cur, info, numeric, categorical, fill)
    n = len(data.rows)
    if k_value is not None and n < k_value:
        raise InputError(f"only {n} customers left to segment; choose k of at most {n}")
    if data.distinct < K_MIN:
        raise InputError(
            f"all {n} customers have the same values in the chosen features; there is nothing to segment"
        )
    if k_value is not None and data.distinct < k_value:
        raise InputError(
            f"only {data.distinct} distinct customers; choose k of at most {data.distinct}"
        )
    tell("prepare", 0.1)

    with numeric_threads():
        X_scaled = scale_matrix(data.raw, scale, data.numeric_mask)
        sweep = _sweep(X_scaled, K_MAX, seed, tell, (0.1, 0.6), distinct=data.distinct)
        suggested = suggest_k(sweep.points)
        k_final = k_value if k_value is not None else suggested

        tell("fit", 0.6)
        model = _final_fit(X_scaled, k_final, seed, sweep)
        labels = relabel_by_size(model.labels_, model.cluster_centers_)
        if sweep.sample is None:
            silhouette = next((p.silhouette for p in sweep.points if p.k == k_final), None)
        else:
            sil_idx = _sample_index(n, SILHOUETTE_SAMPLE, seed + 1)
            silhouette = silhouettes(X_scaled[sil_idx], [labels[sil_idx]])[0]

        tell("project", 0.75)
        proj = project_2d(data.raw, X_scaled, data.encoded, seed)

        # Names from the segment means in the space the model was fitted in (for standard/minmax/none
        # the z-scores are those of the original units; for log, of the logged values).
        counts = np.bincount(labels, minlength=k_final + 1)[1:].astype(np.float64)
        seg_means = np.vstack([
            np.bincount(labels, weights=X_scaled[:, j], minlength=k_final + 1)[1:] / np.maximum(counts, 1)
            for j in range(X_scaled.shape[1])
        ]).T
        base_mean, base_std = X_scaled.mean(axis=0), X_scaled.std(axis=0)
        names = name_segments(seg_means, base_mean, base_std, data.encoded, onehot=data.onehot)
        actions = []
        for i in range(k_final):
            z = {f: (0.0 if base_std[j] <= 1e-12 else float((seg_means[i, j] - base_mean[j]) / base_std[j]))
                 for j, f in enumerate(data.encoded)}
            actions.append(suggest_action(z, onehot=data.onehot))

    run = Run(
        run_id=new_id(),
        dataset_id=info.dataset_id,
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        features=numeric + categorical,
        encoded_features=list(data.encoded),
        k=k_final,
        suggested_k=suggested,
        scale=scale,
        fill=fill,
        seed=seed,
        elbow=sweep.points,
        silhouette=_finite(silhouette),
        inertia=float(model.inertia_),
        explained_variance=proj.explained_variance,
        x_label=proj.x_label,
        y_label=proj.y_label,
        rows_clustered=n,
        rows_excluded=data.rows_excluded,
        excluded_by_rule=data.excluded_by_rule,
        filled=data.filled,
        segments=[],
        sampled=sweep.sample is not None,
    )
    assignments = pd.DataFrame({
        ROW: data.rows,
        SEGMENT: labels.astype(np.int32),
        X: np.asarray(proj.x, dtype=np.float64),
        Y: np.asarray(proj.y, dtype=np.float64),
    })
    tell("store", 0.85)
    run.fit_seconds = round(time.perf_counter() - started, 3)
    _store_run(store, info, run, data, assignments, names, actions)
    tell("done", 1.0)
    return run


def _store_run(
    store: Store,
    info: DatasetInfo,
    run: Run,
    data: PreparedData,
    assignments: pd.DataFrame,
    names: list[str],
    actions: list[str],
) -> None:
    """Create run_<id> (dataset columns filled + __segment, __x, __y) from the assignments in bulk,
    compute the centroids from it and register the run: one transaction, all or nothing."""
    table = run_table(run.run_id)
    cols, params = [], []
    for c in info.columns:
        expr, p = _filled_expr(info, c.name, data.fill)
        cols.append(f"{expr} AS {quote_ident(c.name)}")
        params += p
    select = ", ".join(cols)
    with store.transaction() as cur:
        cur.register(ASSIGN_VIEW, assignments)
        try:
            cur.execute(
                f"""
                CREATE TABLE {table} AS
                SELECT d.{ROW}, {select},
                       a.{SEGMENT}::INTEGER AS {SEGMENT}, a.{X}::DOUBLE AS {X}, a.{Y}::DOUBLE AS {Y}
                FROM {info.table} d
                JOIN {ASSIGN_VIEW} a ON a.{ROW} = d.{ROW}
                ORDER BY d.{ROW}
                """,
                params,
            )
        finally:
            cur.unregister(ASSIGN_VIEW)
        run.segments = _segments_from_table(cur, table, run, data, names, actions)
        store.insert_run(cur, run)


def _segments_from_table(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    run: Run,
    data: PreparedData,
    names: list[str],
    actions: list[str],
) -> list[Segment]:
    """Size and centroid in original units (share of each level for one-hot columns) per segment."""
    aggs, params = [], []
    for enc in data.encoded:
        if enc in data.onehot:
            col, level = data.onehot[enc]
            aggs.append(f"avg(({quote_ident(col)}::VARCHAR = ?)::DOUBLE)")
            params.append(level)
        else:
            aggs.append(f"avg({quote_ident(enc)}::DOUBLE)")
    agg_sql = "".join(f", {a}" for a in aggs)
    rows = cur.execute(
        f"SELECT {SEGMENT}, count(*), avg({X}), avg({Y}){agg_sql} FROM {table} "
        f"GROUP BY {SEGMENT} ORDER BY {SEGMENT}",
        params,
    ).fetchall()
    by_id = {int(r[0]): r for r in rows}
    total = max(1, run.rows_clustered)
    out = []
    for s in range(1, run.k + 1):
        r = by_id.get(s)
        size = int(r[1]) if r else 0
        centroid = {} if r is None else {
            enc: _finite(v) for enc, v in zip(data.encoded, r[4:]) if _finite(v) is not None
        }
        xy = None if r is None else [_finite(r[2]) or 0.0, _finite(r[3]) or 0.0]
        out.append(Segment(id=s, name=names[s - 1], action=actions[s - 1], size=size,
                           share=size / total, centroid=centroid, xy=xy))
    return out


def run_matrix(store: Store, run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The scaled feature matrix a run was fitted on (rebuilt from its table, in __row order) and its
    segment ids. For checks such as `agreement_with_full_kmeans(X, labels, run.k, run.seed)`."""
    table = run_table(run.run_id)
    allowed = store.table_columns(table)
    onehot = onehot_columns(run)
    exprs, params, mask = [], [], []
    for enc in run.encoded_features:
        if enc in onehot:
            col, level = onehot[enc]
            exprs.append(f"({quote_ident(col, allowed)}::VARCHAR = ?)::DOUBLE")
            params.append(level)
            mask.append(False)
        else:
            exprs.append(f"{quote_ident(enc, allowed)}::DOUBLE")
            mask.append(True)
    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    with store.cursor() as cur:
        res = cur.execute(f"SELECT {SEGMENT} AS s, {select} FROM {table} ORDER BY {ROW}", params).fetchnumpy()
    raw = np.column_stack([np.asarray(res[f"c{i}"], dtype=np.float64) for i in range(len(exprs))])
    return scale_matrix(raw, run.scale, np.array(mask)), np.asarray(res["s"], dtype=np.int64)
