"""Segmentation of a dataset: features prepared in SQL, scaled, clustered, explained, stored atomically.

The steps of `run_segmentation` (docs/ARCHITECTURE.md, docs/EXPLAIN.md):
  1. validate the parameters (InputError with a message a person can act on);
  2. in DuckDB: keep rows without an excluding finding in the chosen features, fill missing values
     (core.quality.fill_values), count what was excluded and filled, one-hot encode categoricals and
     fetch the feature matrix in one columnar fetch;
  3. scale (auto by default: log1p for skewed non-negative features, then standard; core.kmeans);
  4. elbow sweep k=1..10 (inertia, silhouette, Calinski-Harabasz), stability per k (core.stability)
     and `suggest_k`, which weighs both;
  5. K-Means (k-means++, fixed seed), the outlier group, segment ids 1..k by size (core.kmeans.partition)
     and the final labels from `core.kmeans.assign`, the same rule that scores new customers;
  6. 2-D coordinates (the two features, or PC1/PC2);
  7. drivers, rules (core.explain), stability per segment, names and actions (core.profiling);
  8. store the run table and the run in ONE transaction (bulk, never row by row), with centroids in
     original units and rule precision / recall computed in SQL from the stored rows.

The K-Means mechanics live in core.kmeans; their public names stay importable from here.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.errors import InputError
from core.explain import Rule, rule_scores, rule_sql, segment_drivers, segment_rules
from core.kmeans import (  # noqa: F401  (public names of core.segmentation)
    K_MAX,
    K_MIN,
    N_INIT,
    NUMERIC_THREADS,
    SCALES,
    SILHOUETTE_SAMPLE,
    SWEEP_MAX_ROWS,
    SWEEP_SAMPLE_ROWS,
    ProgressFn,
    Scaler,
    _final_fit,
    _finite,
    _sample_index,
    _sweep,
    agreement_with_full_kmeans,
    assign,
    elbow_sweep,
    fit_scaler,
    k_reason,
    numeric_threads,
    partition,
    relabel_by_size,
    scale_matrix,
    silhouettes,
    suggest_k,
)
from core.models import (
    IDENTIFIER,
    NUMERIC,
    ROW,
    SEGMENT,
    X,
    Y,
    DatasetInfo,
    Run,
    Segment,
)
from core.prepare import MAX_CATEGORY_LEVELS, PreparedData, _filled_expr, prepare_features  # noqa: F401
from core.profiling import describe_segments, onehot_columns
from core.quality import FILL_METHODS
from core.roles import column_roles, default_features  # noqa: F401  (default_features: public here)
from core.stability import cluster_stability, stability_by_k
from core.rfm_naming import named_run
from core.store import Store, check_id, new_id, quote_ident, run_table
from core.aggregates_build import build_quietly

ASSIGN_VIEW = "__segment_assignments"  # the registered frame the run table is joined from


# -- features -----------------------------------------------------------------------------------
def check_run_request(store: Store, dataset_id: str, features, k, scale: str, fill: str) -> None:
    """run_segmentation's parameter checks alone (InputError), for callers that start the run later
    (the dashboard's background job): a bad request is refused at once and nothing starts."""
    _check_parameters(store.get_dataset(check_id(dataset_id, "dataset")), features, k, scale, fill, 42, ())


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


# -- the run ------------------------------------------------------------------------------------
@dataclass
class _Fitted:
    """What the numeric half of a run produced (inside numeric_threads)."""

    X: np.ndarray  # the fitted space
    scaler: Scaler
    sweep: object
    stability_by_k: dict[str, float]
    suggested: int
    k_reason: str
    part: object  # core.kmeans.Partition
    labels: np.ndarray  # segment ids from core.kmeans.assign
    silhouette: float | None


@dataclass
class _Texts:
    """Per segment id (regular and outlier group): what explains it."""

    names: dict[int, str]
    actions: dict[int, str]
    drivers: dict[int, list[dict]]
    rules: dict[int, Rule]
    stability: dict[int, float]


def _fit_run(data: PreparedData, k_value: int | None, scale: str, seed: int, tell: ProgressFn,
             explain: bool) -> _Fitted:
    scaler = fit_scaler(data.raw, scale, data.numeric_mask)
    X_scaled = scaler.apply(data.raw)
    sweep = _sweep(X_scaled, K_MAX, seed, tell, (0.1, 0.45), distinct=data.distinct)
    stab = {}
    if explain:
        stab = stability_by_k(X_scaled, {k: m.cluster_centers_ for k, m in sweep.models.items()}, seed)
    tell("fit", 0.6)
    suggested = suggest_k(sweep.points, stab)
    k_final = k_value if k_value is not None else suggested
    model = _final_fit(X_scaled, k_final, seed, sweep)
    part = partition(X_scaled, model, seed)
    labels, _ = assign(X_scaled, part)
    sil_idx = _sample_index(len(X_scaled), SILHOUETTE_SAMPLE, seed + 1)
    sil = silhouettes(X_scaled if sil_idx is None else X_scaled[sil_idx],
                      [labels if sil_idx is None else labels[sil_idx]])[0]
    reason = final_k_reason(sweep.points, stab, k_final, k_value is not None, part.k)
    return _Fitted(X_scaled, scaler, sweep, stab, suggested, reason, part, labels, sil)


def final_k_reason(points, stab: dict, k_final: int, chosen: bool, k_regular: int) -> str:
    """core.kmeans.k_reason, plus where the missing segments went when clusters joined the outlier group
    (one sentence; the Spark engine uses it too)."""
    reason = k_reason(points, stab, k_final, chosen)
    if k_regular < k_final:
        merged = k_final - k_regular
        reason = (f"{reason[:-1]}; {merged} of its clusters held under 1% of the customers and joined the "
                  f"outlier group, leaving {k_regular} segment{'s' if k_regular != 1 else ''}.")
    return reason


def _explain(data: PreparedData, f: _Fitted, seed: int, explain: bool) -> _Texts:
    k = f.part.k
    ids = list(range(1, k + 1)) + ([k + 1] if f.part.has_outliers else [])
    X_scaled, labels = f.X, f.labels
    counts = np.bincount(labels, minlength=k + 2)[1:k + 1].astype(np.float64)
    seg_means = np.vstack([
        np.bincount(labels, weights=X_scaled[:, j], minlength=k + 2)[1:k + 1] / np.maximum(counts, 1)
        for j in range(X_scaled.shape[1])
    ]).T
    drivers = segment_drivers(X_scaled, data.raw, labels, data.encoded, data.onehot)
    rules = segment_rules(data.raw, labels, data.encoded, data.onehot, seed) if explain else {}
    stability = {}
    if explain:
        per = cluster_stability(X_scaled, labels, len(f.part.centroids_scaled), seed)
        stability = {i: v for i, v in per.items() if i <= k}  # the outlier group is no cluster
    names, actions = describe_segments(
        seg_means, X_scaled.mean(axis=0), X_scaled.std(axis=0), data.encoded, onehot=data.onehot,
        drivers=drivers, outliers=f.part.has_outliers,
    )
    return _Texts(dict(zip(ids, names)), dict(zip(ids, actions)), drivers, rules, stability)


def run_segmentation(
    store: Store,
    dataset_id: str,
    features: Sequence[str] | None = None,
    k: int | str = "auto",
    scale: str = "auto",
    fill: str = "median",
    seed: int = 42,
    categoricals: Iterable[str] = (),
    progress: ProgressFn | None = None,
    explain: bool = True,
) -> Run:
    """Segment a dataset and store the run (see the module docstring). Raises InputError for bad
    parameters or data that cannot be segmented as asked; a failure stores nothing.

    `explain=False` skips stability and rules (drivers, names and actions stay): for measuring them.
    `progress(stage, fraction)` is called with stage in prepare | sweep | fit | project | store | tables | done
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
    _check_size(len(data.rows), data.distinct, k_value)
    tell("prepare", 0.1)

    with numeric_threads():
        fitted = _fit_run(data, k_value, scale, seed, tell, explain)
        tell("project", 0.75)
        proj = project_2d(data.raw, fitted.X, data.encoded, seed)
        texts = _explain(data, fitted, seed, explain)

    run = _new_run(info, data, fitted, proj, scale, fill, seed)
    assignments = pd.DataFrame({
        ROW: data.rows,
        SEGMENT: fitted.labels.astype(np.int32),
        X: np.asarray(proj.x, dtype=np.float64),
        Y: np.asarray(proj.y, dtype=np.float64),
    })
    tell("store", 0.85)
    run.fit_seconds = round(time.perf_counter() - started, 3)
    _store_run(store, info, run, data, assignments, texts)
    run = named_run(store, run)  # runs on R, F and M: names and actions in RFM words from the start
    # The run is saved (one transaction); its pre-aggregated tables follow in their own transaction: a
    # run whose tables were never built only costs speed (the views read its rows).
    tell("tables", 0.95)
    build_quietly(store, run.run_id)
    tell("done", 1.0)
    return run


def _check_size(n: int, distinct: int, k_value: int | None) -> None:
    if k_value is not None and n < k_value:
        raise InputError(f"only {n} customers left to segment; choose k of at most {n}")
    if distinct < K_MIN:
        raise InputError(
            f"all {n} customers have the same values in the chosen features; there is nothing to segment"
        )
    if k_value is not None and distinct < k_value:
        raise InputError(f"only {distinct} distinct customers; choose k of at most {distinct}")


def _new_run(info: DatasetInfo, data: PreparedData, f: _Fitted, proj: Projection, scale: str,
             fill: str, seed: int) -> Run:
    part = f.part
    return Run(
        run_id=new_id(),
        dataset_id=info.dataset_id,
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        features=data.numeric + data.categorical,
        encoded_features=list(data.encoded),
        k=part.k,
        suggested_k=f.suggested,
        scale=scale,
        fill=fill,
        seed=seed,
        elbow=f.sweep.points,
        silhouette=_finite(f.silhouette),
        inertia=float(part.inertia),
        explained_variance=proj.explained_variance,
        x_label=proj.x_label,
        y_label=proj.y_label,
        rows_clustered=len(data.rows),
        rows_excluded=data.rows_excluded,
        excluded_by_rule=data.excluded_by_rule,
        filled=data.filled,
        segments=[],
        sampled=f.sweep.sample is not None,
        feature_roles={c: r["role"] for c, r in column_roles(info).items()},
        transforms={e: t for e, t in zip(data.encoded, f.scaler.transforms) if e not in data.onehot},
        stability_by_k=dict(f.stability_by_k),
        k_reason=f.k_reason,
        scaler=f.scaler.to_dict(),
        centroids_scaled=[[float(v) for v in c] for c in part.centroids_scaled],
        centroid_segments=[int(s) for s in part.centroid_segments],
        outlier_threshold=part.outlier_threshold,
    )


def _store_run(
    store: Store,
    info: DatasetInfo,
    run: Run,
    data: PreparedData,
    assignments: pd.DataFrame,
    texts: _Texts,
) -> None:
    """Create run_<id> (dataset columns filled + __segment, __x, __y) from the assignments in bulk,
    compute the centroids and the rules' precision and recall from it and register the run: one
    transaction, all or nothing."""
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
        run.segments = _segments_from_table(cur, table, run, data, texts)
        scores = rule_scores(cur, table, texts.rules, data.numeric)
        for seg in run.segments:
            rule = texts.rules.get(seg.id)
            if rule is not None:
                seg.rule = rule_sql(rule, data.numeric)
                seg.rule_precision, seg.rule_recall = scores[seg.id]
        store.insert_run(cur, run)


def _segments_from_table(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    run: Run,
    data: PreparedData,
    texts: _Texts,
) -> list[Segment]:
    """Size and centroid in original units (share of each level for one-hot columns) per segment,
    with its explanations; the outlier group (id k + 1) last when there is one."""
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
    for s in sorted(texts.names):
        r = by_id.get(s)
        size = int(r[1]) if r else 0
        centroid = {} if r is None else {
            enc: _finite(v) for enc, v in zip(data.encoded, r[4:]) if _finite(v) is not None
        }
        xy = None if r is None else [_finite(r[2]) or 0.0, _finite(r[3]) or 0.0]
        out.append(Segment(
            id=s, name=texts.names[s], action=texts.actions[s], size=size, share=size / total,
            centroid=centroid, xy=xy, drivers=texts.drivers.get(s, []), stability=texts.stability.get(s),
            outlier_group=s > run.k,
        ))
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
    return _scaled(run, raw, np.array(mask)), np.asarray(res["s"], dtype=np.int64)


def _scaled(run: Run, raw: np.ndarray, numeric_mask: np.ndarray) -> np.ndarray:
    """The run's stored scaling applied to raw values (runs stored before Run.scaler: refitted)."""
    if not run.scaler:
        return scale_matrix(raw, run.scale, numeric_mask)
    onehot = onehot_columns(run)
    transforms = ["none" if e in onehot else run.transforms.get(e, "none") for e in run.encoded_features]
    return Scaler(transforms, np.asarray(run.scaler["center"], dtype=np.float64),
                  np.asarray(run.scaler["scale"], dtype=np.float64)).apply(raw)
