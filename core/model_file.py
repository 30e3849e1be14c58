"""Model files: a run's fitted state as plain JSON (never pickle), written and read back with full validation.

A model file holds everything needed to put new customers into a run's segments without refitting:
the features with their roles, transforms and fill values, the scaler, the fitted centroids and the
segment each one belongs to, the outlier threshold, the segments' ids, names, actions and rules, and
where it came from (training dataset name and row count, product and schema version). The schema is
in docs/MODELS.md. `load_model` trusts nothing: a truncated, edited or hostile file raises one
InputError and nothing else happens.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.kmeans import SCALES
from core.models import CATEGORICAL, NUMERIC, SEGMENT, Run
from core.store import Store, quote_ident, run_table

FORMAT = "customer-segmentation-model"
SCHEMA_VERSION = 1
PRODUCT_VERSION = "1.0.0"
TRANSFORMS = ("none", "log1p")
# Size limits: a real model is a few KB (10 centroids x a few dozen encoded columns).
MAX_MODEL_BYTES = 2_000_000
MAX_FEATURES = 200  # user-facing features
MAX_ENCODED = 1_000  # encoded columns (numeric + one-hot levels)
MAX_CENTROIDS = 200
MAX_SEGMENTS = 101  # k <= 100 plus the outlier group
MAX_TEXT = 20_000  # characters of any one string (rules can be long SQL)
MAX_ABS = 1e300  # numbers beyond this are refused (they overflow as soon as they are squared)


@dataclass(frozen=True)
class ModelFeature:
    name: str
    role: str  # numeric | categorical
    transform: str  # none | log1p (numeric only)
    fill: float | str  # the value a missing entry is replaced with (training's median/mean/mode)
    levels: tuple[str, ...] = ()  # categorical: the one-hot levels seen in training, in encoded order


@dataclass(frozen=True)
class ModelSegment:
    id: int
    name: str
    action: str
    rule: str | None = None
    outlier_group: bool = False
    size: int = 0  # in training
    share: float = 0.0


@dataclass
class Model:
    """A validated model file. `encoded` lists (feature, level or None) in the scaler's column order."""

    features: list[ModelFeature]
    encoded: list[tuple[str, str | None]]
    scale: str
    center: np.ndarray
    scale_by: np.ndarray
    centroids: np.ndarray  # centroids x encoded, in the scaled space
    centroid_segments: list[int]
    outlier_threshold: float | None
    k: int
    segments: list[ModelSegment]
    training: dict[str, Any] = field(default_factory=dict)  # dataset, rows, run_id, created_at
    product_version: str = PRODUCT_VERSION
    schema_version: int = SCHEMA_VERSION
    created_at: str = ""

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def outlier_segment(self) -> ModelSegment | None:
        return next((s for s in self.segments if s.outlier_group), None)

    def segment(self, segment_id: int) -> ModelSegment | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "product_version": self.product_version,
            "created_at": self.created_at,
            "training": dict(self.training),
            "scale": self.scale,
            "features": [
                {"name": f.name, "role": f.role, "transform": f.transform, "fill": f.fill,
                 **({"levels": list(f.levels)} if f.role == CATEGORICAL else {})}
                for f in self.features
            ],
            "encoded": [{"feature": f, "level": lv} for f, lv in self.encoded],
            "scaler": {"center": self.center.tolist(), "scale": self.scale_by.tolist()},
            "centroids": self.centroids.tolist(),
            "centroid_segments": list(self.centroid_segments),
            "outlier_threshold": self.outlier_threshold,
            "k": self.k,
            "segments": [
                {"id": s.id, "name": s.name, "action": s.action, "rule": s.rule,
                 "outlier_group": s.outlier_group, "size": s.size, "share": s.share}
                for s in self.segments
            ],
        }


