"""Scoring with a saved model: exact reproduction of the training assignment, poor fit, the output file,
the scored run the dashboard explores, and the `score` command line."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from sklearn.cluster import KMeans

from core.config import PROJECT_DIR
from core.errors import InputError
from core.export import export_workbook
from core.filters import FilterSpec
from core.ingest import load_file
from core.model_file import load_model, model_from_run, model_json, parse_model, run_model
from core.scoring import DISTANCE, OUTPUT_COLUMNS, POOR_FIT, score_dataset, score_file
from core.segmentation import run_segmentation
from core.views import segment_sizes

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
DATA = Path(__file__).resolve().parents[1] / "data"
MISSING_CSV = DATA / "customers_missing.csv"


@pytest.fixture
def mall(store, mall_csv):
    info = load_file(store, mall_csv)
    run = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=5)
    return info, run, load_model(model_json(model_from_run(store, run.run_id)))


@pytest.fixture
def with_region(store):
    info = load_file(store, MISSING_CSV)
    run = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=3, categoricals=["Region"])
    return info, run, load_model(model_json(model_from_run(store, run.run_id)))


def _training_segments(store, run, id_column="CustomerID") -> pd.Series:
    with store.cursor() as cur:
        rows = cur.execute(f'SELECT "{id_column}", __segment FROM run_{run.run_id}').fetchall()
    return pd.Series({r[0]: r[1] for r in rows}).sort_index()


def test_scoring_the_training_file_reproduces_the_training_assignment(store, mall, mall_csv, tmp_path):
    _, run, model = mall
    result = score_file(store, model, mall_csv, tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == list(pd.read_csv(mall_csv).columns) + list(OUTPUT_COLUMNS)
    got = scored.set_index("CustomerID")["Segment"].sort_index()
    assert (got == _training_segments(store, run)).all() and len(got) == 200
    assert sorted(got.value_counts()) == [22, 23, 35, 39, 81]  # the known Mall groups
    names = {s.id: s.name for s in run.segments}
    assert (scored["Segment name"] == scored["Segment"].map(names)).all()
    assert result.rows_read == result.rows_scored == 200 and result.rows_excluded == 0
    assert [s["size"] for s in result.segments] == [81, 39, 35, 23, 22]
    assert result.segments[0]["share"] == pytest.approx(81 / 200)


def test_reproduction_with_a_categorical_feature_missing_values_and_invalid_rows(store, with_region, tmp_path):
    info, run, model = with_region
    result = score_file(store, model, MISSING_CSV, tmp_path / "scored.parquet")
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    raw = pd.read_csv(MISSING_CSV)
    # rows 31 and 32 (ids 1030, 1031) hold a negative income and a score of 150: excluded, as in training
    excluded = scored[scored["Segment"].isna()]["CustomerID"].tolist()
    assert excluded == [1030, 1031]
    assert result.rows_read == 150 and result.rows_scored == 148 and result.rows_excluded == 2
    got = scored.dropna(subset=["Segment"]).set_index("CustomerID")["Segment"].astype(int).sort_index()
    assert (got == _training_segments(store, run)).all() and len(got) == 148
    # filled by hand count: 4 empty incomes, 2 '?' scores, 3 empty regions, none on the excluded rows
    assert result.filled == {"Annual Income (k$)": 4, "Spending Score (1-100)": 2, "Region": 3}
    assert scored["Annual Income (k$)"].isna().sum() == raw["Annual Income (k$)"].isna().sum() == 4  # input kept


def test_distances_and_poor_fit_match_an_independent_kmeans(store, mall, mall_csv, tmp_path):
    _, run, model = mall
    frame = pd.read_csv(mall_csv)
    far = {"CustomerID": 999, "Gender": "Female", "Age": 40, "Annual Income (k$)": 900,
           "Spending Score (1-100)": 50}
    pd.concat([frame, pd.DataFrame([far])]).to_csv(tmp_path / "new.csv", index=False)
    result = score_file(store, model, tmp_path / "new.csv", tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv").set_index("CustomerID")
    # independent: standardise with pandas, K-Means with scikit-learn, distance to the nearest centre
    X = frame[MALL_FEATURES].to_numpy(float)
    mean, std = X.mean(axis=0), X.std(axis=0)
    km = KMeans(5, n_init=10, random_state=42).fit((X - mean) / std)
    Z = (out[MALL_FEATURES].to_numpy(float) - mean) / std
    dist = np.sqrt(((Z[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2)).min(axis=1)
    np.testing.assert_allclose(out["Distance"], dist, rtol=1e-6)
    assert bool(out.loc[999, "Poor fit"]) and out.loc[999, "Distance"] > model.outlier_threshold
    assert (out["Poor fit"] == (out["Distance"] > model.outlier_threshold)).all()
    assert result.poor_fit == int(out["Poor fit"].sum()) >= 1


def test_poor_fit_customers_join_the_outlier_group_when_the_model_has_one(store, mall, mall_csv, tmp_path):
    _, _, model = mall
    data = copy.deepcopy(model.to_dict())
    data["outlier_threshold"] = 1.0
    data["segments"].append({"id": 6, "name": "Outliers", "action": "review by hand", "rule": None,
                             "outlier_group": True, "size": 0, "share": 0.0})
    result = score_file(store, parse_model(data), mall_csv, tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv")
    assert ((out["Segment"] == 6) == (out["Distance"] > 1.0)).all()
    assert (out.loc[out["Segment"] == 6, "Segment name"] == "Outliers").all()
    assert result.poor_fit == int((out["Distance"] > 1.0).sum()) > 0
    assert result.segments[-1] == {"id": 6, "name": "Outliers", "size": result.poor_fit,
                                   "share": result.poor_fit / 200}


def test_missing_feature_columns_are_named(store, mall, tmp_path):
    _, _, model = mall
    (tmp_path / "few.csv").write_text("CustomerID,Age\n1,30\n2,40\n")
    with pytest.raises(InputError, match=r"'Annual Income \(k\$\)', 'Spending Score \(1-100\)'"):
        score_file(store, model, tmp_path / "few.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_numeric_feature_holding_text_is_refused(store, mall, tmp_path):
    _, _, model = mall
    (tmp_path / "text.csv").write_text(
        "Annual Income (k$),Spending Score (1-100)\nlow,30\nhigh,40\nmid,50\n")
    with pytest.raises(InputError, match="holds text"):
        score_file(store, model, tmp_path / "text.csv")


def test_extra_columns_unseen_levels_and_every_output_format(store, with_region, tmp_path):
    _, _, model = with_region
    frame = pd.read_csv(MISSING_CSV)
    frame.loc[[0, 1], "Region"] = "West"  # a level the model never saw
    frame["Loyalty card"] = "yes"  # an extra column
    frame["Segment"] = "old"  # a column named like an output column
    frame.to_csv(tmp_path / "next.csv", index=False)
    for suffix in (".csv", ".xlsx", ".parquet"):
        out = tmp_path / f"scored{suffix}"
        result = score_file(store, model, tmp_path / "next.csv", out)
        if suffix == ".xlsx":
            rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Scored customers").to_python()
            back = pd.DataFrame(rows[1:], columns=rows[0])
        else:
            back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert list(back.columns) == (list(frame.columns[:-1]) + ["Segment (input)"] + list(OUTPUT_COLUMNS))
        assert (back["Loyalty card"] == "yes").all() and len(back) == 150
        assert result.unseen == {"Region": {"West": 2}} and result.unseen_rows == 2
        assert result.rows_scored == 148
        assert any("West" in w for w in result.warnings)


def test_score_dataset_stores_a_run_the_views_and_export_use(store, mall, mall_csv, tmp_path):
    info, run, model = mall
    scored = score_dataset(store, model, info.dataset_id)
    again = store.get_run(scored.run_id)
    assert again.k == 5 and [s.name for s in again.segments] == [s.name for s in run.segments]
    with store.cursor() as cur:
        same = cur.execute(
            f"SELECT count(*) FILTER (a.__segment = b.__segment), count(*) "
            f"FROM run_{run.run_id} a JOIN run_{scored.run_id} b USING (__row)").fetchone()
        cols = [r[0] for r in cur.execute(f"DESCRIBE run_{scored.run_id}").fetchall()]
    assert same == (200, 200)
    assert DISTANCE in cols and POOR_FIT in cols
    sizes = segment_sizes(store, FilterSpec(scored.run_id))
    assert [z.total for z in sizes] == [81, 39, 35, 23, 22]
    result = export_workbook(store, FilterSpec(scored.run_id, segments=(2,)), tmp_path / "e.xlsx")
    assert result.rows == 39


def test_score_dataset_refuses_a_dataset_without_the_features(store, mall, tmp_path):
    _, _, model = mall
    (tmp_path / "few.csv").write_text("CustomerID,Age\n1,30\n2,40\n3,50\n")
    other = load_file(store, tmp_path / "few.csv")
    runs_before = len(store.list_runs())
    with pytest.raises(InputError, match="lacks the model's feature"):
        score_dataset(store, model, other.dataset_id)
    assert len(store.list_runs()) == runs_before


# -- command line -------------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=300)


def test_cli_segment_model_then_score(tmp_path, mall_csv):
    model = tmp_path / "model.json"
    out = cli("segment", str(mall_csv), "--features", ",".join(MALL_FEATURES), "--k", "5",
              "--model", str(model), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(model.read_text())["k"] == 5
    out = cli("score", str(model), str(mall_csv), "--out", str(tmp_path / "s.csv"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("rows_read", "rows_scored", "rows_excluded", "poor_fit", "segments", "unseen"):
        assert key in data
    assert data["rows_scored"] == 200 and sorted(s["size"] for s in data["segments"]) == [22, 23, 35, 39, 81]
    assert len(pd.read_csv(tmp_path / "s.csv")) == 200


@pytest.mark.parametrize("content", [b"", b'{"format": "customer-segmentation-model"', b"\x80\x04K\x01."])
def test_cli_score_with_a_bad_model_exits_2_and_writes_nothing(tmp_path, mall_csv, content):
    (tmp_path / "bad.json").write_bytes(content)
    out = cli("score", str(tmp_path / "bad.json"), str(mall_csv), "--out", str(tmp_path / "s.csv"))
    assert out.returncode == 2 and out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr and not (tmp_path / "s.csv").exists()


def test_cli_score_with_missing_columns_exits_2(tmp_path, mall_csv):
    model = tmp_path / "model.json"
    assert cli("segment", str(mall_csv), "--k", "5", "--model", str(model)).returncode == 0
    (tmp_path / "few.csv").write_text("CustomerID,Age\n1,30\n2,40\n")
    out = cli("score", str(model), str(tmp_path / "few.csv"))
    assert out.returncode == 2 and "lacks the model's feature" in out.stderr


# -- a run with log1p transforms and an outlier group (UCI Wholesale customers, skewed spend) --------
WHOLESALE = DATA / "wholesale_customers.csv"
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


@pytest.mark.parametrize("scale,k", [("auto", "auto"), ("standard", 5)])
def test_reproduction_with_transforms_and_an_outlier_group(store, tmp_path, scale, k):
    info = load_file(store, WHOLESALE)
    run = run_segmentation(store, info.dataset_id, SPEND, scale=scale, k=k)
    model = load_model(model_json(model_from_run(store, run.run_id)))
    if scale == "auto":
        assert any(f.transform == "log1p" for f in model.features)
    else:
        assert model.outlier_segment is not None and model.outlier_segment.id == run.k + 1
    score_file(store, model, WHOLESALE, tmp_path / "s.parquet")
    out = pd.read_parquet(tmp_path / "s.parquet")
    with store.cursor() as cur:  # output rows are the dataset's rows in file order
        expected = [r[0] for r in cur.execute(
            f"SELECT r.__segment FROM {info.table} d LEFT JOIN run_{run.run_id} r USING (__row) ORDER BY d.__row"
        ).fetchall()]
    assert out["Segment"].astype("Int64").tolist() == expected
    if model.outlier_segment is not None:
        # poor fit is the distance rule; the outlier group also holds the members of clusters merged
        # into it for being too small (core.kmeans.partition), so it may hold more than the poor fits
        scored = out.dropna(subset=["Segment"])
        assert (scored["Poor fit"] == (scored["Distance"] > model.outlier_threshold)).all()
        assert scored["Poor fit"].any()
        assert (scored.loc[scored["Poor fit"].astype(bool), "Segment"] == run.k + 1).all()
        assert (scored.loc[scored["Poor fit"].astype(bool), "Segment name"] == model.outlier_segment.name).all()


def test_an_output_in_a_missing_folder_or_with_an_unknown_suffix_is_refused(store, mall, mall_csv, tmp_path):
    _, _, model = mall
    with pytest.raises(InputError, match="folder not found"):
        score_file(store, model, mall_csv, tmp_path / "nope" / "s.csv")
    with pytest.raises(InputError, match=r"must end in \.csv, \.xlsx, \.parquet"):
        score_file(store, model, mall_csv, tmp_path / "s.json")


def test_a_model_saved_from_a_scored_run_is_the_same_model(store, with_region):
    info, _, model = with_region
    scored = score_dataset(store, model, info.dataset_id)
    again = model_from_run(store, scored.run_id)
    assert run_model(store, scored.run_id).to_dict()["centroids"] == again["centroids"]
    original = model.to_dict()
    for key in ("features", "encoded", "scaler", "centroids", "centroid_segments", "outlier_threshold", "k"):
        assert again[key] == original[key], key
    assert [s["name"] for s in again["segments"]] == [s["name"] for s in original["segments"]]
