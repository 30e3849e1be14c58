"""The Spark engine against the DuckDB engine: same segments on the Mall sample, same quality report
on the dirty fixture, Parquet parts as input, and a Spark run read back through core.views."""
from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from core.cli import main as cli_main
from core.filters import FilterSpec
from core.models import SEGMENT
from core.pipeline import segment_path
from core.spark.engine import segment_spark
from core.spark.reading import read_input
from core.store import run_table
from core import views

from tests.conftest import DATA_DIR, MALL_CSV
from tests.spark.engines import both_engines, fresh_store, same_segment_count

pytestmark = pytest.mark.spark

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
# The classic five Mall segments (income x score, standardised, k = 5), counted by hand in the
# original analysis and by the DuckDB engine.
MALL_SIZES = [81, 39, 35, 23, 22]


@pytest.fixture(scope="module")
def mall_runs(spark, tmp_path_factory):
    """The Mall sample segmented by both engines into one store (module-scoped: Spark runs are slow)."""
    store = fresh_store(tmp_path_factory.mktemp("mall"), MALL_CSV.parent)
    duck, sp = both_engines(store, spark, MALL_CSV, MALL_FEATURES, 5)
    yield store, duck, sp
    store.close()


def test_mall_sizes_names_and_actions_equal_the_duckdb_engine(mall_runs):
    _, duck, sp = mall_runs
    assert [s.size for s in sp.run.segments] == MALL_SIZES
    assert [s.size for s in duck.run.segments] == MALL_SIZES
    assert [s.name for s in sp.run.segments] == [s.name for s in duck.run.segments]
    assert [s.action for s in sp.run.segments] == [s.action for s in duck.run.segments]
    assert sp.run.engine == "spark" and duck.run.engine == "duckdb"
    # The sweep sees the same 200 standardised rows, so the elbow and the suggested k agree.
    assert sp.run.suggested_k == duck.run.suggested_k == 5
    for a, b in zip(sp.run.elbow, duck.run.elbow):
        assert a.inertia == pytest.approx(b.inertia, rel=1e-9)
    assert sp.run.silhouette == pytest.approx(duck.run.silhouette, abs=1e-6)
    # Centroids in original units match segment by segment.
    for a, b in zip(sp.run.segments, duck.run.segments):
        for f in MALL_FEATURES:
            assert a.centroid[f] == pytest.approx(b.centroid[f], rel=1e-9)


def test_spark_jobs_are_counted_per_stage(mall_runs):
    _, _, sp = mall_runs
    assert list(sp.jobs) == list(sp.timings) == ["read", "clean", "prepare", "sweep", "fit", "write", "register"]
    # Every Spark stage runs jobs; registering is DuckDB's work only.
    assert all(sp.jobs[s] >= 1 for s in ("read", "clean", "prepare", "sweep", "fit", "write"))
    assert sp.jobs["register"] == 0


def test_same_customers_in_the_same_segments(mall_runs):
    store, duck, sp = mall_runs
    assert same_segment_count(store, duck.run.run_id, sp.run.run_id) == 200


def test_registered_spark_run_opens_through_views(mall_runs):
    """Count, segment sizes, histograms and a grid page equal plain SQL over the run table."""
    store, _, sp = mall_runs
    run = sp.run
    table = run_table(run.run_id)
    spec = FilterSpec(run.run_id, segments=(2, 3), ranges={"Annual Income (k$)": (70.0, 140.0)})
    with store.cursor() as cur:
        expected = cur.execute(
            f'SELECT count(*) FROM {table} WHERE {SEGMENT} IN (2, 3) '
            f'AND "Annual Income (k$)" BETWEEN 70 AND 140'
        ).fetchone()[0]
        total = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        first_rows = [r[0] for r in cur.execute(
            f'SELECT __row FROM {table} WHERE {SEGMENT} IN (2, 3) AND "Annual Income (k$)" BETWEEN 70 AND 140 '
            "ORDER BY __row LIMIT 10"
        ).fetchall()]
        score_hist = cur.execute(
            f'SELECT {SEGMENT}, count(*) FROM {table} WHERE {SEGMENT} IN (2, 3) '
            f'AND "Annual Income (k$)" BETWEEN 70 AND 140 GROUP BY 1 ORDER BY 1'
        ).fetchall()
    assert views.count(store, spec) == (expected, total) and total == 200
    hist = views.histograms(store, spec, ["Spending Score (1-100)"])[0]
    assert {s: sum(c) for s, c in hist.counts.items() if sum(c)} == dict(score_hist)
    rows, n = views.grid_page(store, spec, 0, 10)
    assert n == expected and [r["__row"] for r in rows] == first_rows


