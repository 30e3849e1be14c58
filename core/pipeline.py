"""End-to-end steps shared by the app and the CLI: the bundled sample, uploads, file -> segments."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.config import DATA_DIR, SAMPLE_FILE
from core.errors import InputError
from core.filters import FilterSpec
from core.ingest import load_file
from core.models import DatasetInfo, Run, Segment, SegmentProfile
from core.profiling import profile_segments
from core.rfm import load_transactions
from core.roles import column_roles, default_features
from core.segmentation import run_segmentation
from core.store import Store

log = logging.getLogger("csi.pipeline")

SAMPLE_NAME = "Mall customers (sample)"
PRESET_SUFFIX = ".preset.json"  # data/<file stem>.preset.json: defaults for datasets loaded from <file>
RFM_FEATURES = ["recency_days", "frequency", "monetary"]


@dataclass(frozen=True)
class Preset:
    """Default features and scaling for datasets loaded from one source file (a sidecar in data/)."""

    source: str  # the file name the dataset was loaded from
    features: list[str]
    scale: str | None = None


def find_preset(info: DatasetInfo, folder: Path = DATA_DIR) -> Preset | None:
    """The sidecar preset of the dataset's source file, when there is one and its columns exist."""
    source = Path(str(info.source or "")).name
    path = folder / (Path(source).stem + PRESET_SUFFIX)
    if not source or not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        preset = Preset(str(raw["source"]), [str(f) for f in raw["features"]], raw.get("scale"))
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("ignored unreadable preset %s", path)
        return None
    if preset.source != source or not all(info.column(c) is not None for c in preset.features):
        return None
    return preset


def initial_features(info: DatasetInfo, *, presets: bool = True) -> list[str]:
    """A preset's features, else R/F/M for transactions, else every usable numeric column."""
    preset = find_preset(info) if presets else None
    if preset is not None:
        return list(preset.features)
    if info.kind == "transactions" and all(info.column(c) is not None for c in RFM_FEATURES):
        return list(RFM_FEATURES)
    return default_features(info)


def initial_scale(info: DatasetInfo, *, presets: bool = True) -> str:
    """A preset's scaling, else log for transactions (RFM measures are heavily skewed: docs/RFM.md),
    else "auto" (log1p only for the strongly skewed, non-negative features, then standardised)."""
    preset = find_preset(info) if presets else None
    if preset is not None and preset.scale:
        return preset.scale
    return "log" if info.kind == "transactions" else "auto"


def ensure_sample(store: Store, sample: Path = SAMPLE_FILE) -> Run:
    """Load and segment the bundled sample on first start; return its newest run."""
    info = store.find_dataset(SAMPLE_NAME)
    if info is None:
        info = load_file(store, sample, SAMPLE_NAME, source_name=sample.name)
    runs = store.list_runs(info.dataset_id)
    if runs:
        return runs[0]
    return run_segmentation(store, info.dataset_id, initial_features(info), k="auto")


def latest_run(store: Store, dataset_id: str) -> Run | None:
    runs = store.list_runs(dataset_id)
    return runs[0] if runs else None


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()-]+")


def safe_filename(filename: str) -> str:
    """The base name of an uploaded file, stripped of paths and odd characters."""
    base = Path(str(filename or "upload").replace("\\", "/")).name
    base = _SAFE_NAME.sub("_", base).strip(" .") or "upload"
    return base[:120]


def remove_stale_uploads(store: Store) -> None:
    """Delete upload copies left by a server killed mid-ingest. Safe at start-up only: DuckDB lets one
    process open the database read-write, so no other process can be using the folder."""
    shutil.rmtree(store.path.parent / "uploads", ignore_errors=True)


def content_hash(data: bytes) -> str:
    """The SHA-256 of a file's bytes: how a file uploaded twice is recognised."""
    return hashlib.sha256(data).hexdigest()


def already_loaded(store: Store, data: bytes) -> DatasetInfo | None:
    """The newest dataset loaded from exactly these bytes, if any."""
    return store.find_by_hash(content_hash(data))


