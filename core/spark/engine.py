"""`segment_spark`: the whole pipeline on Spark, from INPUT to a run the dashboard can open.

Stages (timed in SparkResult.timings): read -> clean (typing, duplicates, validation) -> prepare (kept
rows, fill, one-hot, scaler) -> sweep (driver sample, scikit-learn) -> fit (MLlib k-means||, PCA,
segment aggregates) -> write (Parquet) -> register (DuckDB, one transaction). Parameter rules, roles,
suggest_k, names and actions are core's own functions.
"""
from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError
from core.filters import FilterSpec
from core.models import (
    IDENTIFIER, ROW, SEGMENT, X, Y, DatasetInfo, QualityReport, RuleFinding, Run, SegmentProfile,
)
from core.pipeline import initial_features, initial_scale
from core.profiling import profile_segments
from core.roles import column_roles
from core.segmentation import K_MIN, _check_parameters, final_k_reason
from core.spark import features as feat
from core.spark import fitting, publish
from core.spark.reading import read_input
from core.spark.session import is_connect, spark_session
from core.spark.validation import CleanDataset, clean_and_validate
from core.store import Store, new_id

ENGINE = "spark"


@dataclass
class SparkResult:
    """What `segment_path` returns (core.pipeline.summary reads it), plus where the Parquet is."""

    dataset: DatasetInfo
    run: Run
    profiles: list[SegmentProfile]
    output: Path
    timings: dict[str, float] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)  # Spark jobs per stage (empty on Spark Connect)


class _Clock:
    """Seconds and Spark jobs per stage: each stage's jobs run in a job group named after the next
    stage, so the status tracker counts them (the number of passes is what costs at scale)."""

    def __init__(self, spark) -> None:
        self.timings: dict[str, float] = {}
        self.jobs: dict[str, int] = {}
        self._t = time.perf_counter()
        self._sc = _spark_context(spark)
        self._group = 0
        self._start_group()

    def _start_group(self) -> None:
        self._group += 1
        if self._sc is not None:
            self._sc.setJobGroup(f"csi-stage-{self._group}", "customer segmentation stage")

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._t, 3)
        self._t = now
        if self._sc is not None:
            self.jobs[stage] = len(self._sc.statusTracker().getJobIdsForGroup(f"csi-stage-{self._group}"))
        self._start_group()

    def close(self) -> None:
        if self._sc is not None:
            self._sc.setLocalProperty("spark.jobGroup.id", None)


def _spark_context(spark):
    """The classic SparkContext, or None on Spark Connect (which has none)."""
    try:
        return spark.sparkContext
    except Exception:  # pyspark raises its own error type for Connect sessions
        return None


def dataset_info(clean: CleanDataset, name: str, source: str) -> DatasetInfo:
    """The DatasetInfo of a Spark-cleaned dataset; its findings are filled in at registration, the
    constant columns are known already (roles and default features depend on them)."""
    report = QualityReport(
        rows_read=clean.rows_read, rows_loaded=clean.rows_loaded,
        duplicates_removed=clean.duplicates_removed,
        identifier_columns=[c.name for c in clean.columns if c.role == IDENTIFIER],
        missing=dict(clean.missing), rejected_values=dict(clean.rejected_values),
        findings=[RuleFinding("constant_column", c, 0, "", "") for c in clean.constant],
        repairs=list(clean.repairs), warnings=list(clean.warnings),
    )
    return DatasetInfo(
        dataset_id=new_id(), name=name, source=source, kind="customers",
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), rows_read=clean.rows_read,
        rows_loaded=clean.rows_loaded, columns=list(clean.columns), id_column=clean.id_column,
        quality=report,
    )


def segment_spark(
    store: Store,
    path: str | Path,
    *,
    features: list[str] | None = None,
    k: int | str = "auto",
    scale: str | None = None,
    fill: str = "median",
    seed: int = 42,
    master: str | None = None,
    spark=None,
    name: str | None = None,
) -> SparkResult:
    """Read, clean, segment and profile INPUT (a file, a folder of Parquet parts or a glob) on Spark;
    write the results as Parquet and register them in `store` as a dataset and a run (engine "spark").
    `name` is the dataset's name (default: the file or folder name without extension)."""
    own = spark is None
    spark = spark or spark_session(master)
    try:
        return _segment(store, spark, str(path), features, k, scale, fill, seed, name)
    finally:
        # The run's cached frames (input, typed rows, features, vectors) are not needed any more.
        spark.catalog.clearCache()
        if own and is_connect(spark):
            # A Connect session made here (the CLI's) is this run's alone; left open, its gRPC
            # channel keeps the process from exiting. A local session is left for getOrCreate to reuse.
            spark.stop()