def test_profile_parquet_matches_the_run(mall_runs):
    _, _, sp = mall_runs
    profile = pq.read_table(sp.output / "profile.parquet").to_pylist()
    assert [p["size"] for p in profile] == MALL_SIZES
    assert [p["name"] for p in profile] == [s.name for s in sp.run.segments]
    per_row = pq.read_table(sp.output / "run").to_pandas()
    assert per_row[SEGMENT].value_counts().sort_index().tolist() == MALL_SIZES


@pytest.fixture(scope="module")
def dirty_runs(spark, tmp_path_factory):
    """The dirty fixture through both engines (same features, k = 3)."""
    store = fresh_store(tmp_path_factory.mktemp("dirty"), DATA_DIR)
    feats = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    yield both_engines(store, spark, DATA_DIR / "dirty_customers.csv", feats, 3)
    store.close()


def test_quality_report_equals_the_duckdb_engine_on_the_dirty_file(dirty_runs):
    duck, sp = (r.dataset for r in dirty_runs)
    a, b = sp.quality, duck.quality
    assert (a.rows_read, a.rows_loaded, a.duplicates_removed) == (b.rows_read, b.rows_loaded, b.duplicates_removed)
    assert (a.rows_read, a.duplicates_removed) == (33, 2)  # hand count: rows 7 and 29 repeat rows 6 and 28
    assert a.identifier_columns == b.identifier_columns == ["CustomerID"]
    assert a.missing == b.missing
    assert a.rejected_values == b.rejected_values == {"Annual Income (k$)": 2}
    assert [(f.rule, f.column, f.count, f.sample_rows, f.message) for f in a.findings] == [
        (f.rule, f.column, f.count, f.sample_rows, f.message) for f in b.findings]
    assert a.repairs == b.repairs and a.warnings == b.warnings
    assert [(c.name, c.role, c.sql_type) for c in sp.columns] == [(c.name, c.role, c.sql_type) for c in duck.columns]


def test_dirty_file_run_excludes_and_fills_like_the_duckdb_engine(dirty_runs):
    duck, sp = (r.run for r in dirty_runs)
    assert (sp.rows_clustered, sp.rows_excluded) == (duck.rows_clustered, duck.rows_excluded)
    assert sp.excluded_by_rule == duck.excluded_by_rule
    assert sp.filled == duck.filled
    assert sp.explained_variance == pytest.approx(duck.explained_variance, abs=1e-9)


def test_folder_of_parquet_parts_and_glob_as_input(spark, store, tmp_path):
    table = pacsv.read_csv(MALL_CSV)
    parts = tmp_path / "mall_parts"
    parts.mkdir()
    for i, start in enumerate(range(0, 200, 70)):  # three parts: 70 + 70 + 60 rows
        pq.write_table(table.slice(start, 70), parts / f"part-{i:05d}.parquet")
    by_folder = segment_spark(store, str(parts), features=MALL_FEATURES, k=5, spark=spark)
    assert by_folder.dataset.rows_read == 200
    assert [s.size for s in by_folder.run.segments] == MALL_SIZES
    with store.cursor() as cur:
        ids = cur.execute(
            f'SELECT list(CustomerID ORDER BY __row) FROM {run_table(by_folder.run.run_id)}'
        ).fetchone()[0]
    assert ids == list(range(1, 201))  # the parts' rows in order: __row follows the input
    by_glob = read_input(spark, str(parts / "part-*.parquet"))
    assert [r[0] for r in by_glob.frame.orderBy("__row").select("CustomerID").collect()] == list(range(1, 201))


