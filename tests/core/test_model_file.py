"""Model files: what a saved run holds (checked against pandas), the round trip, and hostile files."""
from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.ingest import load_file
from core.model_file import (
    MAX_MODEL_BYTES,
    SCHEMA_VERSION,
    load_model,
    model_from_run,
    model_json,
    parse_model,
    save_model,
)
from core.segmentation import run_segmentation

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def mall_model(store, mall_csv):
    info = load_file(store, mall_csv)
    run = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=5)
    return run, model_from_run(store, run.run_id)


def test_model_holds_the_fitted_state_of_the_run(mall_model, mall_csv):
    run, data = mall_model
    frame = pd.read_csv(mall_csv)
    assert data["schema_version"] == SCHEMA_VERSION and data["product_version"]
    assert data["training"]["dataset"] == "mall_customers" and data["training"]["rows"] == 200
    assert [f["name"] for f in data["features"]] == MALL_FEATURES
    assert all(f["role"] == "numeric" and f["transform"] == "none" for f in data["features"])
    # fill values: the medians of the training columns (pandas), though the Mall file has no gaps
    assert [f["fill"] for f in data["features"]] == [frame[c].median() for c in MALL_FEATURES]
    # scaler: mean and population standard deviation (pandas, ddof=0)
    np.testing.assert_allclose(data["scaler"]["center"], frame[MALL_FEATURES].mean(), rtol=1e-12)
    np.testing.assert_allclose(data["scaler"]["scale"], frame[MALL_FEATURES].std(ddof=0), rtol=1e-12)
    # centroids: in original units, the five known groups of the Mall data (shared/data/README)
    centroids = np.array(data["centroids"]) * data["scaler"]["scale"] + data["scaler"]["center"]
    sizes = {s["id"]: s["size"] for s in data["segments"]}
    got = sorted((sizes[seg], round(c[0], 1), round(c[1], 1))
                 for seg, c in zip(data["centroid_segments"], centroids))
    assert got == sorted([(81, 55.3, 49.5), (39, 86.5, 82.1), (35, 88.2, 17.1), (23, 26.3, 20.9),
                          (22, 25.7, 79.4)])
    assert [s["name"] for s in data["segments"]] == [s.name for s in run.segments]
    assert data["k"] == 5 and data["outlier_threshold"] > 0


def test_round_trip_through_bytes_and_file(mall_model, store, tmp_path):
    run, data = mall_model
    model = load_model(model_json(data))
    assert model.to_dict() == data
    path = tmp_path / "model.json"
    saved = save_model(store, run.run_id, path)
    again = load_model(path)
    assert again.to_dict()["centroids"] == saved["centroids"] == data["centroids"]
    assert [s.name for s in again.segments] == [s.name for s in run.segments]
    assert not list(tmp_path.glob(".model-*"))  # no temporary file left behind


def test_categorical_feature_levels_and_fill(store):
    info = load_file(store, DATA / "customers_missing.csv")
    run = run_segmentation(store, info.dataset_id, ["Annual Income (k$)", "Spending Score (1-100)"], k=3,
                           categoricals=["Region"])
    data = model_from_run(store, run.run_id)
    region = next(f for f in data["features"] if f["name"] == "Region")
    frame = pd.read_csv(DATA / "customers_missing.csv")
    assert region["role"] == "categorical" and region["levels"] == ["East", "North", "South"]
    assert region["fill"] == frame["Region"].mode()[0]
    assert [e["level"] for e in data["encoded"] if e["feature"] == "Region"] == ["East", "North", "South"]
    load_model(model_json(data))


# -- hostile model files ------------------------------------------------------------------------
def _edit(data: dict, fn) -> bytes:
    d = copy.deepcopy(data)
    fn(d)
    return json.dumps(d).encode()


