"""The in-process half of the benchmark: core functions called directly on a private DuckDB file
(ingest, cleaning + validation, segmentation, profiling, segment agreement, streaming export, RFM)."""
from __future__ import annotations

import os
import shutil
import statistics
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.measure import RSSSampler, timed
from core.config import Settings
from core.store import Store, quote_ident

PREFERRED_EXPORT_COLUMN = "Annual Income (k$)"


@dataclass
class CoreResult:
    rows: int
    ingest_s: float | None = None
    stage_s: float | None = None  # reading the file into an all-text staging table
    clean_validate_s: float | None = None  # typing + cleaning + validation + publish
    rows_loaded: int | None = None
    duplicates_removed: int | None = None
    findings: dict = field(default_factory=dict)
    segmentation_s: float | None = None
    segmentation_phases: dict = field(default_factory=dict)
    profile_s: float | None = None
    k: int | None = None
    suggested_k: int | None = None
    rows_clustered: int | None = None
    sampled: bool | None = None
    features: list = field(default_factory=list)
    ari: float | None = None
    ari_s: float | None = None
    ari_method: str = ""
    export_rows: int | None = None
    export_s: float | None = None  # median of export_runs
    export_runs: list = field(default_factory=list)
    export_rss_delta: int | None = None
    export_bytes: int | None = None
    export_filter: tuple | None = None  # (column, lo, hi): the selection, reused for the app and baseline
    peak_rss: int | None = None
    # every clustered row exported as csv / parquet / xlsx, LARGE_EXPORT_RUNS times each (median quoted)
    large_exports: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)


LARGE_EXPORT_MIN_ROWS = 1_000_000  # sizes at which every row is exported in each format (issue 11: at 1M;
LARGE_EXPORT_MAX_ROWS = 1_000_000  # above, three Excel files of every row would take most of the run)
LARGE_EXPORT_RUNS = 3
EXPORT_RUNS = 3  # the filtered export_workbook, timed this many times (median quoted)
RFM_RUNS = 3  # load_transactions, timed this many times (median quoted)


def _store(folder: Path, data_file: Path) -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=folder)
    return Store(folder / "bench.duckdb", settings, allowed_dirs=[folder, data_file.parent])


def run_core(data_file: Path, rows: int, folder: Path, export_rows: int, seed: int = 42) -> CoreResult:
    res = CoreResult(rows=rows)
    sampler = RSSSampler(os.getpid(), children=False).start()
    store = _store(folder, data_file)
    try:
        info = _ingest(store, data_file, res, sampler)
        if info is not None:
            _split_ingest(store, data_file, res)
            run = _segment(store, info, res, sampler, seed)
            if run is not None:
                _agreement(store, run, res)
                _export(store, run, res, folder, export_rows, sampler)
                if LARGE_EXPORT_MIN_ROWS <= rows <= LARGE_EXPORT_MAX_ROWS:
                    _large_exports(store, run, res, folder, sampler)
    finally:
        store.close()
        sampler.stop()
        res.peak_rss = sampler.peak
    return res


def _err(res: CoreResult, what: str, e: BaseException) -> None:
    res.errors.append(f"{what}: {type(e).__name__}: {e}")
    traceback.print_exc()


def _ingest(store: Store, data_file: Path, res: CoreResult, sampler: RSSSampler):
    try:
        from core.ingest import load_file
    except ImportError as e:
        _err(res, "ingest", e)
        return None
    try:
        with timed(sampler) as t:
            info = load_file(store, data_file, "customers", source_name=data_file.name)
    except Exception as e:  # noqa: BLE001 - the benchmark reports and goes on
        _err(res, "ingest", e)
        return None
    res.ingest_s = t.seconds
    res.rows_loaded = info.rows_loaded
    res.duplicates_removed = info.quality.duplicates_removed
    res.findings = {f"{f.rule}:{f.column}": f.count for f in info.quality.findings if f.count}
    return info


