"""Scoring: put the customers of a file or a dataset into a saved model's segments, without refitting.

The model's steps are replayed exactly: the same ingest (cleaning, typing, validation) as training,
the model's fill values, transforms and scaler, then the nearest fitted centroid; a customer farther
from it than the model's outlier threshold is a *poor fit* (and, when the model has an outlier group,
is put in it, as in training). `score_file` writes every input column plus Segment, Segment name,
Distance and Poor fit; `score_dataset` stores a run carrying the model's segments so the dashboard's
views work on it unchanged, with the poor-fit flag in the run table's POOR_FIT column (docs/MODELS.md).
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.errors import InputError
from core.kmeans import Scaler, nearest_centroid
from core.model_file import Model
from core.models import CATEGORICAL, NUMERIC, ROW, SEGMENT, X, Y, DatasetInfo, Run, Segment
from core.quality import kept_rows_predicate
from core.store import Store, new_id, quote_ident, run_table

OUTPUT_COLUMNS = ("Segment", "Segment name", "Distance", "Poor fit")
POOR_FIT = "__poor_fit"  # BOOLEAN column of a scored run's table: distance beyond the model's threshold
DISTANCE = "__distance"  # DOUBLE column of a scored run's table: distance to the nearest centroid
OUTPUT_FORMATS = (".csv", ".xlsx", ".parquet")
XLSX_MAX_ROWS = 1_048_575
UNSEEN_SHOWN = 20  # unseen levels reported per column
_NUMERIC_TYPES = ("DOUBLE", "BIGINT", "INTEGER", "FLOAT", "DECIMAL", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")
_FRAME = "__scored_rows"
_VALUES = "__scored_values"  # write_scored's registered numpy arrays


@dataclass
class Scored:
    """Every loaded row of a dataset, scored or excluded, in __row order."""

    rows: np.ndarray  # __row of every loaded row
    kept: np.ndarray  # bool: scored (no excluding finding in the features, finite values)
    raw: np.ndarray  # kept rows x encoded: filled values in original units, one-hot 0/1
    segment: np.ndarray  # kept rows: segment id
    distance: np.ndarray  # kept rows: distance to the nearest centroid in the scaled space
    poor_fit: np.ndarray  # kept rows: bool
    filled: dict[str, int]  # feature -> missing values filled (kept rows)
    unseen: dict[str, dict[str, int]]  # categorical feature -> unseen level -> customers (top levels)
    excluded_by_rule: dict[str, int]
    unseen_rows: int = 0  # scored customers with at least one unseen level (exact, every level)


@dataclass
class ScoreResult:
    dataset_id: str
    rows_read: int
    rows_loaded: int
    rows_scored: int
    rows_excluded: int  # rows read but not scored: duplicates removed plus invalid rows
    duplicates_removed: int
    poor_fit: int
    segments: list[dict]  # [{id, name, size, share}] in the model's ids and names
    unseen: dict[str, dict[str, int]] = field(default_factory=dict)
    unseen_rows: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    excluded_by_rule: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    out: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# -- the model's arithmetic ---------------------------------------------------------------------
def transform(model: Model, raw: np.ndarray) -> np.ndarray:
    """Encoded raw values -> the model's scaled space (core.kmeans.Scaler: the fit's own arithmetic)."""
    transforms = {f.name: f.transform for f in model.features}
    per_column = ["none" if level is not None else transforms.get(feat, "none") for feat, level in model.encoded]
    return Scaler(per_column, model.center, model.scale_by).apply(raw)


def assign(model: Model, X_scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment id, distance, poor fit) per row: the nearest centroid's segment (core.kmeans'
    nearest_centroid, the rule the run was assigned with); beyond the outlier threshold a row is a
    poor fit, and goes to the outlier group when the model has one (as core.kmeans.assign does)."""
    n = len(X_scaled)
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0), np.zeros(0, bool)
    which, distance = nearest_centroid(X_scaled, model.centroids)
    segment = np.asarray(model.centroid_segments, dtype=np.int32)[which]
    if model.outlier_threshold is None:
        return segment, distance, np.zeros(n, dtype=bool)
    poor = distance > model.outlier_threshold
    outliers = model.outlier_segment
    if outliers is not None:
        segment = np.where(poor, np.int32(outliers.id), segment).astype(np.int32)
    return segment, distance, poor