HOSTILE = {
    "truncated": lambda b, d: b[: len(b) // 2],
    "empty": lambda b, d: b"",
    "nan": lambda b, d: b.replace(b'"outlier_threshold": ', b'"outlier_threshold": NaN, "x": ', 1),
    "infinity": lambda b, d: _edit(d, lambda x: None).replace(b"[[", b"[[Infinity, ", 1),
    "huge number": lambda b, d: _edit(d, lambda x: x["scaler"]["center"].__setitem__(0, 1e301)),
    "5000-digit int": lambda b, d: _edit(d, lambda x: None).replace(b'"k": 5', b'"k": ' + b"9" * 5000),
    "huge arrays": lambda b, d: _edit(d, lambda x: x.__setitem__("centroids", [[0.0, 0.0]] * 100_000)),
    "too big": lambda b, d: b" " * (MAX_MODEL_BYTES + 1),
    "wrong centroid length": lambda b, d: _edit(d, lambda x: x["centroids"][0].append(1.0)),
    "scaler length": lambda b, d: _edit(d, lambda x: x["scaler"]["scale"].pop()),
    "zero scale": lambda b, d: _edit(d, lambda x: x["scaler"]["scale"].__setitem__(0, 0.0)),
    "k as text": lambda b, d: _edit(d, lambda x: x.__setitem__("k", "5")),
    "k as bool": lambda b, d: _edit(d, lambda x: x.__setitem__("k", True)),
    "number as text": lambda b, d: _edit(d, lambda x: x["centroids"][0].__setitem__(0, "1.5")),
    "segment name not text": lambda b, d: _edit(d, lambda x: x["segments"][0].__setitem__("name", 7)),
    "missing segment": lambda b, d: _edit(d, lambda x: x["segments"].pop()),
    "unknown centroid segment": lambda b, d: _edit(d, lambda x: x["centroid_segments"].__setitem__(0, 9)),
    "unknown transform": lambda b, d: _edit(d, lambda x: x["features"][0].__setitem__("transform", "exp")),
    "unknown role": lambda b, d: _edit(d, lambda x: x["features"][0].__setitem__("role", "date")),
    "unknown scale": lambda b, d: _edit(d, lambda x: x.__setitem__("scale", "robust")),
    "schema version 2": lambda b, d: _edit(d, lambda x: x.__setitem__("schema_version", 2)),
    "no schema version": lambda b, d: _edit(d, lambda x: x.pop("schema_version")),
    "not a model": lambda b, d: b'{"hello": "world"}',
    "a list": lambda b, d: b"[1, 2, 3]",
    "deep nesting": lambda b, d: b"[" * 100_000 + b"]" * 100_000,
    "pickle": lambda b, d: pickle.dumps(d),
    "pickle protocol 0": lambda b, d: pickle.dumps({"a": 1}, protocol=0),
    "latin-1 bytes": lambda b, d: b"\xff\xfe\x00garbage",
    "encoded feature unknown": lambda b, d: _edit(d, lambda x: x["encoded"][0].__setitem__("feature", "Nope")),
    "threshold negative": lambda b, d: _edit(d, lambda x: x.__setitem__("outlier_threshold", -1.0)),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_model_files_give_one_clear_error(mall_model, tmp_path, case):
    _, data = mall_model
    good = model_json(data)
    bad = HOSTILE[case](good, data)
    with pytest.raises(InputError) as e:
        load_model(bad)
    msg = str(e.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    path = tmp_path / "bad.json"
    path.write_bytes(bad)
    with pytest.raises(InputError):
        load_model(path)


def test_a_missing_model_file_is_named(tmp_path):
    with pytest.raises(InputError, match="model file not found"):
        load_model(tmp_path / "nope.json")


def test_an_outlier_group_needs_a_threshold(mall_model):
    _, data = mall_model
    d = copy.deepcopy(data)
    d["segments"].append({"id": 6, "name": "Outliers", "action": "", "rule": None, "outlier_group": True,
                          "size": 0, "share": 0.0})
    parse_model(d)  # valid with the threshold
    d["outlier_threshold"] = None
    with pytest.raises(InputError, match="outlier group needs"):
        parse_model(d)