def test_auto_scaling_logs_the_same_skewed_features_as_the_duckdb_engine(spark, store):
    """UCI Wholesale customers: heavily skewed spend columns, "auto" scaling on both engines."""
    wholesale = DATA_DIR / "wholesale_customers.csv"
    spend = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    duck = segment_path(store, wholesale, features=spend, k=3, scale="auto")
    sp = segment_spark(store, str(wholesale), features=spend, k=3, scale="auto", spark=spark)
    assert sp.run.transforms == duck.run.transforms == {f: "log1p" for f in spend}
    assert sp.run.scaler["center"] == pytest.approx(duck.run.scaler["center"], rel=1e-9)
    assert sp.run.scaler["scale"] == pytest.approx(duck.run.scaler["scale"], rel=1e-9)


def test_cli_engine_spark_prints_the_duckdb_contract_plus_engine(spark, tmp_path, capsys):
    args = ["segment", str(MALL_CSV), "--features", ",".join(MALL_FEATURES), "--k", "5", "--json",
            "--db", str(tmp_path / "cli.duckdb")]
    assert cli_main(args) == 0
    duck = json.loads(capsys.readouterr().out)
    assert cli_main(args + ["--engine", "spark", "--spark-master", "local[2]"]) == 0
    sp = json.loads(capsys.readouterr().out)
    assert sp["engine"] == "spark" and duck["engine"] == "duckdb"
    assert set(sp) == set(duck)
    assert [s["size"] for s in sp["segments"]] == MALL_SIZES
    assert [(s["name"], s["action"]) for s in sp["segments"]] == [(s["name"], s["action"]) for s in duck["segments"]]
    assert sp["quality"] == duck["quality"]


def test_bad_input_is_one_clear_error(spark, tmp_path, capsys):
    assert cli_main(["segment", str(tmp_path / "nothing_here"), "--engine", "spark", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: file not found") and "\n" not in err


def test_mall_explanations_equal_the_duckdb_engine(mall_runs):
    """Outlier group, stability, drivers, rules (with precision/recall on the run table) and k_reason:
    the Mall sample fits in the driver sample, so core's functions see the same rows as in DuckDB."""
    _, duck, sp = mall_runs
    a, b = sp.run, duck.run
    assert a.segment_ids == b.segment_ids
    assert a.outlier_threshold == pytest.approx(b.outlier_threshold) if b.outlier_threshold else a.outlier_threshold is None
    assert a.k_reason == b.k_reason
    assert a.stability_by_k == pytest.approx(b.stability_by_k)
    # the same centroid for every segment id (the centroids' order inside a run is arbitrary)
    def by_segment(r):
        return sorted(zip(r.centroid_segments, r.centroids_scaled))
    assert [s for s, _ in by_segment(a)] == [s for s, _ in by_segment(b)]
    for (_, ca), (_, cb) in zip(by_segment(a), by_segment(b)):
        assert ca == pytest.approx(cb, abs=1e-6)
    for s, t in zip(a.segments, b.segments):
        assert (s.id, s.outlier_group, s.rule) == (t.id, t.outlier_group, t.rule)
        assert (s.rule_precision, s.rule_recall) == pytest.approx((t.rule_precision, t.rule_recall))
        assert s.stability == pytest.approx(t.stability)
        assert [d["feature"] for d in s.drivers] == [d["feature"] for d in t.drivers]
    assert len({s.action for s in a.segments}) == len(a.segments)  # distinct actions
    # precision of segment 1's rule recomputed in plain SQL on the Spark run table
    store = mall_runs[0]
    seg = a.segments[0]
    with store.cursor() as cur:
        hits, matched = cur.execute(
            f"SELECT count(*) FILTER (WHERE {SEGMENT} = 1), count(*) FROM {run_table(a.run_id)} WHERE {seg.rule}"
        ).fetchone()
    assert seg.rule_precision == pytest.approx(hits / matched)


def test_mall_with_auto_scaling_matches_the_duckdb_engine(spark, store):
    duck = segment_path(store, MALL_CSV, features=MALL_FEATURES, k=5, scale="auto")
    sp = segment_spark(store, str(MALL_CSV), features=MALL_FEATURES, k=5, scale="auto", spark=spark)
    assert [s.size for s in sp.run.segments if not s.outlier_group] == MALL_SIZES
    assert [(s.size, s.name, s.action) for s in sp.run.segments] == [
        (s.size, s.name, s.action) for s in duck.run.segments]
    assert sp.run.transforms == duck.run.transforms
