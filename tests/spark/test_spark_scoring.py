"""Scoring across engines: a Spark run saved as a model file and scored with core.scoring, and a
DuckDB-engine model scored on Spark (core.spark.scoring) against core.scoring.score_file."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

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
