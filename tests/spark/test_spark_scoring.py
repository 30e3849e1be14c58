"""Scoring across engines: a Spark run saved as a model file and scored with core.scoring, and a
DuckDB-engine model scored on Spark (core.spark.scoring) against core.scoring.score_file."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.cli import main as cli_main
from core.model_file import load_model, save_model
from core.models import SEGMENT
from core.scoring import score_file
from core.spark.engine import segment_spark
from core.store import run_table

from tests.conftest import MALL_CSV

pytestmark = pytest.mark.spark

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
# The classic five Mall segments (income x score, standardised, k = 5), as in test_spark_engine.py.
MALL_SIZES = [81, 39, 35, 23, 22]


def _store(tmp, *dirs):
    from core.config import Settings
    from core.store import Store

    return Store(tmp / "t.duckdb", Settings(data_dir=tmp, memory_limit="1GB", threads=1),
                 allowed_dirs=[MALL_CSV.parent, *dirs])


@pytest.fixture(scope="module")
def spark_mall(spark, tmp_path_factory):
    """The Mall sample segmented on Spark and saved as a model file (module-scoped: Spark is slow)."""
    tmp = tmp_path_factory.mktemp("sparkmall")
    store = _store(tmp)
    sp = segment_spark(store, str(MALL_CSV), features=MALL_FEATURES, k=5, spark=spark)
    save_model(store, sp.run.run_id, tmp / "spark_model.json")
    yield store, sp, tmp / "spark_model.json"
    store.close()


def test_a_spark_run_saved_as_a_model_scores_every_customer_into_its_segment(spark_mall, tmp_path):
    store, sp, model_path = spark_mall
    assert [s.size for s in sp.run.segments] == MALL_SIZES
    model = load_model(model_path)
    assert model.k == 5 and model.feature_names == MALL_FEATURES
    out = tmp_path / "scored.parquet"
    result = score_file(store, model, MALL_CSV, out)
    assert result.rows_scored == 200 and result.poor_fit == 0
    assert [s["size"] for s in result.segments] == MALL_SIZES
    # Customer by customer: the scored file's Segment is the one the Spark run stored for that id.
    with store.cursor() as cur:
        spark_seg = dict(cur.execute(
            f'SELECT "CustomerID", {SEGMENT} FROM {run_table(sp.run.run_id)}').fetchall())
    scored = pq.read_table(out).to_pydict()
    assert len(spark_seg) == len(scored["CustomerID"]) == 200
    assert {c: s for c, s in zip(scored["CustomerID"], scored["Segment"])} == spark_seg


# -- a DuckDB-engine model scored on Spark ----------------------------------------------------------
DIRTY_CSV = Path(__file__).resolve().parents[1] / "inputs" / "missing_tokens.csv"
# missing_tokens.csv (tests/inputs/README.md): Age 4, Spend 3, Region 4 missing values, filled from the model.
DIRTY_FEATURES = ["Age", "Spend", "Region"]
RESULT_KEYS_SAME = ("rows_read", "rows_loaded", "rows_scored", "rows_excluded", "duplicates_removed",
                    "poor_fit", "unseen", "unseen_rows", "filled", "excluded_by_rule", "warnings")


def _duckdb_model(tmp, path, features, k):
    from core.pipeline import segment_path

    store = _store(tmp, path.parent)
    run = segment_path(store, path, features=features, k=k).run
    save_model(store, run.run_id, tmp / "model.json")
    return store, load_model(tmp / "model.json")


def _same_scores(store, model, path, spark, tmp, id_column):
    from core.spark.scoring import score_spark

    duck = score_file(store, model, path, tmp / "duck.parquet")
    sp = score_spark(spark, model, str(path), tmp / "spark.parquet")
    d = pq.read_table(tmp / "duck.parquet").to_pydict()
    s = pq.read_table(tmp / "spark.parquet").to_pydict()  # the folder of parts Spark wrote
    assert list(s) == [id_column, "Segment", "Segment name", "Distance", "Poor fit"]
    assert s[id_column] == d[id_column]  # every loaded row, in input order
    assert s["Segment"] == d["Segment"] and s["Segment name"] == d["Segment name"]
    assert s["Poor fit"] == d["Poor fit"]
    assert s["Distance"] == pytest.approx(d["Distance"], abs=1e-9)
    for key in RESULT_KEYS_SAME:
        assert getattr(sp, key) == getattr(duck, key), key
    assert [(x["id"], x["name"], x["size"]) for x in sp.segments] == [(x["id"], x["name"], x["size"]) for x in duck.segments]
    return duck, sp


def test_a_duckdb_model_scores_the_mall_sample_on_spark_like_score_file(spark, tmp_path):
    store, model = _duckdb_model(tmp_path, MALL_CSV, MALL_FEATURES, 5)
    try:
        duck, sp = _same_scores(store, model, MALL_CSV, spark, tmp_path, "CustomerID")
    finally:
        store.close()
    assert [x["size"] for x in sp.segments] == MALL_SIZES and sp.rows_scored == 200


def test_a_dirty_file_with_missing_values_scores_the_same_on_spark(spark, tmp_path):
    store, model = _duckdb_model(tmp_path, DIRTY_CSV, DIRTY_FEATURES, 2)
    try:
        duck, sp = _same_scores(store, model, DIRTY_CSV, spark, tmp_path, "CustomerID")
    finally:
        store.close()
    # Counted by hand in the file: 4 Age, 3 Spend and 4 Region values are missing tokens.
    assert sp.filled == {"Age": 4, "Spend": 3, "Region": 4}
    assert sp.rows_scored == 6


def test_the_score_command_on_spark_prints_the_same_json_keys(spark, spark_mall, tmp_path, capsys):
    _, _, model_path = spark_mall
    assert cli_main(["score", str(model_path), str(MALL_CSV), "--json"]) == 0
    duck = json.loads(capsys.readouterr().out)
    out = tmp_path / "scored.parquet"
    assert cli_main(["score", str(model_path), str(MALL_CSV), "--json", "--engine", "spark",
                     "--spark-master", "local[2]", "--out", str(out)]) == 0
    sp = json.loads(capsys.readouterr().out)
    assert list(sp) == list(duck)
    assert [x["size"] for x in sp["segments"]] == [x["size"] for x in duck["segments"]] == MALL_SIZES
    assert pq.read_table(out).num_rows == 200


def _mall_like_rows():
    """Mall customers 1-20 plus five edge cases: a missing income and an empty Gender (filled), an
    infinite income (excluded by validation: not_finite), a Gender the model never saw, and a
    customer far from every centroid (a poor fit)."""
    import pyarrow.csv as pacsv

    mall = pacsv.read_csv(MALL_CSV).slice(0, 20).to_pydict()
    rows = [list(r) for r in zip(*mall.values())]
    rows += [[201, "Male", 30, None, 50], [202, None, 30, 60, 50], [203, "Female", 40, float("inf"), 40],
             [204, "Other", 35, 70, 70], [205, "Male", 50, 900, 99]]
    return list(mall), rows


def test_edge_cases_score_the_same_on_spark_from_a_folder_of_parquet_parts(spark, tmp_path):
    import pyarrow as pa

    names, rows = _mall_like_rows()
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    single = tmp_path / "edge.parquet"
    pq.write_table(table, single)
    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(table.slice(0, 12), parts / "part-0.parquet")
    pq.write_table(table.slice(12), parts / "part-1.parquet")
    store, model = _duckdb_model(tmp_path, MALL_CSV, MALL_FEATURES + ["Gender"], 5)
    try:
        from core.spark.scoring import score_spark

        duck = score_file(store, model, single, tmp_path / "duck.parquet")
        sp = score_spark(spark, model, str(parts), tmp_path / "spark.parquet")
    finally:
        store.close()
    d = pq.read_table(tmp_path / "duck.parquet").to_pydict()
    s = pq.read_table(tmp_path / "spark.parquet").to_pydict()
    assert s["CustomerID"] == d["CustomerID"] == [r[0] for r in rows]
    assert s["Segment"] == d["Segment"] and s["Poor fit"] == d["Poor fit"]
    assert s["Distance"] == pytest.approx(d["Distance"], abs=1e-9)
    for key in RESULT_KEYS_SAME:
        assert getattr(sp, key) == getattr(duck, key), key
    # By construction: 203's infinite income is excluded, 201's income and 202's Gender are filled,
    # "Other" was never seen, 205 is far beyond every centroid.
    assert s["Segment"][22] is None and sp.rows_scored == 24 and sp.rows_excluded == 1
    assert sp.filled == {"Annual Income (k$)": 1, "Gender": 1}
    assert sp.unseen == {"Gender": {"Other": 1}} and sp.unseen_rows == 1
    assert s["Poor fit"][24] is True and sp.poor_fit >= 1


def test_a_file_without_the_models_features_is_refused_and_nothing_is_written(spark, spark_mall, tmp_path):
    from core.errors import InputError
    from core.spark.scoring import score_spark

    _, _, model_path = spark_mall
    model = load_model(model_path)
    with pytest.raises(InputError, match="must end in .parquet"):
        score_spark(spark, model, str(MALL_CSV), tmp_path / "scored.csv")
    with pytest.raises(InputError, match="lacks the model's feature column"):
        score_spark(spark, model, str(DIRTY_CSV), tmp_path / "scored.parquet")
    assert list(tmp_path.iterdir()) == []
