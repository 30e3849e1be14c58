"""Fixtures for core tests: publish a dataset and a clustered run straight from a pandas frame.

Views, filters and export are tested against real ds_/run_ tables without depending on ingest or
segmentation: the frame carries the dataset columns plus __segment, __x and __y.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.models import (
    CATEGORICAL,
    IDENTIFIER,
    NUMERIC,
    ROW,
    SEGMENT,
    X,
    Y,
    ColumnInfo,
    DatasetInfo,
    QualityReport,
    RuleFinding,
    Run,
    Segment,
)
from core.store import Store, dataset_table, new_id, quote_ident, run_table

SEGMENT_NAMES = ["Young big spenders", "Careful high earners", "Average", "Low income, high spending",
                 "Frugal", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth"]


def _role(series: pd.Series, name: str, id_column: str | None) -> ColumnInfo:
    if name == id_column:
        return ColumnInfo(name, IDENTIFIER, "BIGINT" if pd.api.types.is_integer_dtype(series) else "VARCHAR")
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return ColumnInfo(name, CATEGORICAL, "VARCHAR")
    sql_type = "BIGINT" if pd.api.types.is_integer_dtype(series) else "DOUBLE"
    return ColumnInfo(name, NUMERIC, sql_type)


def publish_run(
    store: Store,
    frame: pd.DataFrame,
    *,
    id_column: str | None = None,
    features: list[str] | None = None,
    name: str = "test customers",
    quality: QualityReport | None = None,
) -> Run:
    """Create ds_<id> and run_<id> from `frame` (dataset columns + __segment/__x/__y) and register both."""
    frame = frame.reset_index(drop=True)
    if ROW not in frame:
        frame.insert(0, ROW, np.arange(1, len(frame) + 1, dtype="int64"))
    data_cols = [c for c in frame.columns if c not in (ROW, SEGMENT, X, Y)]
    columns = [_role(frame[c], c, id_column) for c in data_cols]
    k = int(frame[SEGMENT].max()) if len(frame) else 1
    dataset_id, run_id = new_id(), new_id()
    sizes = frame[SEGMENT].value_counts().to_dict()
    numeric = [c.name for c in columns if c.role == NUMERIC]
    features = features if features is not None else numeric[:2]
    segments = [
        Segment(
            id=s,
            name=SEGMENT_NAMES[s - 1],
            action=f"action for segment {s}",
            size=int(sizes.get(s, 0)),
            share=float(sizes.get(s, 0)) / max(1, len(frame)),
            centroid={f: float(frame.loc[frame[SEGMENT] == s, f].mean()) for f in features
                      if (frame[SEGMENT] == s).any()},
        )
        for s in range(1, k + 1)
    ]
    quality = quality or QualityReport(
        rows_read=len(frame) + 2,
        rows_loaded=len(frame),
        duplicates_removed=2,
        identifier_columns=[id_column] if id_column else [],
        missing={numeric[0]: 3} if numeric else {},
        findings=[
            RuleFinding("negative", numeric[0] if numeric else None, 1, "rows excluded from the fit",
                        "1 row has a negative value", [7], [-1], True)
        ],
        repairs=["blank column name 3 renamed to 'column_3'"],
    )
    info = DatasetInfo(dataset_id, name, f"{name}.csv", "customers", "", quality.rows_read, len(frame),
                       columns, id_column, quality)
    run = Run(
        run_id=run_id,
        dataset_id=dataset_id,
        created_at="2024-01-01 00:00:00",
        features=features,
        encoded_features=features,
        k=k,
        suggested_k=k,
        scale="standard",
        fill="median",
        seed=42,
        elbow=[],
        silhouette=0.5,
        inertia=123.0,
        explained_variance=None,
        x_label=features[0] if features else "x",
        y_label=features[1] if len(features) > 1 else "y",
        rows_clustered=len(frame),
        rows_excluded=1,
        excluded_by_rule={f"negative:{numeric[0]}": 1} if numeric else {},
        filled={numeric[0]: {"method": "median", "value": 1.0, "count": 3}} if numeric else {},
        segments=segments,
    )
    ds_cols = ", ".join(quote_ident(c) for c in [ROW] + data_cols)
    run_cols = ", ".join(quote_ident(c) for c in [ROW] + data_cols + [SEGMENT, X, Y])
    with store.transaction() as cur:
        cur.register("frame_view", frame)
        cur.execute(f"CREATE TABLE {dataset_table(dataset_id)} AS SELECT {ds_cols} FROM frame_view")
        cur.execute(
            f"CREATE TABLE {run_table(run_id)} AS SELECT {ds_cols}, "
            f"{SEGMENT}::INTEGER AS {SEGMENT}, {X}::DOUBLE AS {X}, {Y}::DOUBLE AS {Y} FROM frame_view"
        )
        cur.unregister("frame_view")
        store.insert_dataset(cur, info)
        store.insert_run(cur, run)
    return run


def mall_frame(csv_path, k: int = 5) -> pd.DataFrame:
    """The bundled Mall sample with a made-up clustering: segments by income band, x/y = the two scores."""
    df = pd.read_csv(csv_path)
    income = df["Annual Income (k$)"]
    df[SEGMENT] = pd.qcut(income.rank(method="first"), k, labels=False).astype(int) + 1
    df[X] = income.astype(float)
    df[Y] = df["Spending Score (1-100)"].astype(float)
    return df


def synthetic_frame(n: int, k: int = 4, seed: int = 1) -> pd.DataFrame:
    """Random customers: an id, two numeric columns, one category, uneven segments (one tiny)."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.55, 0.3, 0.14, 0.01][:k])
    seg = rng.choice(np.arange(1, k + 1), size=n, p=weights / weights.sum())
    return pd.DataFrame(
        {
            "id": np.arange(1000, 1000 + n, dtype="int64"),
            "age": rng.integers(18, 71, size=n).astype("int64"),
            "spend": np.round(rng.gamma(2.0, 50.0, size=n), 2),
            "region": rng.choice(["north", "south", "east", "west"], size=n),
            SEGMENT: seg,
            X: rng.normal(seg * 2.0, 1.0),
            Y: rng.normal(-seg * 1.0, 1.0),
        }
    )


@pytest.fixture
def frames() -> SimpleNamespace:
    """Frame builders for tests: frames.synthetic(n, k=4, seed=1), frames.mall(csv_path, k=5)."""
    return SimpleNamespace(synthetic=synthetic_frame, mall=mall_frame)


@pytest.fixture
def make_run(store: Store) -> Callable[..., Run]:
    """make_run(frame, id_column=None, ...) publishes `frame` as a dataset and a run in the test store."""

    def _make(frame: pd.DataFrame, **kw) -> Run:
        return publish_run(store, frame, **kw)

    return _make


@pytest.fixture
def mall_run(store: Store, mall_csv) -> Run:
    return publish_run(store, mall_frame(mall_csv), id_column="CustomerID", name="mall customers")
