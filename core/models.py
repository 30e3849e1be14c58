"""Small typed results passed between core modules, stored as JSON in DuckDB, converted at the edges."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Column roles
NUMERIC = "numeric"
CATEGORICAL = "categorical"
IDENTIFIER = "identifier"
DATE = "date"  # a date column (stored as DATE); its "days since" twin is a NUMERIC column
EXCLUDED = "excluded"  # kept for display and export, never a feature (constant, empty, free text...)
ROLES = (IDENTIFIER, NUMERIC, CATEGORICAL, DATE, EXCLUDED)

# Reserved column names in dataset and run tables; input columns that collide are renamed at ingest.
ROW = "__row"  # 1-based data row number in the source file (header excluded)
SEGMENT = "__segment"  # segment id, 1..k, 1 = largest segment
X = "__x"  # scatter x: first feature, or PC1 when more than two features
Y = "__y"  # scatter y: second feature, or PC2
RESERVED = (ROW, SEGMENT, X, Y)


def json_safe(o: Any) -> Any:
    """A value JSON can hold without NaN or infinities (None instead), dates as ISO text, numpy scalars as
    Python numbers: the one converter for JSON written to DuckDB or printed by the CLI."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_safe(v) for v in o]
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if o is None or isinstance(o, (str, int, bool)):
        return o
    try:
        return json_safe(o.item())
    except AttributeError:
        return str(o)


def _from_dict(cls, data: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ColumnInfo:
    name: str
    role: str  # one of ROLES
    sql_type: str  # DOUBLE | VARCHAR | BIGINT | DATE
    reason: str = ""  # why this role, in words ("integer codes: 3 distinct values, name 'Region'")

    @classmethod
    def from_dict(cls, d: dict) -> "ColumnInfo":
        return _from_dict(cls, d)


@dataclass
class RuleFinding:
    """One validation rule's result for one column."""

    rule: str  # negative | out_of_range | impossible_age | non_numeric | not_finite | constant_column | duplicate_id
    column: str | None
    count: int
    action: str  # what was done, in words: "rows excluded from the fit", "treated as missing and filled", ...
    message: str  # one sentence a person can act on
    sample_rows: list[int] = field(default_factory=list)  # __row numbers (1-based data rows)
    sample_values: list[Any] = field(default_factory=list)
    excludes_rows: bool = False  # True when rows with this finding are kept out of the fit

    @classmethod
    def from_dict(cls, d: dict) -> "RuleFinding":
        return _from_dict(cls, d)


@dataclass
class QualityReport:
    """Everything cleaning and validation did to a dataset, with a count for every action."""

    rows_read: int = 0  # data rows in the file
    rows_loaded: int = 0  # rows kept after removing exact duplicates
    duplicates_removed: int = 0
    identifier_columns: list[str] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)  # column -> missing values (incl. untypable ones)
    rejected_values: dict[str, int] = field(default_factory=dict)  # column -> values that could not be typed
    findings: list[RuleFinding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)  # e.g. "blank column name 3 renamed to 'column_3'"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "QualityReport":
        q = _from_dict(cls, d)
        q.findings = [RuleFinding.from_dict(f) if isinstance(f, dict) else f for f in q.findings]
        return q


@dataclass
class DatasetInfo:
    dataset_id: str
    name: str
    source: str
    kind: str  # "customers" | "transactions"
    created_at: str
    rows_read: int
    rows_loaded: int
    columns: list[ColumnInfo]
    id_column: str | None
    quality: QualityReport

    @property
    def table(self) -> str:
        return f"ds_{self.dataset_id}"

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def names(self, role: str | None = None) -> list[str]:
        return [c.name for c in self.columns if role is None or c.role == role]


@dataclass
class ElbowPoint:
    k: int
    inertia: float
    silhouette: float | None  # None for k=1
    calinski_harabasz: float | None

    @classmethod
    def from_dict(cls, d: dict) -> "ElbowPoint":
        return _from_dict(cls, d)


