"""core/segmentation.py against a real DuckDB file: the mall acceptance figures, parameter checks,
data preparation (exclusions, fills, one-hot), scalings, PCA, reproducibility, atomic storage and the
sampled path for large tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from core import segmentation
from core.errors import InputError
from core.ingest import load_file
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
    ElbowPoint,
    QualityReport,
    RuleFinding,
)
from core.segmentation import (
    agreement_with_full_kmeans,
    default_features,
    elbow_sweep,
    relabel_by_size,
    run_matrix,
    run_segmentation,
    scale_matrix,
    silhouettes,
    suggest_k,
)
from core.store import dataset_table, new_id, run_table
from tests.conftest import DATA_DIR

INCOME, SCORE, AGE = "Annual Income (k$)", "Spending Score (1-100)", "Age"
MALL_FEATURES = [INCOME, SCORE]
# ../shared/data/README.md: size -> (income, score) means of the five segments at k=5
EXPECTED = {81: (55.3, 49.5), 39: (86.5, 82.1), 35: (88.2, 17.1), 23: (26.3, 20.9), 22: (25.7, 79.4)}


# -- helpers ------------------------------------------------------------------------------------
@pytest.fixture
def mall(store, mall_csv) -> DatasetInfo:
    return load_file(store, mall_csv, "mall")


def publish_frame(store, frame: pd.DataFrame, roles: dict[str, str], issues=()) -> DatasetInfo:
    """A dataset straight from a frame: ds_<id> with __row, the given roles, and issues rows
    (row, column, rule, excludes)."""
    frame = frame.reset_index(drop=True).copy()
    frame.insert(0, ROW, np.arange(1, len(frame) + 1, dtype="int64"))
    columns = [
        ColumnInfo(c, roles.get(c, NUMERIC), "VARCHAR" if roles.get(c) == CATEGORICAL else "DOUBLE")
        for c in frame.columns if c != ROW
    ]
    ids = [c for c, r in roles.items() if r == IDENTIFIER]
    q = QualityReport(rows_read=len(frame), rows_loaded=len(frame), identifier_columns=ids)
    info = DatasetInfo(new_id(), "frame", "frame.csv", "customers", "", len(frame), len(frame), columns,
                       ids[0] if ids else None, q)
    with store.transaction() as cur:
        cur.register("test_frame", frame)
        cur.execute(f"CREATE TABLE {dataset_table(info.dataset_id)} AS SELECT * FROM test_frame")
        cur.unregister("test_frame")
        for row, col, rule, excludes in issues:
            cur.execute("INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?)",
                        [info.dataset_id, row, col, rule, "x", excludes])
        store.insert_dataset(cur, info)
    return info


def run_rows(store, run) -> pd.DataFrame:
    with store.cursor() as cur:
        return cur.execute(f"SELECT * FROM {run_table(run.run_id)} ORDER BY {ROW}").df()


def run_tables(store) -> int:
    """How many run_<id> tables exist."""
    with store.cursor() as cur:
        return cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE regexp_matches(table_name, ?)",
            ["^run_[0-9a-f]{12}$"],
        ).fetchone()[0]


def blobs(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centers = np.array([[20.0, 20.0, 30.0], [80.0, 20.0, 50.0], [50.0, 80.0, 40.0], [80.0, 80.0, 25.0]])
    which = rng.integers(0, len(centers), size=n)
    pts = centers[which] + rng.normal(0, 5.0, size=(n, 3))
    return pd.DataFrame({"id": np.arange(n), "income": pts[:, 0], "score": pts[:, 1], "age": pts[:, 2]})


# -- acceptance: the mall data ------------------------------------------------------------------
def test_mall_suggests_five_and_finds_the_published_segments(store, mall):
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES)
    assert run.suggested_k == 5 and run.k == 5
    assert run.silhouette == pytest.approx(0.555, abs=0.005)
    assert [s.size for s in run.segments] == [81, 39, 35, 23, 22]
    assert [s.id for s in run.segments] == [1, 2, 3, 4, 5]
    for s in run.segments:
        income, score = EXPECTED[s.size]
        assert s.centroid[INCOME] == pytest.approx(income, abs=0.5)
        assert s.centroid[SCORE] == pytest.approx(score, abs=0.5)
        assert s.share == pytest.approx(s.size / 200)
        assert s.action.endswith(".")
    assert (run.rows_clustered, run.rows_excluded) == (200, 0)
    assert [p.k for p in run.elbow] == list(range(1, 11))
    assert run.elbow[0].silhouette is None
    assert max(run.elbow[1:], key=lambda p: p.silhouette).k == 5
    assert not run.sampled and run.explained_variance is None
    assert (run.x_label, run.y_label) == (INCOME, SCORE)
    assert store.get_run(run.run_id) == run


def test_mall_names_match_the_quadrant_of_each_centroid(store, mall, mall_csv):
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5)
    df = pd.read_csv(mall_csv)
    mean, std = df[[INCOME, SCORE]].mean(), df[[INCOME, SCORE]].std(ddof=0)

    def word(col, value):
        z = (value - mean[col]) / std[col]
        return "high" if z >= 0.5 else "low" if z <= -0.5 else "average"

    names = [s.name for s in run.segments]
    assert len(set(names)) == 5
    for s in run.segments:
        expected = f"{word(INCOME, s.centroid[INCOME])} income, {word(SCORE, s.centroid[SCORE])} spending"
        assert s.name == expected[0].upper() + expected[1:]
    assert set(names) == {
        "High income, low spending", "Low income, high spending", "High income, high spending",
        "Low income, low spending", "Average income, average spending",
    }
    by_name = {s.name: s.action for s in run.segments}
    assert "promotion" in by_name["High income, low spending"].lower()
    assert "loyalty" in by_name["Low income, high spending"].lower()
    assert "bundle" in by_name["Average income, average spending"].lower()
    assert "premium" in by_name["High income, high spending"].lower()
    assert "low-cost digital" in by_name["Low income, low spending"].lower()


def test_same_call_twice_gives_identical_segments(store, mall):
    a = run_segmentation(store, mall.dataset_id, MALL_FEATURES)
    b = run_segmentation(store, mall.dataset_id, MALL_FEATURES)
    assert a.run_id != b.run_id
    ra, rb = run_rows(store, a), run_rows(store, b)
    assert ra[ROW].tolist() == rb[ROW].tolist()
    assert ra[SEGMENT].tolist() == rb[SEGMENT].tolist()
    assert [s.name for s in a.segments] == [s.name for s in b.segments]
    assert a.elbow == b.elbow


def test_run_table_holds_the_dataset_columns_and_the_assignments(store, mall):
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5)
    cols = store.table_columns(run_table(run.run_id))
    assert cols == [ROW, "CustomerID", "Gender", AGE, INCOME, SCORE, SEGMENT, X, Y]
    rows = run_rows(store, run)
    assert len(rows) == 200 and rows[ROW].tolist() == list(range(1, 201))
    # two features: the scatter shows them in original units
    assert rows[X].tolist() == rows[INCOME].astype(float).tolist()
    assert rows[Y].tolist() == rows[SCORE].astype(float).tolist()
    sizes = rows[SEGMENT].value_counts().to_dict()
    assert {s.id: s.size for s in run.segments} == sizes
    # centroids are the means of the stored rows
    for s in run.segments:
        part = rows[rows[SEGMENT] == s.id]
        assert s.centroid[INCOME] == pytest.approx(part[INCOME].mean())
        assert s.centroid[SCORE] == pytest.approx(part[SCORE].mean())


def test_default_features(mall):
    assert default_features(mall) == [AGE, INCOME, SCORE]
    q = QualityReport(
        rows_loaded=10, identifier_columns=["code"], missing={"empty": 10, "some": 3},
        findings=[RuleFinding("constant_column", "flat", 10, "left out", "constant")],
    )
    cols = [ColumnInfo(n, r, "DOUBLE") for n, r in [
        ("code", NUMERIC), ("flat", NUMERIC), ("empty", NUMERIC), ("some", NUMERIC), ("city", CATEGORICAL),
        ("key", IDENTIFIER), ("good", NUMERIC),
    ]]
    info = DatasetInfo("0" * 12, "x", "x", "customers", "", 10, 10, cols, "key", q)
    assert default_features(info) == ["some", "good"]


# -- more features, categoricals, scalings -------------------------------------------------------
def test_more_than_two_features_are_projected_with_pca(store, mall):
    run = run_segmentation(store, mall.dataset_id, [AGE, INCOME, SCORE], k=6)
    ev = run.explained_variance
    assert len(ev) == 2 and ev[0] >= ev[1] > 0 and sum(ev) <= 1 + 1e-9
    assert run.x_label == f"PC1 ({ev[0] * 100:.1f}% of variance)"
    assert run.y_label == f"PC2 ({ev[1] * 100:.1f}% of variance)"
    rows = run_rows(store, run)
    Z = scale_matrix(rows[[AGE, INCOME, SCORE]].to_numpy(float), "standard")
    total = Z.var(axis=0).sum()
    assert rows[X].var(ddof=0) / total == pytest.approx(ev[0], rel=1e-6)
    assert rows[Y].var(ddof=0) / total == pytest.approx(ev[1], rel=1e-6)
    assert len({s.name for s in run.segments}) == 6


def test_categoricals_are_one_hot_encoded(store, mall):
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=4, categoricals=["Gender"])
    assert run.features == [INCOME, SCORE, "Gender"]
    assert run.encoded_features == [INCOME, SCORE, "Gender=Female", "Gender=Male"]
    assert run.explained_variance is not None  # four encoded features -> PCA
    rows = run_rows(store, run)
    for s in run.segments:
        part = rows[rows[SEGMENT] == s.id]
        assert s.centroid["Gender=Female"] == pytest.approx((part["Gender"] == "Female").mean())
        assert s.centroid["Gender=Female"] + s.centroid["Gender=Male"] == pytest.approx(1.0)
    # a categorical column named among the features is one-hot encoded too
    again = run_segmentation(store, mall.dataset_id, [INCOME, "Gender"], k=4)
    assert again.encoded_features == [INCOME, "Gender=Female", "Gender=Male"]


def test_one_feature_scatter_has_y_zero(store, mall):
    run = run_segmentation(store, mall.dataset_id, [INCOME], k=3)
    rows = run_rows(store, run)
    assert (rows[Y] == 0).all() and rows[X].tolist() == rows[INCOME].astype(float).tolist()
    assert run.x_label == INCOME and run.explained_variance is None
    assert [s.name for s in run.segments] and len({s.name for s in run.segments}) == 3


@pytest.mark.parametrize("scale", ["minmax", "none", "log"])
def test_other_scalings_run_and_are_recorded(store, mall, scale):
    run = run_segmentation(store, mall.dataset_id, [AGE, INCOME, SCORE], k=4, scale=scale)
    assert run.scale == scale and run.k == 4 and sum(s.size for s in run.segments) == 200
    X_run, labels = run_matrix(store, run)
    raw = run_rows(store, run)[[AGE, INCOME, SCORE]].to_numpy(float)
    assert np.allclose(X_run, scale_matrix(raw, scale))
    # the stored assignment is a K-Means solution of that matrix: every point is nearest its own centre
    centers = np.vstack([X_run[labels == s].mean(axis=0) for s in range(1, 5)])
    nearest = np.argmin(((X_run[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1) + 1
    assert (nearest == labels).mean() > 0.98


def test_scale_matrix():
    raw = np.array([[1.0, 10.0, 1.0], [3.0, 20.0, 0.0], [5.0, 60.0, 1.0], [-1.0, 10.0, 0.0]])
    std = scale_matrix(raw, "standard")
    assert np.allclose(std.mean(axis=0), 0) and np.allclose(std.std(axis=0), 1)
    mm = scale_matrix(raw, "minmax")
    assert np.allclose(mm.min(axis=0), 0) and np.allclose(mm.max(axis=0), 1)
    assert np.array_equal(scale_matrix(raw, "none"), raw)
    log = scale_matrix(raw, "log", numeric_mask=np.array([True, True, False]))
    expected = np.log1p(np.clip(raw[:, :2], 0, None))
    assert np.allclose(log[:, :2], (expected - expected.mean(0)) / expected.std(0))
    assert np.allclose(log[:, 2], std[:, 2])  # the one-hot column is standardised, not logged
    flat = scale_matrix(np.array([[2.0], [2.0]]), "standard")
    assert np.array_equal(flat, np.zeros((2, 1)))
    with pytest.raises(InputError, match="scale must be one of"):
        scale_matrix(raw, "zscore")


# -- parameter checks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"features": ["Nope"]}, "unknown column 'Nope'"),
        ({"features": ["CustomerID", INCOME]}, "'CustomerID' is an identifier"),
        ({"features": []}, "choose at least one feature"),
        ({"features": INCOME}, "features must be a list"),
        ({"k": 1}, "k must be a whole number from 2 to 10"),
        ({"k": 11}, "k must be a whole number from 2 to 10"),
        ({"k": "5"}, "k must be a whole number from 2 to 10, or 'auto'"),
        ({"k": True}, "k must be a whole number"),
        ({"k": 2.5}, "k must be a whole number"),
        ({"scale": "zscore"}, "scale must be one of auto, standard, minmax, none, log"),
        ({"fill": "mode"}, "fill must be one of median, mean"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"categoricals": ["CustomerID"]}, "'CustomerID' is an identifier"),
    ],
)
def test_bad_parameters_are_refused_with_a_message(store, mall, kwargs, message):
    args = {"features": MALL_FEATURES, **kwargs}
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_segmentation(store, mall.dataset_id, **args)
    assert store.list_runs() == [] and run_tables(store) == 0


def test_unknown_dataset(store):
    with pytest.raises(InputError, match="unknown dataset"):
        run_segmentation(store, "0123456789ab")
    with pytest.raises(InputError, match="unknown dataset"):
        run_segmentation(store, "ds_x; DROP TABLE runs")


def test_k_larger_than_the_distinct_customers(store):
    frame = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 9, 9, 9, 9], "b": [5, 5, 5, 1, 1, 1, 7, 7, 7, 7]})
    info = publish_frame(store, frame, {})
    with pytest.raises(InputError, match=r"^only 3 distinct customers; choose k of at most 3$"):
        run_segmentation(store, info.dataset_id, ["a", "b"], k=4)
    run = run_segmentation(store, info.dataset_id, ["a", "b"], k="auto")
    assert 2 <= run.k <= 3 and max(p.k for p in run.elbow) == 3
    exact = run_segmentation(store, info.dataset_id, ["a", "b"], k=3)
    assert sorted(s.size for s in exact.segments) == [3, 3, 4]


def test_fewer_rows_than_k_and_nothing_to_segment(store):
    info = publish_frame(store, pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {})
    with pytest.raises(InputError, match="only 3 customers left to segment; choose k of at most 3"):
        run_segmentation(store, info.dataset_id, ["a"], k=4)
    same = publish_frame(store, pd.DataFrame({"a": [4.0] * 5}), {})
    with pytest.raises(InputError, match="same values in the chosen features"):
        run_segmentation(store, same.dataset_id, ["a"])
    empty = publish_frame(store, pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [None, None, None]}), {})
    with pytest.raises(InputError, match="column 'b' has no values at all"):
        run_segmentation(store, empty.dataset_id, ["a", "b"])
    # an empty column that is not a feature does not get in the way
    assert run_segmentation(store, empty.dataset_id, ["a"], k=2).rows_clustered == 3


def test_too_many_categories_for_one_hot(store):
    frame = pd.DataFrame({"a": np.arange(30.0), "city": [f"c{i}" for i in range(30)]})
    info = publish_frame(store, frame, {"city": CATEGORICAL})
    with pytest.raises(InputError, match="'city' has more than 20 different values"):
        run_segmentation(store, info.dataset_id, ["a"], categoricals=["city"])


# -- data preparation: invalid rows and missing values -----------------------------------------
def test_invalid_rows_are_excluded_and_counted(store):
    dirty = load_file(store, DATA_DIR / "dirty_customers.csv", "dirty")
    run = run_segmentation(store, dirty.dataset_id, MALL_FEATURES, k=3)
    # negative income on rows 10 and 17, score out of range on rows 11 and 18 (tests/core/test_quality.py)
    assert run.excluded_by_rule == {
        f"negative:{INCOME}": 2,
        f"out_of_range:{SCORE}": 2,
    }
    assert (run.rows_clustered, run.rows_excluded) == (27, 4)
    rows = run_rows(store, run)
    assert not set(rows[ROW]) & {10, 11, 17, 18}
    assert len(rows) == 27 and sum(s.size for s in run.segments) == 27
    # impossible ages are not excluded when Age is not a feature; they are when it is
    with_age = run_segmentation(store, dirty.dataset_id, [AGE] + MALL_FEATURES, k=3)
    assert with_age.excluded_by_rule[f"impossible_age:{AGE}"] == 2
    assert with_age.rows_excluded == 6 and with_age.rows_clustered == 25


def test_missing_values_are_filled_and_recorded(store):
    dirty = load_file(store, DATA_DIR / "dirty_customers.csv", "dirty")
    run = run_segmentation(store, dirty.dataset_id, MALL_FEATURES, k=3, fill="median")
    # kept rows with a missing income: 9 ("abc"), 15 ("NA"), 30 ("x1"); score: 16; age: 8, 14;
    # gender: 21; region: 19, 20
    assert {c: f["count"] for c, f in run.filled.items()} == {
        INCOME: 3, SCORE: 1, AGE: 2, "Gender": 1, "Region": 2,
    }
    assert run.filled[INCOME]["method"] == "median" and run.filled["Gender"]["method"] == "mode"
    rows = run_rows(store, run).set_index(ROW)
    for col in (INCOME, SCORE, AGE, "Gender", "Region"):
        assert rows[col].notna().all(), col
    assert rows.loc[9, INCOME] == pytest.approx(run.filled[INCOME]["value"])
    assert rows.loc[21, "Gender"] == run.filled["Gender"]["value"]
    mean_run = run_segmentation(store, dirty.dataset_id, MALL_FEATURES, k=3, fill="mean")
    assert mean_run.filled[INCOME]["method"] == "mean"


def test_a_crash_inside_the_transaction_leaves_nothing(store, mall, monkeypatch):
    def boom(cur, run):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "insert_run", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5)
    assert run_tables(store) == 0
    with store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    monkeypatch.undo()
    run = run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5)
    assert run_tables(store) == 1 and store.list_runs() == [run]


def test_a_failing_write_back_leaves_nothing(store, mall, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(segmentation, "_segments_from_table", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5)
    assert run_tables(store) == 0 and store.list_runs() == []


def test_progress_is_reported_in_order(store, mall):
    seen = []
    run_segmentation(store, mall.dataset_id, MALL_FEATURES, progress=lambda s, f: seen.append((s, f)))
    stages = [s for s, _ in seen]
    assert stages[0] == "prepare" and seen[-1] == ("done", 1.0)
    assert {"sweep", "fit", "project", "store"} <= set(stages)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] == 1.0


# -- sweep, suggested k, silhouette, relabelling ------------------------------------------------
def test_suggest_k_rule():
    def pts(sils):
        return [ElbowPoint(1, 10.0, None, None)] + [
            ElbowPoint(k, 10.0 / k, s, 1.0) for k, s in enumerate(sils, start=2)
        ]

    assert suggest_k(pts([0.32, 0.47, 0.49, 0.555, 0.54, 0.53, 0.46, 0.46, 0.44])) == 5
    assert suggest_k(pts([0.5, 0.6, 0.6, 0.1])) == 3  # a tie goes to the smaller k
    assert suggest_k(pts([None, 0.2])) == 3
    assert suggest_k([ElbowPoint(1, 1.0, None, None), ElbowPoint(2, 0.0, None, None)]) == 2
    assert suggest_k([]) == 2


def test_elbow_sweep_on_the_mall_matrix(mall_csv):
    df = pd.read_csv(mall_csv)
    Xm = scale_matrix(df[MALL_FEATURES].to_numpy(float))
    points = elbow_sweep(Xm)
    assert [p.k for p in points] == list(range(1, 11))
    assert points[0].silhouette is None and points[0].calinski_harabasz is None
    inertias = [p.inertia for p in points]
    assert inertias[0] == pytest.approx(400.0) and inertias == sorted(inertias, reverse=True)
    assert suggest_k(points) == 5
    assert points[4].silhouette == pytest.approx(0.5547, abs=0.001)
    assert elbow_sweep(Xm) == points  # fixed seed
    assert len(elbow_sweep(Xm, k_max=4)) == 4


def test_silhouettes_equal_sklearn():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(c, 1.0, size=(150, 3)) for c in (0, 4, 8)])
    label_sets = [KMeans(k, n_init=1, random_state=0).fit(pts).labels_ for k in (2, 3, 5)]
    ours = silhouettes(pts, label_sets)
    for labels, value in zip(label_sets, ours):
        assert value == pytest.approx(silhouette_score(pts, labels), abs=1e-5)
    assert silhouettes(pts, [np.zeros(len(pts), dtype=int)]) == [None]


def test_relabel_by_size_orders_by_size_then_centroid():
    labels = np.array([0, 0, 1, 1, 1, 2, 2])
    centers = np.array([[5.0], [0.0], [1.0]])
    assert relabel_by_size(labels, centers).tolist() == [3, 3, 1, 1, 1, 2, 2]


# -- the sampled path -----------------------------------------------------------------------------
def test_large_tables_sweep_on_a_sample_and_fit_on_every_row(store):
    frame = blobs(segmentation.SWEEP_MAX_ROWS + 10_000)
    info = publish_frame(store, frame, {"id": IDENTIFIER})
    run = run_segmentation(store, info.dataset_id, ["income", "score", "age"])
    assert run.sampled and run.k == 4 and run.rows_clustered == len(frame)
    assert sum(s.size for s in run.segments) == len(frame)
    Xr, labels = run_matrix(store, run)
    assert len(labels) == len(frame)
    assert agreement_with_full_kmeans(Xr, labels, run.k, run.seed) >= 0.95
    assert run.silhouette is not None and run.silhouette > 0.5
    # the stored assignment is the public assignment rule's, on the sampled path too
    assert (segmentation.assign(Xr, run)[0] == labels).all()
    assert set(run.stability_by_k) == {str(k) for k in range(2, 11)} and run.stability_by_k["4"] >= 0.9


def test_thread_limits_are_restored_after_a_run(store, mall):
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info()]
    inside = []
    run_segmentation(store, mall.dataset_id, MALL_FEATURES, k=5,
                     progress=lambda s, f: inside.append([i["num_threads"] for i in threadpool_info()]))
    assert [i["num_threads"] for i in threadpool_info()] == before
    assert any(all(n == segmentation.NUMERIC_THREADS for n in threads) for threads in inside)


@pytest.mark.parametrize("features", [[INCOME, SCORE], [AGE, INCOME, SCORE]], ids=["two", "pca"])
def test_segment_centres_in_scatter_coordinates(store, mall, features):
    run = run_segmentation(store, mall.dataset_id, features, k=4)
    rows = run_rows(store, run)
    for seg in run.segments:
        members = rows[rows["__segment"] == seg.id]
        assert seg.xy == pytest.approx([members["__x"].mean(), members["__y"].mean()])
        if len(features) == 2:  # no projection: the centre is the centroid itself
            assert seg.xy == pytest.approx([seg.centroid[f] for f in features])