# -- reading a dataset through the model ----------------------------------------------------------
def check_columns(model: Model, info: DatasetInfo) -> None:
    missing = [f.name for f in model.features if info.column(f.name) is None]
    if missing:
        shown = ", ".join(f"'{m}'" for m in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(f"the file lacks the model's feature column(s) {shown}; "
                         "they must be present with the same names as in the training file")
    for f in model.features:
        col = info.column(f.name)
        if f.role == NUMERIC and not col.sql_type.upper().startswith(_NUMERIC_TYPES):
            raise InputError(f"column '{f.name}' holds text in this file, but the model needs numbers there")


def score_rows(store: Store, model: Model, info: DatasetInfo) -> Scored:
    """Fill, encode, transform, scale and assign every valid row of a dataset (one columnar fetch).
    A categorical value arrives as its position among the model's levels (0: a level never seen)."""
    check_columns(model, info)
    names = info.names()
    features = model.feature_names
    kept_sql, kept_params = kept_rows_predicate(info.dataset_id, features)
    exprs, params, missing = [], [], []
    for f in model.features:
        q = "d." + quote_ident(f.name, names)
        if f.role == NUMERIC:
            exprs.append(f"COALESCE({q}::DOUBLE, ?)")
            params.append(f.fill)
        else:
            exprs.append(f"COALESCE(list_position(?::VARCHAR[], COALESCE({q}::VARCHAR, ?)), 0)::INTEGER")
            params += [list(f.levels), f.fill]
        missing.append(f"({q} IS NULL)")
    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    nulls = ", ".join(f"{m} AS m{i}" for i, m in enumerate(missing))
    with store.cursor() as cur:
        res = cur.execute(
            f"SELECT d.{ROW} AS r, ({kept_sql}) AS kept, {select}, {nulls} FROM {info.table} d ORDER BY d.{ROW}",
            kept_params + params,
        ).fetchnumpy()
        by_rule = cur.execute(
            """
            SELECT rule || ':' || column_name, count(DISTINCT "row") FROM issues
            WHERE dataset_id = ? AND excludes AND list_contains(?::VARCHAR[], column_name)
            GROUP BY ALL ORDER BY 1
            """,
            [info.dataset_id, features],
        ).fetchall()
        unseen = _count_unseen(cur, model, info, kept_sql, kept_params)
    rows = np.asarray(res["r"], dtype=np.int64)
    kept = np.asarray(res["kept"], dtype=bool)
    raw = _encode(model, res, len(rows))  # encoded once; the kept rows are taken from it
    X = transform(model, raw)
    if X.size:
        kept &= np.isfinite(X).all(axis=1)
    X, raw = X[kept], raw[kept]
    filled = {f.name: int(np.asarray(res[f"m{i}"], dtype=bool)[kept].sum()) for i, f in enumerate(model.features)}
    unseen_any = np.zeros(int(kept.sum()), dtype=bool)
    for i, f in enumerate(model.features):
        if f.role == CATEGORICAL:  # position 0: a level the model never saw
            unseen_any |= np.asarray(res[f"c{i}"])[kept] == 0
    segment, distance, poor = assign(model, X)
    return Scored(rows, kept, raw, segment, distance, poor, {k: v for k, v in filled.items() if v},
                  unseen, {r[0]: int(r[1]) for r in by_rule}, int(unseen_any.sum()))


def _encode(model: Model, res: dict, n: int) -> np.ndarray:
    """The encoded matrix in original units: numeric values, and 0/1 per categorical level."""
    col_of = {f.name: i for i, f in enumerate(model.features)}
    raw = np.zeros((n, len(model.encoded)), dtype=np.float64)
    for j, (feat, level) in enumerate(model.encoded):
        values = res[f"c{col_of[feat]}"]
        if level is None:
            raw[:, j] = np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)
        else:
            position = model.features[col_of[feat]].levels.index(level) + 1
            raw[:, j] = np.asarray(values) == position
    return raw