def _split_ingest(store: Store, data_file: Path, res: CoreResult) -> None:
    """Reading vs typing + cleaning + validation, through the two halves load_file is made of."""
    try:
        from core import ingest
        from core.store import new_id
    except ImportError:
        return
    if not (hasattr(ingest, "stage_file") and hasattr(ingest, "publish_staged")):
        return
    try:
        with store.transaction() as cur:
            t0 = time.perf_counter()
            staged = ingest.stage_file(cur, data_file, f"stage_{new_id()}")
            t1 = time.perf_counter()
            ingest.publish_staged(store, cur, staged, "customers (split timing)", data_file.name, "customers")
            t2 = time.perf_counter()
            cur.execute(f"DROP TABLE IF EXISTS {staged.table}")
        res.stage_s, res.clean_validate_s = t1 - t0, t2 - t1
    except Exception as e:  # noqa: BLE001
        _err(res, "ingest split", e)


def _segment(store: Store, info, res: CoreResult, sampler: RSSSampler, seed: int):
    try:
        from core.filters import FilterSpec
        from core.pipeline import initial_features, initial_scale
        from core.segmentation import run_segmentation
    except ImportError as e:
        _err(res, "segmentation", e)
        return None
    phases: list[tuple[float, str]] = []

    def progress(stage, *_args, **_kwargs):
        phases.append((time.perf_counter(), str(stage)[:40]))

    try:
        with timed(sampler) as t:
            t0 = time.perf_counter()
            run = run_segmentation(
                store, info.dataset_id, initial_features(info), k="auto", scale=initial_scale(info),
                seed=seed, progress=progress,
            )
    except Exception as e:  # noqa: BLE001
        _err(res, "segmentation", e)
        return None
    res.segmentation_s = t.seconds
    # progress(stage, ...) marks the start (and progress) of a stage: the time up to the next call
    # belongs to the stage named by the previous one.
    prev, stage = t0, "setup"
    for when, text in phases + [(t0 + t.seconds, "done")]:
        res.segmentation_phases[stage] = res.segmentation_phases.get(stage, 0.0) + (when - prev)
        prev, stage = when, text
    res.segmentation_phases.pop("done", None)
    res.k, res.suggested_k = run.k, run.suggested_k
    res.rows_clustered, res.sampled, res.features = run.rows_clustered, run.sampled, list(run.features)
    try:
        from core.profiling import profile_segments

        with timed() as tp:
            profile_segments(store, FilterSpec(run.run_id))
        res.profile_s = tp.seconds
    except Exception as e:  # noqa: BLE001
        _err(res, "profile", e)
    return run


def _feature_matrix(store: Store, run) -> tuple[np.ndarray, np.ndarray]:
    """The run's encoded features (filled, scaled as the run scaled them) and its labels, by __row."""
    cols = run.encoded_features if all(c in run.features for c in run.encoded_features) else run.features
    allowed = store.table_columns(run.table)
    sel = ", ".join(f"{quote_ident(c, allowed)}::DOUBLE" for c in cols)
    with store.cursor() as cur:
        data = cur.execute(f'SELECT {sel}, "__segment" FROM {run.table} ORDER BY "__row"').fetchnumpy()
    X = np.column_stack([np.asarray(data[k], dtype=float) for k in list(data)[:-1]])
    labels = np.asarray(data[list(data)[-1]], dtype=np.int64)
    if run.scale == "standard":
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1)
    elif run.scale == "minmax":
        lo, hi = X.min(axis=0), X.max(axis=0)
        X = (X - lo) / np.where(hi > lo, hi - lo, 1)
    elif run.scale == "log":
        X = np.log1p(np.maximum(X, 0))
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1)
    return X, labels


def _agreement(store: Store, run, res: CoreResult) -> None:
    """Adjusted Rand index between the stored segments and a full K-Means on the same matrix."""
    try:
        try:
            from core.segmentation import run_matrix

            X, labels = run_matrix(store, run)
        except ImportError:
            X, labels = _feature_matrix(store, run)
        t0 = time.perf_counter()
        try:
            from core.segmentation import agreement_with_full_kmeans

            res.ari = float(agreement_with_full_kmeans(X, labels, run.k, run.seed))
            res.ari_method = "core.segmentation.agreement_with_full_kmeans"
        except ImportError:
            from sklearn.cluster import KMeans
            from sklearn.metrics import adjusted_rand_score

            full = KMeans(run.k, n_init=3, random_state=run.seed).fit_predict(X)
            res.ari = float(adjusted_rand_score(labels, full))
            res.ari_method = "sklearn KMeans(n_init=3) on every row (bench)"
        res.ari_s = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001
        _err(res, "agreement", e)