@dataclass
class Segment:
    """A segment as fitted: fixed for the run (names do not change with filters)."""

    id: int  # 1..k, 1 = largest
    name: str
    action: str
    size: int
    share: float
    centroid: dict[str, float]  # feature -> mean in original units (numeric features; share for one-hot)
    xy: list[float] | None = None  # the segment's centre in the scatter's coordinates (__x, __y means)
    # Explanations (core/explain.py). drivers: strongest first, each
    # {"feature": str, "direction": "higher" | "lower", "effect": float (standardised mean difference
    # vs the other customers; for a one-hot level the share difference), "segment": float, "others": float}
    drivers: list[dict] = field(default_factory=list)
    rule: str | None = None  # DuckDB SQL over the export's Customers columns, double-quoted identifiers
    rule_precision: float | None = None  # share of customers matching the rule who are in the segment
    rule_recall: float | None = None  # share of the segment matching the rule
    stability: float | None = None  # mean Jaccard of the best-matching cluster over resampled refits
    outlier_group: bool = False  # the flagged group of customers far from every segment (id k + 1)

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        return _from_dict(cls, d)


@dataclass
class Run:
    run_id: str
    dataset_id: str
    created_at: str
    features: list[str]  # user-facing feature columns (numeric and categorical)
    encoded_features: list[str]  # after one-hot encoding
    k: int
    suggested_k: int
    scale: str  # standard | minmax | none | log
    fill: str  # median | mean
    seed: int
    elbow: list[ElbowPoint]
    silhouette: float | None
    inertia: float
    explained_variance: list[float] | None  # PCA ratios when more than two encoded features
    x_label: str
    y_label: str
    rows_clustered: int
    rows_excluded: int
    excluded_by_rule: dict[str, int]  # "rule:column" -> rows excluded
    filled: dict[str, dict]  # column -> {"method": ..., "value": ..., "count": ...}
    segments: list[Segment]
    sampled: bool = False  # elbow/silhouette computed on a sample
    fit_seconds: float = 0.0
    # Trust and reuse (issue 9 / 10). k counts the regular segments; when outliers were flagged,
    # segments holds one more, the outlier group, with id k + 1 and outlier_group=True.
    feature_roles: dict[str, str] = field(default_factory=dict)  # every dataset column -> role
    transforms: dict[str, str] = field(default_factory=dict)  # numeric feature -> "log1p" | "none"
    stability_by_k: dict[str, float] = field(default_factory=dict)  # str(k) -> mean stability
    k_reason: str = ""  # one sentence: why this k
    scaler: dict = field(default_factory=dict)  # {"center": [...], "scale": [...]} per encoded feature
    centroids_scaled: list[list[float]] = field(default_factory=list)  # fitted centroids x encoded, fitted space
    # segment id of each fitted centroid (same order); a cluster merged into the outlier group maps to k + 1.
    # Assigning a row = nearest centroid, then outlier group when its distance exceeds outlier_threshold.
    centroid_segments: list[int] = field(default_factory=list)
    outlier_threshold: float | None = None  # distance in the fitted space beyond which a row is an outlier
    engine: str = "duckdb"  # duckdb | spark

    @property
    def segment_ids(self) -> list[int]:
        """Every valid segment id of the run, the outlier group's included."""
        return [s.id for s in self.segments]

    @property
    def table(self) -> str:
        return f"run_{self.run_id}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Run":
        r = _from_dict(cls, d)
        r.elbow = [ElbowPoint.from_dict(e) if isinstance(e, dict) else e for e in r.elbow]
        r.segments = [Segment.from_dict(s) if isinstance(s, dict) else s for s in r.segments]
        return r


@dataclass
class SegmentProfile:
    """A segment's statistics over the currently filtered customers."""

    segment: int
    name: str
    action: str
    size: int
    share: float  # of the filtered customers
    means: dict[str, float]
    medians: dict[str, float]
    diffs: dict[str, float]  # mean minus the whole base's mean (all clustered customers of the run)

    def to_dict(self) -> dict:
        return asdict(self)