def _count_unseen(cur, model: Model, info: DatasetInfo, kept_sql: str, kept_params: list) -> dict[str, dict[str, int]]:
    """Categorical levels the model never saw (their one-hot columns are all 0), counted per level
    over the rows that are scored, most frequent first (at most UNSEEN_SHOWN per column)."""
    out: dict[str, dict[str, int]] = {}
    names = info.names()
    for f in model.features:
        if f.role != CATEGORICAL:
            continue
        q = "d." + quote_ident(f.name, names)
        rows = cur.execute(
            f"""
            SELECT COALESCE({q}::VARCHAR, ?) AS level, count(*) AS n FROM {info.table} d
            WHERE {kept_sql} AND NOT list_contains(?::VARCHAR[], COALESCE({q}::VARCHAR, ?))
            GROUP BY level ORDER BY n DESC, level LIMIT {UNSEEN_SHOWN}
            """,
            [f.fill] + kept_params + [list(f.levels), f.fill],
        ).fetchall()
        if rows:
            out[f.name] = {str(level): int(n) for level, n in rows}
    return out


def _segment_sizes(model: Model, segment: np.ndarray) -> list[dict]:
    counts = np.bincount(segment, minlength=max(s.id for s in model.segments) + 1)
    return segment_sizes(model, {s.id: int(counts[s.id]) for s in model.segments})


def segment_sizes(model: Model, counts: dict[int, int]) -> list[dict]:
    """[{id, name, size, share}] in the model's order, from customers counted per segment id (both
    engines' ScoreResult.segments)."""
    total = max(1, sum(counts.values()))
    return [{"id": s.id, "name": s.name, "size": int(counts.get(s.id, 0)),
             "share": float(counts.get(s.id, 0)) / total} for s in model.segments]