def export_selection(store: Store, run, target_rows: int) -> tuple[str, float, float, int]:
    """A range on one numeric column that selects about `target_rows` rows (all rows when fewer)."""
    from core.views import count, run_columns
    from core.filters import FilterSpec

    numeric, _ = run_columns(store, run)
    col = PREFERRED_EXPORT_COLUMN if PREFERRED_EXPORT_COLUMN in numeric else numeric[0]
    q = quote_ident(col, numeric)
    with store.cursor() as cur:
        n, lo, hi = cur.execute(f"SELECT count(*), min({q}), max({q}) FROM {run.table}").fetchone()
        frac = min(1.0, target_rows / max(n, 1))
        cut = cur.execute(f"SELECT quantile_disc({q}, ?) FROM {run.table}", [frac]).fetchone()[0]
    if frac >= 1.0:
        cut = hi
    lo, cut = float(lo), float(cut)
    # Ties at the cut may overshoot a little: step the cut down until the count fits.
    for _ in range(50):
        selected, _total = count(store, FilterSpec(run.run_id, ranges={col: (lo, cut)}))
        if selected <= target_rows or cut <= lo:
            break
        cut -= max(1e-9, (float(hi) - lo) / 1000)
    return col, lo, cut, selected


def _export(store: Store, run, res: CoreResult, folder: Path, target_rows: int, sampler: RSSSampler) -> None:
    try:
        from core.export import export_workbook
        from core.filters import FilterSpec
    except ImportError as e:
        _err(res, "export", e)
        return
    try:
        col, lo, hi, selected = export_selection(store, run, target_rows)
        res.export_filter = (col, lo, hi)
        out = folder / "export.xlsx"
        for _ in range(EXPORT_RUNS):  # the same selection each time (export_workbook caches nothing)
            with timed(sampler) as t:
                export_workbook(store, FilterSpec(run.run_id, ranges={col: (lo, hi)}), out)
            res.export_runs.append(t.seconds)
            res.export_rss_delta = max(res.export_rss_delta or 0, t.rss_delta or 0)
        res.export_s, res.export_rows = statistics.median(res.export_runs), selected
        res.export_bytes = out.stat().st_size
    except Exception as e:  # noqa: BLE001
        _err(res, "export", e)


def _large_exports(store: Store, run, res: CoreResult, folder: Path, sampler: RSSSampler) -> None:
    """Every clustered row as CSV, Parquet and Excel: the streamed-export route's core calls."""
    import statistics

    from core.downloads import export_flat
    from core.export import export_workbook
    from core.filters import FilterSpec

    spec = FilterSpec(run.run_id)
    for fmt in ("csv", "parquet", "xlsx"):
        times, deltas, rows, size = [], [], None, None
        try:
            for _ in range(LARGE_EXPORT_RUNS):
                out = folder / f"all.{fmt}"
                with timed(sampler) as t:
                    result = export_workbook(store, spec, out) if fmt == "xlsx" else export_flat(store, spec, out, fmt)
                times.append(t.seconds)
                deltas.append(t.rss_delta or 0)
                rows, size = result.rows, out.stat().st_size
                out.unlink()
        except Exception as e:  # noqa: BLE001
            _err(res, f"large export {fmt}", e)
            continue
        res.large_exports[fmt] = {"rows": rows, "median_s": statistics.median(times), "runs_s": times,
                                  "rss_delta": max(deltas), "bytes": size}


@dataclass
class RFMResult:
    rows: int
    generate_s: float | None = None
    file_bytes: int | None = None
    derive_s: float | None = None  # the whole load_transactions: median of `runs`
    runs: list = field(default_factory=list)  # seconds of each load_transactions (a fresh database each)
    phases: dict = field(default_factory=dict)  # read / derive / publish seconds of the median run
    customers: int | None = None
    peak_rss_delta: int | None = None
    errors: list = field(default_factory=list)