# -- writing ------------------------------------------------------------------------------------
def model_from_run(store: Store, run_id: str) -> dict:
    """The model file's content (a JSON-ready dict) for a stored run. Validated before it is returned,
    so a run that cannot be a model (e.g. non-finite centroids) fails here, not when scoring."""
    run = store.get_run(run_id)
    info = store.get_dataset(run.dataset_id)
    state = _fitted_state(store, run)
    fills = _fill_values(store, run)
    encoded = _encoded_columns(run)
    levels: dict[str, list[str]] = {}
    for feat, level in encoded:
        if level is not None:
            levels.setdefault(feat, []).append(level)
    features = []
    for name in run.features:
        role = CATEGORICAL if name in levels or (info.column(name) and info.column(name).role != NUMERIC) else NUMERIC
        features.append({
            "name": name,
            "role": role,
            "transform": state["transforms"].get(name, "none") if role == NUMERIC else "none",
            "fill": fills[name],
            **({"levels": levels.get(name, [])} if role == CATEGORICAL else {}),
        })
    data = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "product_version": PRODUCT_VERSION,
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training": {"dataset": info.name, "rows": int(run.rows_clustered), "rows_loaded": int(info.rows_loaded),
                     "run_id": run.run_id, "run_created_at": run.created_at},
        "scale": run.scale,
        "features": features,
        "encoded": [{"feature": f, "level": lv} for f, lv in encoded],
        "scaler": {"center": state["center"], "scale": state["scale"]},
        "centroids": state["centroids"],
        "centroid_segments": state["centroid_segments"],
        "outlier_threshold": state["threshold"],
        "k": int(run.k),
        "segments": [
            {"id": s.id, "name": s.name, "action": s.action, "rule": s.rule,
             "outlier_group": bool(s.outlier_group), "size": int(s.size), "share": float(s.share)}
            for s in run.segments
        ],
    }
    parse_model(data)  # never hand out a file we would refuse to read
    return data


def run_model(store: Store, run_id: str) -> Model:
    """The Model of a stored run, for scoring with it directly ("Score a file with this run")."""
    return parse_model(model_from_run(store, run_id))


def model_json(data: dict | Model) -> bytes:
    """The bytes of a model file (what the dashboard's "Download model" sends)."""
    if isinstance(data, Model):
        data = data.to_dict()
    return json.dumps(data, indent=1, allow_nan=False, ensure_ascii=False).encode("utf-8")