# -- files ----------------------------------------------------------------------------------------
def score_file(store: Store, model: Model, path: str | os.PathLike, out: str | os.PathLike | None = None) -> ScoreResult:
    """Load INPUT as a dataset (same cleaning and validation as training), score it, and write `out`
    (.csv, .xlsx or .parquet) with every input column plus Segment, Segment name, Distance, Poor fit."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.ingest import load_file

    started = time.perf_counter()
    if out is not None and Path(out).suffix.lower() not in OUTPUT_FORMATS:
        raise InputError(f"the output file must end in {', '.join(OUTPUT_FORMATS)} (got '{Path(out).name}')")
    info = load_file(store, path)
    scored = score_rows(store, model, info)
    warnings = []
    if out is not None:
        warnings = write_scored(store, model, info, scored, Path(out))
    result = _result(model, info, scored, warnings)
    result.out = None if out is None else str(out)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _result(model: Model, info: DatasetInfo, scored: Scored, warnings: list[str]) -> ScoreResult:
    return score_result(model, info, _segment_sizes(model, scored.segment), int(scored.poor_fit.sum()),
                        scored, warnings)


def score_result(model: Model, info: DatasetInfo, segments: list[dict], poor_fit: int, counts,
                 warnings: list[str]) -> ScoreResult:
    """The ScoreResult of a scored dataset, whichever engine scored it. `counts` carries unseen,
    unseen_rows, filled and excluded_by_rule (a Scored, or core.spark.scoring's counts)."""
    q = info.quality
    n = sum(s["size"] for s in segments)
    if counts.unseen:
        warnings = warnings + [
            f"column '{c}' has values the model has never seen ({', '.join(list(v)[:5])}); those customers "
            "were scored on their other features" for c, v in counts.unseen.items()
        ]
    return ScoreResult(
        dataset_id=info.dataset_id, rows_read=int(q.rows_read or info.rows_read),
        rows_loaded=int(info.rows_loaded), rows_scored=n,
        rows_excluded=int(q.rows_read or info.rows_read) - n, duplicates_removed=int(q.duplicates_removed),
        poor_fit=poor_fit, segments=segments,
        unseen=counts.unseen, unseen_rows=counts.unseen_rows, filled=counts.filled,
        excluded_by_rule=counts.excluded_by_rule, warnings=warnings,
    )


def _output_values(model: Model, scored: Scored) -> dict[str, np.ndarray]:
    """The new columns' values for every loaded row (`kept` False: not scored), as numpy arrays that
    DuckDB scans in place. Not pyarrow arrays: building one imports pandas, half a second of a
    `score` command. `pos` is the segment's 1-based place in model.segments (its name)."""
    n = len(scored.rows)
    kept = scored.kept
    ids = [s.id for s in model.segments]
    place = np.zeros(max(ids) + 1, dtype=np.int32)
    place[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    seg, pos, dist, poor = np.zeros(n, np.int32), np.zeros(n, np.int32), np.zeros(n), np.zeros(n, bool)
    seg[kept] = scored.segment
    pos[kept] = place[scored.segment]
    dist[kept] = scored.distance
    poor[kept] = scored.poor_fit
    return {"r": np.asarray(scored.rows, dtype=np.int64), "kept": kept, "seg": seg, "pos": pos,
            "dist": dist, "poor": poor}


def write_scored(store: Store, model: Model, info: DatasetInfo, scored: Scored, out: Path) -> list[str]:
    """Every loaded row (excluded rows with an empty Segment) in file order; returns warnings.

    One DuckDB query joins the dataset's rows to the scored values on __row (the rows `score_rows`
    fetched) and gives the output as one Arrow table, written by pyarrow."""
    suffix = out.suffix.lower()
    names = info.names()
    if suffix == ".xlsx" and len(scored.rows) > XLSX_MAX_ROWS:
        raise InputError(f"{len(scored.rows):,} rows do not fit in one Excel sheet; write a .csv or .parquet file")
    warnings, cols = [], []
    for c in names:
        alias = c
        if c in OUTPUT_COLUMNS:  # the file already has a column of that name (e.g. a scored file)
            alias = f"{c} (input)"
            warnings.append(f"the input's own column '{c}' is written as '{alias}'")
        cols.append(f"d.{quote_ident(c, names)} AS {quote_ident(alias)}")
    segment, name, distance, poor_fit = (quote_ident(c) for c in OUTPUT_COLUMNS)
    with store.cursor() as cur:
        cur.register(_VALUES, _output_values(model, scored))
        try:
            table = cur.sql(
                f"""
                SELECT {', '.join(cols)},
                       CASE WHEN s.kept THEN s.seg END AS {segment},
                       CASE WHEN s.kept THEN list_extract(?::VARCHAR[], s.pos) END AS {name},
                       CASE WHEN s.kept THEN s.dist END AS {distance},
                       CASE WHEN s.kept THEN s.poor END AS {poor_fit}
                FROM {info.table} d JOIN {_VALUES} s ON s.r = d.{ROW}
                ORDER BY d.{ROW}
                """,
                params=[[s.name for s in model.segments]],
            ).to_arrow_table()
        finally:
            cur.unregister(_VALUES)
    if table.num_rows != len(scored.rows):  # the dataset cannot change, but never misalign rows
        raise RuntimeError("the dataset changed while it was scored")
    _write_table(table, out, suffix)
    return warnings


def _write_table(table, out: Path, suffix: str) -> None:
    """Write to a temporary file beside `out` and rename it: a failure leaves no half-written file."""
    if not out.parent.is_dir():
        raise InputError(f"folder not found for the output file: {out.parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".scored-", suffix=suffix, dir=out.parent)
    except OSError as e:
        raise InputError(f"cannot write in {out.parent}: {e.strerror}") from None
    os.close(fd)
    try:
        if suffix == ".parquet":
            pq.write_table(table, tmp)
        elif suffix == ".csv":
            pacsv.write_csv(table, tmp)
        else:
            _write_xlsx(table, tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_xlsx(table, path: str) -> None:
    """One "Scored customers" sheet; text is always written as text (never a formula)."""
    import xlsxwriter  # only this output format needs it: the score command starts faster without

    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "nan_inf_to_errors": True,
                                    "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("Scored customers")
    for c, name in enumerate(table.column_names):
        ws.write_string(0, c, name)
    for r, row in enumerate(table.to_pylist(), start=1):
        for c, v in enumerate(row.values()):
            if v is None:
                continue
            if isinstance(v, bool) or isinstance(v, (int, float)):
                ws.write(r, c, v)
            else:
                ws.write_string(r, c, str(v)[:32767])
    wb.close()


# -- a dataset scored into a run ------------------------------------------------------------------
def score_dataset(store: Store, model: Model, dataset_id: str) -> Run:
    """Score a stored dataset with a model and store the result as a run (atomically, like any run):
    run_<id> holds the scored rows with the features filled, __segment (the model's ids), __x, __y,
    DISTANCE and POOR_FIT; the Run carries the model's segments, scaler, centroids and threshold."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.segmentation import project_2d

    started = time.perf_counter()
    info = store.get_dataset(dataset_id)
    scored = score_rows(store, model, info)
    if not len(scored.segment):
        raise InputError("no customer in this dataset can be scored: every row has invalid values in the "
                         "model's features (see the data-quality report)")
    encoded = [f if lv is None else f"{f}={lv}" for f, lv in model.encoded]
    proj = project_2d(scored.raw, transform(model, scored.raw), encoded)
    segments = _run_segments(model, scored, proj)
    run = Run(
        run_id=new_id(), dataset_id=info.dataset_id,
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        features=model.feature_names, encoded_features=encoded, k=model.k, suggested_k=model.k,
        scale=model.scale, fill="model", seed=0, elbow=[], silhouette=None,
        inertia=float((scored.distance ** 2).sum()), explained_variance=proj.explained_variance,
        x_label=proj.x_label, y_label=proj.y_label, rows_clustered=len(scored.segment),
        rows_excluded=int(info.rows_loaded) - len(scored.segment), excluded_by_rule=scored.excluded_by_rule,
        # every feature's fill value, even unused (count 0): a model saved from this run keeps them
        filled={f.name: {"method": "model", "value": f.fill, "count": scored.filled.get(f.name, 0)}
                for f in model.features},
        segments=segments,
        feature_roles={f.name: f.role for f in model.features},
        transforms={f.name: f.transform for f in model.features if f.role == NUMERIC},
        k_reason=f"scored with a saved model (trained on '{model.training.get('dataset', '?')}', "
                 f"k = {model.k}); nothing was refitted",
        scaler={"center": model.center.tolist(), "scale": model.scale_by.tolist()},
        centroids_scaled=model.centroids.tolist(), centroid_segments=list(model.centroid_segments),
        outlier_threshold=model.outlier_threshold,
    )
    frame = {ROW: scored.rows[scored.kept], SEGMENT: scored.segment, X: proj.x, Y: proj.y,
             DISTANCE: scored.distance, POOR_FIT: scored.poor_fit}  # numpy arrays DuckDB scans in place
    run.fit_seconds = round(time.perf_counter() - started, 3)
    _store_scored_run(store, info, model, run, frame)
    # deferred: the dashboard's pre-aggregated tables pull in the views; `python -m core score` never
    # needs them and starts without those imports (tests/core/test_scoring_cli_imports.py)
    from core.aggregates_build import build_quietly

    build_quietly(store, run.run_id)
    return run


def _run_segments(model: Model, scored: Scored, proj) -> list[Segment]:
    total = max(1, len(scored.segment))
    out = []
    for s in model.segments:
        mask = scored.segment == s.id
        size = int(mask.sum())
        centroid = {}
        if size:
            means = scored.raw[mask].mean(axis=0)
            for (feat, lv), v in zip(model.encoded, means):
                centroid[feat if lv is None else f"{feat}={lv}"] = float(v)
        xy = [float(proj.x[mask].mean()), float(proj.y[mask].mean())] if size else None
        out.append(Segment(id=s.id, name=s.name, action=s.action, size=size, share=size / total,
                           centroid=centroid, xy=xy, rule=s.rule, outlier_group=s.outlier_group))
    return out


def _store_scored_run(store: Store, info: DatasetInfo, model: Model, run: Run, frame: dict[str, np.ndarray]) -> None:
    names = info.names()
    fills = {f.name: f for f in model.features}
    cols, params = [], []
    for c in names:
        q = "d." + quote_ident(c, names)
        f = fills.get(c)
        if f is None:
            cols.append(f"{q} AS {quote_ident(c)}")
        elif f.role == NUMERIC:
            cols.append(f"COALESCE({q}::DOUBLE, ?) AS {quote_ident(c)}")
            params.append(f.fill)
        else:
            cols.append(f"COALESCE({q}::VARCHAR, ?) AS {quote_ident(c)}")
            params.append(f.fill)
    select = ", ".join(cols)
    table = run_table(run.run_id)
    with store.transaction() as cur:
        cur.register(_FRAME, frame)
        try:
            cur.execute(
                f"""
                CREATE TABLE {table} AS
                SELECT d.{ROW}, {select},
                       a.{SEGMENT}::INTEGER AS {SEGMENT}, a.{X}::DOUBLE AS {X}, a.{Y}::DOUBLE AS {Y},
                       a.{DISTANCE}::DOUBLE AS {DISTANCE}, a.{POOR_FIT}::BOOLEAN AS {POOR_FIT}
                FROM {info.table} d
                JOIN {_FRAME} a ON a.{ROW} = d.{ROW}
                ORDER BY d.{ROW}
                """,
                params,
            )
        finally:
            cur.unregister(_FRAME)
        store.insert_run(cur, run)