def _segment(store: Store, spark, source: str, features, k, scale, fill, seed, name) -> SparkResult:
    clock = _Clock(spark)
    data = read_input(spark, source)
    clock.lap("read")
    clean = clean_and_validate(spark, data)
    stem = Path(source.rstrip("/")).name.split("*")[0] or "spark input"
    info = dataset_info(clean, name or Path(stem).stem or stem, source)
    clock.lap("clean")
    numeric, categorical, k_value = _check_parameters(
        info, features or initial_features(info), k, scale or initial_scale(info), fill, seed, ()
    )
    scale, seed = scale or initial_scale(info), int(seed)
    prepared = feat.prepare(clean, info, numeric, categorical, fill)
    _check_size(prepared, k_value)
    scaler = feat.fit_scaler(prepared, scale)
    clock.lap("prepare")
    sweep = fitting.sample_sweep(prepared, scaler, seed)
    k_final = k_value if k_value is not None else sweep.suggested
    clock.lap("sweep")
    fit = fitting.final_fit(prepared, scaler, sweep, k_final, seed)
    run = _run(info, prepared, scaler, sweep, fit, scale, fill, seed, k_value is not None)
    explained = fitting.segments(fit, prepared, sweep, seed)
    run.segments = explained.segments
    clock.lap("fit")
    files = publish.result_folder(store, run.run_id)
    try:
        publish.write_parquet(files, dataset=clean.typed, run_rows=_run_rows(clean, info, prepared, fit),
                              issues=clean.issues, rejects=clean.rejects)
        publish.write_profile(files, run)
        clock.lap("write")
        run.fit_seconds = round(sum(clock.timings.values()), 3)
        info, run = publish.register(store, files, info, run, explained.rules, prepared.numeric)
    except BaseException:
        shutil.rmtree(files.folder, ignore_errors=True)  # a failure leaves no half-written results
        raise
    profiles = profile_segments(store, FilterSpec(run.run_id))
    clock.lap("register")
    clock.close()
    return SparkResult(info, run, profiles, files.folder, clock.timings, clock.jobs)


def _check_size(prepared: feat.SparkFeatures, k_value: int | None) -> None:
    """core.segmentation.run_segmentation's checks on what is left to segment."""
    n = prepared.rows
    if k_value is not None and n < k_value:
        raise InputError(f"only {n} customers left to segment; choose k of at most {n}")
    if prepared.distinct < K_MIN:
        raise InputError(
            f"all {n} customers have the same values in the chosen features; there is nothing to segment"
        )
    if k_value is not None and prepared.distinct < k_value:
        raise InputError(f"only {prepared.distinct} distinct customers; choose k of at most {prepared.distinct}")


def _run(info, prepared, scaler, sweep, fit, scale: str, fill: str, seed: int, chosen: bool) -> Run:
    roles = column_roles(info)
    logged = {e for e, lg in zip(prepared.encoded, scaler.log) if lg}
    transforms = {f: ("log1p" if f in logged else "none") for f in prepared.numeric}
    part = fit.part
    reason = final_k_reason(sweep.points, sweep.stability_by_k, fit.k_fit, chosen, part.k)
    return Run(
        run_id=new_id(), dataset_id=info.dataset_id,
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        features=prepared.numeric + prepared.categorical, encoded_features=list(prepared.encoded),
        k=part.k, suggested_k=sweep.suggested, scale=scale, fill=fill, seed=seed, elbow=sweep.points,
        silhouette=fit.silhouette, inertia=fit.inertia, explained_variance=fit.explained_variance,
        x_label=fit.x_label, y_label=fit.y_label, rows_clustered=prepared.rows,
        rows_excluded=prepared.rows_excluded, excluded_by_rule=prepared.excluded_by_rule,
        filled=prepared.filled, segments=[], sampled=sweep.sampled,
        feature_roles={c: r["role"] for c, r in roles.items()}, transforms=transforms,
        stability_by_k=dict(sweep.stability_by_k), k_reason=reason,
        scaler={"center": scaler.center, "scale": scaler.scale},
        centroids_scaled=[[float(v) for v in c] for c in part.centroids_scaled],
        centroid_segments=[int(s) for s in part.centroid_segments],
        outlier_threshold=part.outlier_threshold, engine=ENGINE,
    )


def _run_rows(clean: CleanDataset, info: DatasetInfo, prepared: feat.SparkFeatures, fit: fitting.Fit):
    """run_<id> rows: __row, every dataset column with missing values filled, __segment, __x, __y."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    cols = [feat.filled_column(info, c.name, prepared.fill).alias(c.name) for c in info.columns]
    assigned = fit.assigned.select(ROW, SEGMENT, X, Y)
    return clean.typed.join(assigned, ROW).select(
        F.col(ROW), *cols, F.col(SEGMENT).cast("int"), F.col(X).cast("double"), F.col(Y).cast("double"))


__all__ = ["segment_spark", "SparkResult"]