def run_rfm(rows: int, folder: Path, seed: int = 7) -> RFMResult:
    from core import synth

    res = RFMResult(rows=rows)
    try:
        from core.rfm import load_transactions
    except ImportError as e:
        res.errors.append(f"core.rfm: {e}")
        return res
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"transactions_{rows}.csv"
    t0 = time.perf_counter()
    synth.write_transactions(rows, path, seed)
    res.generate_s = time.perf_counter() - t0
    res.file_bytes = path.stat().st_size
    sampler = RSSSampler(os.getpid(), children=False).start()
    phases = []
    try:
        for i in range(RFM_RUNS):  # each into a fresh database file: nothing is cached between runs
            store = _store(folder / f"rfm{i}", path)
            try:
                timings: dict = {}
                with timed(sampler) as t:
                    info = load_transactions(store, path, "transactions", timings=timings)
                res.runs.append(t.seconds)
                phases.append(timings)
                res.customers = info.rows_loaded
                res.peak_rss_delta = max(res.peak_rss_delta or 0, t.rss_delta or 0)
            finally:
                store.close()
                shutil.rmtree(folder / f"rfm{i}", ignore_errors=True)
        res.derive_s = statistics.median(res.runs)
        res.phases = phases[res.runs.index(sorted(res.runs)[len(res.runs) // 2])]
    except Exception as e:  # noqa: BLE001
        res.errors.append(f"load_transactions: {type(e).__name__}: {e}")
        traceback.print_exc()
    finally:
        sampler.stop()
        path.unlink(missing_ok=True)
    return res


@dataclass
class AgreementResult:
    """The sampled sweep + final fit against a full K-Means on skewed, overlapping, unequal segments."""
    rows: int
    source: str = ""
    k: int | None = None
    outliers: int | None = None
    transforms: dict = field(default_factory=dict)
    segment_sizes: list = field(default_factory=list)
    ari_regular: float | None = None  # over the customers outside the outlier group
    segmentation_s: float | None = None
    full_kmeans_s: float | None = None
    errors: list = field(default_factory=list)


WHOLESALE = Path(__file__).resolve().parent.parent / "tests" / "data" / "wholesale_customers.csv"
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


def run_upsampled_agreement(rows: int, folder: Path, seed: int = 7) -> AgreementResult:
    """UCI Wholesale customers (440 real, skewed clients) resampled to `rows` with multiplicative
    lognormal noise (sigma 0.15), segmented on the six spend columns with auto scaling and auto k;
    the run's regular segments are compared (ARI) with a full K-Means (n_init=10) on the same rows."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from core.ingest import load_file
    from core.kmeans import _fit, _kmeans, numeric_threads
    from core.segmentation import run_matrix, run_segmentation

    res = AgreementResult(rows=rows, source="tests/data/wholesale_customers.csv, resampled with noise")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = pd.read_csv(WHOLESALE)[SPEND].to_numpy(dtype=float)
    picked = base[rng.integers(0, len(base), rows)] * rng.lognormal(0.0, 0.15, (rows, len(SPEND)))
    path = folder / "wholesale_upsampled.parquet"
    pd.DataFrame(np.round(picked, 1), columns=SPEND).to_parquet(path, index=False)
    store = _store(folder, path)
    try:
        info = load_file(store, path, "wholesale upsampled")
        t0 = time.perf_counter()
        run = run_segmentation(store, info.dataset_id, SPEND, k="auto", scale="auto", seed=42)
        res.segmentation_s = time.perf_counter() - t0
        res.k, res.transforms = run.k, dict(run.transforms)
        res.segment_sizes = [s.size for s in run.segments]
        res.outliers = sum(s.size for s in run.segments if s.outlier_group)
        X, labels = run_matrix(store, run)
        regular = labels <= run.k
        t0 = time.perf_counter()
        with numeric_threads():
            full = _fit(_kmeans(run.k, run.seed, 10), X[regular])
        res.full_kmeans_s = time.perf_counter() - t0
        res.ari_regular = float(adjusted_rand_score(full.labels_, labels[regular]))
    except Exception as e:  # noqa: BLE001
        res.errors.append(f"{type(e).__name__}: {e}")
        traceback.print_exc()
    finally:
        store.close()
        path.unlink(missing_ok=True)
    return res