def ingest_upload(
    store: Store,
    filename: str,
    data: bytes,
    *,
    transactions: bool = False,
    mapping: dict | None = None,
    date_order: str = "auto",
) -> DatasetInfo:
    """Save uploaded bytes to a private temporary folder beside the database, load them, remove them."""
    if not data:
        raise InputError(f"'{safe_filename(filename)}' is empty (0 bytes); nothing to load")
    name = safe_filename(filename)
    upload_root = store.path.parent / "uploads"
    upload_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=upload_root))
    try:
        path = folder / name
        path.write_bytes(data)
        info = load_path(
            store, path, Path(name).stem, transactions=transactions, mapping=mapping,
            date_order=date_order, source_name=name,
        )
        # Recorded right after publishing, so that the same bytes uploaded again are recognised.
        with store.transaction() as cur:
            store.set_content_hash(cur, info.dataset_id, content_hash(data))
        return info
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load_path(
    store: Store,
    path: Path,
    name: str | None = None,
    *,
    transactions: bool = False,
    mapping: dict | None = None,
    date_order: str = "auto",
    reference_date: str | None = None,
    source_name: str | None = None,
) -> DatasetInfo:
    if transactions:
        return load_transactions(
            store, path, name, mapping=mapping, reference_date=reference_date,
            date_order=date_order, source_name=source_name,
        )
    return load_file(store, path, name, source_name=source_name)


@dataclass
class SegmentationResult:
    dataset: DatasetInfo
    run: Run
    profiles: list[SegmentProfile]


def segment_path(
    store: Store,
    path: Path,
    *,
    features: list[str] | None = None,
    k: int | str = "auto",
    scale: str | None = None,
    fill: str = "median",
    seed: int = 42,
    transactions: bool = False,
    mapping: dict | None = None,
    date_order: str = "auto",
    reference_date: str | None = None,
) -> SegmentationResult:
    """Load a file, segment it and profile every segment (what `python -m core segment|rfm` does).
    Without features: every usable numeric column (the README's CLI contract; presets are the
    dashboard's defaults)."""
    info = load_path(
        store, path, path.stem, transactions=transactions, mapping=mapping,
        date_order=date_order, reference_date=reference_date, source_name=path.name,
    )
    run = run_segmentation(
        store, info.dataset_id, features or initial_features(info, presets=False), k=k,
        scale=scale or initial_scale(info, presets=False), fill=fill, seed=seed,
    )
    return SegmentationResult(info, run, profile_segments(store, FilterSpec(run.run_id)))


def summary(result: SegmentationResult) -> dict:
    """The CLI's --json object (documented in the README)."""
    info, run = result.dataset, result.run
    fitted = {s.id: s for s in run.segments}
    q = info.quality
    invalid: dict[str, int] = {}
    for key, n in run.excluded_by_rule.items():
        rule = key.split(":", 1)[0]
        invalid[rule] = invalid.get(rule, 0) + int(n)
    return {
        "dataset_id": info.dataset_id,
        "run_id": run.run_id,
        "rows_read": q.rows_read,
        "rows_loaded": info.rows_loaded,
        "rows_clustered": run.rows_clustered,
        "rows_excluded": run.rows_excluded,
        "features": run.features,
        "scale": run.scale,
        "fill": run.fill,
        "seed": run.seed,
        "k": run.k,
        "suggested_k": run.suggested_k,
        "silhouette": run.silhouette,
        "explained_variance": run.explained_variance,
        "elbow": [e.__dict__ for e in run.elbow],
        "segments": [_segment_summary(p, fitted.get(p.segment)) for p in result.profiles],
        "feature_roles": {c: r["role"] for c, r in column_roles(info).items()},
        "transforms": dict(run.transforms),
        "stability_by_k": dict(run.stability_by_k),
        "k_reason": run.k_reason,
        "outlier_threshold": run.outlier_threshold,
        "quality": {
            "duplicates_removed": q.duplicates_removed,
            "identifier_columns": q.identifier_columns,
            "missing_filled": {c: f["count"] for c, f in run.filled.items()},
            "invalid_rows": invalid,
            "invalid_rows_by_column": dict(run.excluded_by_rule),
            "rejected_values": q.rejected_values,
            "findings": [
                {"rule": f.rule, "column": f.column, "count": f.count, "action": f.action}
                for f in q.findings
            ],
            "repairs": q.repairs,
            "warnings": q.warnings,
        },
    }


def _segment_summary(p: SegmentProfile, seg: Segment | None) -> dict:
    """One segments[] entry of the --json object: the profile and the fitted segment's explanations."""
    return {
        "id": p.segment,
        "name": p.name,
        "action": p.action,
        "size": p.size,
        "share": p.share,
        "means": p.means,
        "drivers": [{k: d[k] for k in ("feature", "direction", "effect")} for d in (seg.drivers if seg else [])],
        "rule": seg.rule if seg else None,
        "rule_precision": seg.rule_precision if seg else None,
        "rule_recall": seg.rule_recall if seg else None,
        "stability": seg.stability if seg else None,
        "outlier_group": bool(seg and seg.outlier_group),
    }
