"""Segments an analyst can trust (issue 9 sections 2-4): auto scaling, the outlier group, stability,
the suggested k and its reason, drivers, rules and distinct actions, checked against independent
sources: scikit-learn, pandas, hand counts, and the rules re-run by DuckDB over the exported workbook."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from core.explain import Condition, Rule, rule_sql
from core.export import export_workbook
from core.filters import FilterSpec
from core.ingest import load_file
from core.kmeans import assign, fit_scaler, skewed_features, suggest_k
from core.models import SEGMENT, ElbowPoint
from core.segmentation import run_matrix, run_segmentation
from core.stability import best_jaccard
from core.store import run_table
from tests.conftest import DATA_DIR

INCOME, SCORE = "Annual Income (k$)", "Spending Score (1-100)"
MALL_FEATURES = [INCOME, SCORE]
WHOLESALE = DATA_DIR / "wholesale_customers.csv"  # UCI Wholesale customers, 440 rows
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


@pytest.fixture
def mall(store, mall_csv):
    return load_file(store, mall_csv, "mall")


@pytest.fixture
def mall_run(store, mall):
    return run_segmentation(store, mall.dataset_id, MALL_FEATURES)


@pytest.fixture
def wholesale(store):
    return load_file(store, WHOLESALE, "wholesale")


def table(store, run) -> pd.DataFrame:
    with store.cursor() as cur:
        return cur.execute(f"SELECT * FROM {run_table(run.run_id)} ORDER BY __row").df()


# -- the Mall facts -----------------------------------------------------------------------------
def test_mall_auto_keeps_five_segments_without_outliers(mall_run):
    run = mall_run
    assert run.scale == "auto" and run.k == 5 and run.suggested_k == 5
    assert [s.size for s in run.segments] == [81, 39, 35, 23, 22]
    assert not any(s.outlier_group for s in run.segments) and run.outlier_threshold is None
    assert run.transforms == {INCOME: "none", SCORE: "none"}  # skewness 0.32 and -0.05: no log
    assert sorted(run.centroid_segments) == [1, 2, 3, 4, 5]


def test_mall_sizes_and_centroids_match_scikit_learn(mall_run, mall_csv):
    df = pd.read_csv(mall_csv)
    scaler = StandardScaler().fit(df[MALL_FEATURES])
    km = KMeans(5, n_init=10, random_state=42).fit(scaler.transform(df[MALL_FEATURES]))
    assert sorted(np.bincount(km.labels_).tolist(), reverse=True) == [81, 39, 35, 23, 22]
    ours = np.array(mall_run.centroids_scaled)
    for c in km.cluster_centers_:
        assert np.min(np.linalg.norm(ours - c, axis=1)) < 1e-6
    assert mall_run.scaler["center"] == pytest.approx(scaler.mean_.tolist())
    assert mall_run.scaler["scale"] == pytest.approx(scaler.scale_.tolist())


def test_mall_is_stable_and_says_why_five(mall_run):
    assert all(s.stability >= 0.9 for s in mall_run.segments)
    assert set(mall_run.stability_by_k) == {str(k) for k in range(2, 11)}
    assert mall_run.stability_by_k["5"] >= 0.9
    assert mall_run.k_reason.startswith("k = 5 ") and "stability" in mall_run.k_reason
    assert mall_run.k_reason.count(".") >= 1 and "\n" not in mall_run.k_reason


def test_mall_rules_reach_precision_and_recall_of_ninety_percent(mall_run):
    for s in mall_run.segments:
        assert s.rule and s.rule_precision >= 0.9 and s.rule_recall >= 0.9, (s.id, s.rule)


def test_assign_reproduces_the_stored_segments(store, mall_run):
    X, labels = run_matrix(store, mall_run)
    ids, dist = assign(X, mall_run)
    assert (ids == labels).all()
    assert (dist >= 0).all()


# -- drivers and actions ------------------------------------------------------------------------
def test_drivers_are_standardised_mean_differences(store, mall_run):
    df = table(store, mall_run)
    for s in mall_run.segments:
        inside, others = df[df[SEGMENT] == s.id], df[df[SEGMENT] != s.id]
        assert s.drivers, s.id
        strengths = [abs(d["effect"]) for d in s.drivers]
        assert strengths == sorted(strengths, reverse=True)
        for d in s.drivers:
            a, b = inside[d["feature"]], others[d["feature"]]
            pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
            assert d["effect"] == pytest.approx((a.mean() - b.mean()) / pooled, abs=1e-3)
            assert d["direction"] == ("higher" if a.mean() > b.mean() else "lower")
            assert (d["segment"], d["others"]) == pytest.approx((a.mean(), b.mean()))


def test_actions_are_distinct_and_name_the_top_driver(mall_run):
    actions = [s.action for s in mall_run.segments]
    assert len(set(actions)) == len(actions)
    for s in mall_run.segments:
        assert s.drivers[0]["feature"] in s.action


def test_a_categorical_is_never_called_high_or_low(store, mall):
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES + ["Gender"], categoricals=["Gender"], k=4)
    for s in run.segments:
        lowered = s.name.lower()
        assert "high gender" not in lowered and "low gender" not in lowered
    assert len({s.action for s in run.segments}) == len(run.segments)
    genders = [d for s in run.segments for d in s.drivers if d["feature"].startswith("Gender=")]
    for d in genders:  # a share difference, in -1..1
        assert -1 <= d["effect"] <= 1 and d["effect"] == pytest.approx(d["segment"] - d["others"], abs=1e-3)


# -- skewed data: the Wholesale customers file ---------------------------------------------------
def test_wholesale_auto_logs_the_skewed_spend_columns(store, wholesale):
    run = run_segmentation(store, wholesale.dataset_id, SPEND)
    skew = pd.read_csv(WHOLESALE)[SPEND].skew()
    assert (skew > 1).all()  # every spend column is strongly right-skewed (pandas, independently)
    assert run.transforms == {c: "log1p" for c in SPEND}
    regular = [s for s in run.segments if not s.outlier_group]
    assert len(regular) == run.k and all(s.size >= 0.01 * run.rows_clustered for s in regular)
    assert sum(s.size for s in run.segments) == run.rows_clustered == 440


def test_wholesale_standard_scaling_puts_extreme_customers_in_one_outlier_group(store, wholesale):
    run = run_segmentation(store, wholesale.dataset_id, SPEND, scale="standard", k=5)
    df = table(store, run)
    outliers = [s for s in run.segments if s.outlier_group]
    assert len(outliers) == 1
    group = outliers[0]
    assert (group.id, group.name) == (run.k + 1, "Outliers") and group.id in run.segment_ids
    assert group.size == int((df[SEGMENT] == group.id).sum()) > 0  # counted from the stored rows
    assert "one by one" in group.action
    for s in run.segments:
        if not s.outlier_group:
            assert s.size >= 0.01 * 440
    # the assignment rule reproduces the stored rows, outliers included
    X, labels = run_matrix(store, run)
    assert (assign(X, run)[0] == labels).all()
    far = np.linalg.norm(X - np.array(run.centroids_scaled)[assign_nearest(X, run)], axis=1)
    assert set(np.flatnonzero(far > run.outlier_threshold)) <= set(np.flatnonzero(labels == group.id))


def assign_nearest(X: np.ndarray, run) -> np.ndarray:
    C = np.array(run.centroids_scaled)
    return ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1)


@pytest.mark.parametrize("scale", ["auto", "standard"])
def test_rule_precision_and_recall_hold_on_the_exported_customers_sheet(store, wholesale, mall, tmp_path, scale):
    for info, features in ((mall, MALL_FEATURES), (wholesale, SPEND)):
        run = run_segmentation(store, info.dataset_id, features, scale=scale)
        out = tmp_path / f"{info.dataset_id}.xlsx"
        export_workbook(store, FilterSpec(run.run_id), out)
        customers = pd.read_excel(out, sheet_name="Customers", engine="openpyxl")
        con = duckdb.connect()
        con.register("customers", customers)
        for s in run.segments:
            if s.rule is None:
                continue
            matched, hits, size = con.execute(
                f'SELECT count(*) FILTER (WHERE {s.rule}), '
                f'count(*) FILTER (WHERE ({s.rule}) AND "Segment" = ?), '
                f'count(*) FILTER (WHERE "Segment" = ?) FROM customers', [s.id, s.id]).fetchone()
            assert s.rule_precision == pytest.approx(hits / matched)
            assert s.rule_recall == pytest.approx(hits / size)


# -- units --------------------------------------------------------------------------------------
def test_auto_scaling_rule_for_skew_and_negative_values():
    rng = np.random.default_rng(1)
    raw = np.column_stack([rng.lognormal(3, 1, 2000), rng.normal(50, 10, 2000),
                           rng.lognormal(3, 1, 2000) - 30, (rng.random(2000) < 0.5).astype(float)])
    mask = np.array([True, True, True, False])
    assert skewed_features(raw, mask).tolist() == [True, False, False, False]
    scaler = fit_scaler(raw, "auto", mask)
    X = scaler.apply(raw)
    assert scaler.transforms == ["log1p", "none", "none", "none"]
    assert X.mean(axis=0) == pytest.approx([0, 0, 0, 0], abs=1e-9)
    assert X.std(axis=0) == pytest.approx([1, 1, 1, 1])
    assert X[:, 0] == pytest.approx((np.log1p(raw[:, 0]) - np.log1p(raw[:, 0]).mean()) / np.log1p(raw[:, 0]).std())


def test_tiny_clusters_and_far_points_form_the_outlier_group(store):
    from tests.core.test_segmentation import publish_frame

    rng = np.random.default_rng(5)
    blobs = [rng.normal(c, 1.0, size=(300, 2)) for c in ([0, 0], [10, 0], [0, 10])]
    tiny = rng.normal([10, 10], 0.2, size=(3, 2))  # 3 of 903 customers: under 1%
    far = np.array([[60.0, -40.0]])
    pts = np.vstack(blobs + [tiny, far])
    frame = pd.DataFrame({"a": pts[:, 0], "b": pts[:, 1]})
    info = publish_frame(store, frame, {})
    run = run_segmentation(store, info.dataset_id, ["a", "b"], k=4, scale="none")
    assert run.k == 3 and [s.size for s in run.segments] == [300, 300, 300, 4]
    assert run.segments[-1].outlier_group and run.segments[-1].id == 4
    assert run.centroid_segments.count(4) == 1  # the tiny cluster's centroid maps to the outlier group
    assert run.k_reason.startswith("k = 4 was chosen by the analyst") and "leaving 3 segments." in run.k_reason
    df = table(store, run)
    assert set(df.loc[df[SEGMENT] == 4, "__row"]) == {901, 902, 903, 904}


def test_best_jaccard_by_hand():
    ref = np.array([1, 1, 1, 2, 2, 2])
    new = np.array([0, 0, 1, 1, 1, 1])
    # cluster 1 = {0,1,2}: best {0,1} -> 2/3; cluster 2 = {3,4,5}: best {2,3,4,5} -> 3/4
    assert best_jaccard(ref, new) == pytest.approx({1: 2 / 3, 2: 3 / 4})


def test_suggest_k_weighs_silhouette_and_stability():
    points = [ElbowPoint(1, 10.0, None, None)] + [ElbowPoint(k, 1.0, s, 1.0) for k, s in
                                                  ((2, 0.40), (3, 0.50), (4, 0.45))]
    assert suggest_k(points) == 3
    assert suggest_k(points, {"2": 0.95, "3": 0.6, "4": 0.85}) == 4  # 3 is unstable
    assert suggest_k(points, {"2": 0.7, "3": 0.5, "4": 0.6}) == 2  # none stable: 0.28, 0.25, 0.27
    assert suggest_k(points, {"2": 0.5, "3": 0.7, "4": 0.6}) == 3  # 0.20, 0.35, 0.27


def test_rule_sql_quotes_names_and_writes_plain_numbers():
    rule = Rule([[Condition('Odd "name"', True, 70.0), Condition("b", False, 0.25)], [Condition("b", True, 3.0)]])
    sql = rule_sql(rule, ['Odd "name"', "b"])
    assert sql == '("Odd ""name""" >= 70 AND "b" < 0.25) OR ("b" >= 3)'
    con = duckdb.connect()
    got = con.execute(f'SELECT count(*) FROM (VALUES (80, 0.1), (80, 0.5), (1, 4)) t("Odd ""name""", b) '
                      f'WHERE {sql}').fetchone()[0]
    assert got == 2