def save_model(store: Store, run_id: str, path: str | os.PathLike) -> dict:
    """Write the run's model file to `path` (atomically: a temporary file renamed at the end)."""
    data = model_from_run(store, run_id)
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".json", dir=target.parent)
    except OSError as e:
        raise InputError(f"cannot write the model file in {target.parent}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model_json(data))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return data


def _encoded_columns(run: Run) -> list[tuple[str, str | None]]:
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.profiling import onehot_columns

    onehot = onehot_columns(run)
    return [(onehot[e][0], onehot[e][1]) if e in onehot else (e, None) for e in run.encoded_features]


def _fill_values(store: Store, run: Run) -> dict[str, float | str]:
    """Every feature's fill value: the run's own (Run.filled) where training had missing values, else
    the same statistic computed the same way on the training dataset (core.quality.fill_values' rule)."""
    info = store.get_dataset(run.dataset_id)
    out: dict[str, float | str] = {}
    with store.cursor() as cur:
        for name in run.features:
            if name in run.filled and run.filled[name].get("value") is not None:
                value = run.filled[name]["value"]
            else:
                q = quote_ident(name, info.names())
                col = info.column(name)
                if col is not None and col.role == NUMERIC:
                    agg = "median" if run.fill == "median" else "avg"
                    value = cur.execute(f"SELECT {agg}({q})::DOUBLE FROM {info.table}").fetchone()[0]
                else:
                    row = cur.execute(
                        f"""
                        SELECT {q}::VARCHAR FROM {info.table} WHERE {q} IS NOT NULL
                        GROUP BY {q} ORDER BY count(*) DESC, {q}::VARCHAR LIMIT 1
                        """
                    ).fetchone()
                    value = row[0] if row else None
            if value is None:
                raise InputError(f"feature '{name}' has no values in the training data; it cannot be saved")
            col = info.column(name)
            out[name] = float(value) if col is not None and col.role == NUMERIC else str(value)
    return out


def _fitted_state(store: Store, run: Run) -> dict:
    """Scaler, centroids, centroid -> segment map, transforms and poor-fit threshold of a run.

    Taken from the run (Run.scaler, centroids_scaled, centroid_segments, outlier_threshold). Runs stored
    before those fields existed get them rebuilt from their rows: the scaler by core.kmeans.fit_scaler
    (the rule the fit used), each centroid as the mean of its segment's scaled rows (K-Means' own
    definition). A run without an outlier threshold (nothing was flagged) gets the one
    core.kmeans.outlier_threshold computes from its customers' distances: the distance beyond which
    the run would have flagged a customer, so no training customer is a poor fit by distance alone."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.kmeans import fit_scaler, nearest_centroid, outlier_threshold
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.segmentation import run_matrix

    encoded = _encoded_columns(run)
    if run.scaler.get("center"):
        transforms = {f: run.transforms.get(f, "none") for f, lv in encoded if lv is None}
        center, scale = run.scaler["center"], run.scaler["scale"]
    else:
        raw, _ = _run_raw_matrix(store, run)
        scaler = fit_scaler(raw, run.scale, np.array([lv is None for _, lv in encoded], dtype=bool))
        transforms = {f: t for (f, lv), t in zip(encoded, scaler.transforms) if lv is None}
        center, scale = scaler.center, scaler.scale
    X, labels = run_matrix(store, run)  # the run's own scaling (stored, or refitted the same way)
    if run.centroids_scaled:
        centroids = np.asarray(run.centroids_scaled, dtype=np.float64)
        segments = list(run.centroid_segments) or list(range(1, len(centroids) + 1))
    else:
        segments = sorted(s.id for s in run.segments if not s.outlier_group)
        centroids = np.vstack([X[labels == s].mean(axis=0) if (labels == s).any() else np.zeros(X.shape[1])
                               for s in segments])
    threshold = run.outlier_threshold
    if threshold is None and len(X):
        threshold = outlier_threshold(nearest_centroid(X, centroids)[1])
    return {
        "center": [float(v) for v in center],
        "scale": [float(v) for v in scale],
        "centroids": [[float(v) for v in c] for c in centroids],
        "centroid_segments": [int(v) for v in segments],
        "threshold": None if threshold is None else float(threshold),
        "transforms": transforms,
    }


def _run_raw_matrix(store: Store, run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The run's encoded feature matrix in original units (filled values, one-hot 0/1) and segment ids."""
    table = run_table(run.run_id)
    allowed = store.table_columns(table)
    exprs, params = [], []
    for feat, level in _encoded_columns(run):
        if level is None:
            exprs.append(f"{quote_ident(feat, allowed)}::DOUBLE")
        else:
            exprs.append(f"({quote_ident(feat, allowed)}::VARCHAR = ?)::DOUBLE")
            params.append(level)
    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    with store.cursor() as cur:
        res = cur.execute(f"SELECT {SEGMENT} AS s, {select} FROM {table} ORDER BY __row", params).fetchnumpy()
    raw = np.column_stack([np.asarray(res[f"c{i}"], dtype=np.float64) for i in range(len(exprs))])
    return raw, np.asarray(res["s"], dtype=np.int64)


# -- reading ------------------------------------------------------------------------------------
def load_model(source: str | os.PathLike | bytes | bytearray) -> Model:
    """Read and fully validate a model file (a path or its bytes). Any problem is one InputError."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise InputError(f"'{path.name}' is too large to be a model file (over {MAX_MODEL_BYTES // 1_000_000} MB)")
        data = path.read_bytes()
    if len(data) > MAX_MODEL_BYTES:
        raise InputError(f"too large to be a model file (over {MAX_MODEL_BYTES // 1_000_000} MB)")
    if data[:1] == b"\x80" or data[:2] in (b"PK", b"\x1f\x8b"):
        raise InputError("this is not a model file: it is binary (model files are JSON, never pickle)")
    try:
        text = data.decode("utf-8-sig")
        obj = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise InputError("this is not a model file: it is not UTF-8 text (model files are JSON)") from None
    except (ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError; so are 5,000-digit ints
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise InputError(f"the model file is not valid JSON{where}: truncated or edited?") from None
    return parse_model(obj)


def _refuse_constant(name: str):
    raise InputError(f"the model file contains {name}; every number in a model must be finite")


def parse_model(obj: Any) -> Model:
    """Validate a decoded model file (types, lengths, finite numbers, known values, size limits)."""
    v = _Check()
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise InputError("this is not a model file of Customer Segmentation Insight (no \"format\": "
                         f"\"{FORMAT}\")")
    version = obj.get("schema_version")
    if not _is_int(version) or version != SCHEMA_VERSION:
        raise InputError(f"unsupported model schema version {version!r}; this version reads schema "
                         f"{SCHEMA_VERSION} (save the model again with this version)")
    scale = v.choice(obj.get("scale"), SCALES, "scale")
    features = _parse_features(v, v.list(obj.get("features"), "features", MAX_FEATURES, min_len=1))
    by_name = {f.name: f for f in features}
    encoded = _parse_encoded(v, obj.get("encoded"), by_name)
    m = len(encoded)
    scaler = v.dict(obj.get("scaler"), "scaler")
    center = v.vector(scaler.get("center"), "scaler.center", m)
    scale_by = v.vector(scaler.get("scale"), "scaler.scale", m)
    if (scale_by <= 0).any():
        raise InputError("model file: every scaler.scale value must be above 0")
    k = v.int(obj.get("k"), "k", 1, MAX_SEGMENTS - 1)
    segments = _parse_segments(v, obj.get("segments"), k)
    ids = {s.id for s in segments}
    rows = v.list(obj.get("centroids"), "centroids", MAX_CENTROIDS, min_len=1)
    centroids = np.vstack([v.vector(r, f"centroids[{i}]", m) for i, r in enumerate(rows)])
    cseg = v.list(obj.get("centroid_segments"), "centroid_segments", MAX_CENTROIDS, min_len=len(rows))
    if len(cseg) != len(rows):
        raise InputError(f"model file: centroid_segments has {len(cseg)} entries for {len(rows)} centroids")
    cseg = [v.int(s, "centroid_segments[]", 1, MAX_SEGMENTS) for s in cseg]
    if not set(cseg) <= ids:
        raise InputError("model file: centroid_segments names a segment id that is not in segments")
    threshold = obj.get("outlier_threshold")
    if threshold is not None:
        threshold = v.number(threshold, "outlier_threshold")
        if threshold < 0:
            raise InputError("model file: outlier_threshold must be 0 or more")
    if any(s.outlier_group for s in segments) and threshold is None:
        raise InputError("model file: an outlier group needs an outlier_threshold")
    training = v.dict(obj.get("training", {}), "training")
    training = {key: training[key] for key in ("dataset", "rows", "rows_loaded", "run_id", "run_created_at")
                if key in training}
    for key, val in training.items():
        if key in ("rows", "rows_loaded"):
            v.int(val, f"training.{key}", 0, 10**12)
        else:
            v.text(val, f"training.{key}")
    return Model(
        features=features, encoded=encoded, scale=scale, center=center, scale_by=scale_by,
        centroids=centroids, centroid_segments=cseg, outlier_threshold=threshold, k=k,
        segments=segments, training=training,
        product_version=v.text(obj.get("product_version", ""), "product_version"),
        created_at=v.text(obj.get("created_at", ""), "created_at"),
    )


def _parse_features(v: "_Check", items: list) -> list[ModelFeature]:
    out: list[ModelFeature] = []
    for i, f in enumerate(items):
        f = v.dict(f, f"features[{i}]")
        name = v.text(f.get("name"), f"features[{i}].name", min_len=1)
        role = v.choice(f.get("role"), (NUMERIC, CATEGORICAL), f"features[{i}].role")
        transform = v.choice(f.get("transform", "none"), TRANSFORMS, f"features[{i}].transform")
        if role == NUMERIC:
            fill: float | str = v.number(f.get("fill"), f"features[{i}].fill")
            levels: tuple[str, ...] = ()
        else:
            fill = v.text(f.get("fill"), f"features[{i}].fill")
            levels = tuple(v.text(lv, f"features[{i}].levels[]")
                           for lv in v.list(f.get("levels"), f"features[{i}].levels", MAX_ENCODED))
            if transform != "none":
                raise InputError(f"model file: categorical feature '{name}' cannot have a transform")
        out.append(ModelFeature(name, role, transform, fill, levels))
    names = [f.name for f in out]
    if len(set(names)) != len(names):
        raise InputError("model file: a feature is listed twice")
    return out


def _parse_encoded(v: "_Check", items: Any, by_name: dict[str, ModelFeature]) -> list[tuple[str, str | None]]:
    items = v.list(items, "encoded", MAX_ENCODED, min_len=1)
    out: list[tuple[str, str | None]] = []
    for i, e in enumerate(items):
        e = v.dict(e, f"encoded[{i}]")
        feat = v.text(e.get("feature"), f"encoded[{i}].feature")
        level = e.get("level")
        f = by_name.get(feat)
        if f is None:
            raise InputError(f"model file: encoded[{i}] refers to an unknown feature")
        if f.role == NUMERIC and level is not None:
            raise InputError(f"model file: numeric feature '{feat}' cannot have a level")
        if f.role == CATEGORICAL and (level is None or v.text(level, f"encoded[{i}].level") not in f.levels):
            raise InputError(f"model file: encoded[{i}] names a level not listed for '{feat}'")
        out.append((feat, level))
    if len(set(out)) != len(out):
        raise InputError("model file: an encoded column is listed twice")
    numeric = [f.name for f in by_name.values() if f.role == NUMERIC]
    if sorted(f for f, lv in out if lv is None) != sorted(numeric):
        raise InputError("model file: every numeric feature must appear once in encoded")
    for f in by_name.values():
        if f.role == CATEGORICAL and sorted(lv for g, lv in out if g == f.name) != sorted(f.levels):
            raise InputError(f"model file: the levels of '{f.name}' do not match its encoded columns")
    return out


def _parse_segments(v: "_Check", items: Any, k: int) -> list[ModelSegment]:
    items = v.list(items, "segments", MAX_SEGMENTS, min_len=1)
    out = []
    for i, s in enumerate(items):
        s = v.dict(s, f"segments[{i}]")
        rule = s.get("rule")
        out.append(ModelSegment(
            id=v.int(s.get("id"), f"segments[{i}].id", 1, MAX_SEGMENTS),
            name=v.text(s.get("name"), f"segments[{i}].name", min_len=1),
            action=v.text(s.get("action", ""), f"segments[{i}].action"),
            rule=None if rule is None else v.text(rule, f"segments[{i}].rule"),
            outlier_group=v.bool(s.get("outlier_group", False), f"segments[{i}].outlier_group"),
            size=v.int(s.get("size", 0), f"segments[{i}].size", 0, 10**12),
            share=v.number(s.get("share", 0.0), f"segments[{i}].share"),
        ))
    regular = sorted(s.id for s in out if not s.outlier_group)
    outliers = [s.id for s in out if s.outlier_group]
    if regular != list(range(1, k + 1)) or outliers not in ([], [k + 1]):
        raise InputError(f"model file: segments must have ids 1..{k} (k = {k}), plus {k + 1} for an outlier group")
    if len({s.name for s in out}) != len(out):
        raise InputError("model file: two segments have the same name")
    return sorted(out, key=lambda s: s.id)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _Check:
    """Typed field readers that raise one InputError naming the field."""

    def dict(self, x: Any, what: str) -> dict:
        if not isinstance(x, dict):
            raise InputError(f"model file: {what} must be an object")
        return x

    def list(self, x: Any, what: str, max_len: int, min_len: int = 0) -> list:
        if not isinstance(x, list):
            raise InputError(f"model file: {what} must be a list")
        if not min_len <= len(x) <= max_len:
            raise InputError(f"model file: {what} must have {min_len} to {max_len} entries (has {len(x)})")
        return x

    def text(self, x: Any, what: str, min_len: int = 0) -> str:
        if not isinstance(x, str) or not min_len <= len(x) <= MAX_TEXT:
            raise InputError(f"model file: {what} must be a text of {min_len} to {MAX_TEXT} characters")
        return x

    def int(self, x: Any, what: str, lo: int, hi: int) -> int:
        if not _is_int(x) or not lo <= x <= hi:
            raise InputError(f"model file: {what} must be a whole number from {lo} to {hi}")
        return x

    def bool(self, x: Any, what: str) -> bool:
        if not isinstance(x, bool):
            raise InputError(f"model file: {what} must be true or false")
        return x

    def number(self, x: Any, what: str) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise InputError(f"model file: {what} must be a number")
        try:
            f = float(x)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f) or abs(f) > MAX_ABS:
            raise InputError(f"model file: {what} must be a finite number")
        return f

    def choice(self, x: Any, choices: tuple[str, ...], what: str) -> str:
        if x not in choices or not isinstance(x, str):
            raise InputError(f"model file: {what} must be one of {', '.join(choices)}")
        return x

    def vector(self, x: Any, what: str, length: int) -> np.ndarray:
        items = self.list(x, what, length, min_len=length)
        return np.array([self.number(e, f"{what}[]") for e in items], dtype=np.float64)
