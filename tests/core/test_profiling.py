"""core/profiling.py: segment names (quadrants, uniqueness, any column name, RFM and age words),
suggested actions per archetype, and filtered profiles checked against direct DuckDB queries."""
from __future__ import annotations

import numpy as np
import pytest

from core.filters import FilterSpec, Region
from core.ingest import load_file
from core.models import SEGMENT, X, Y
from core.profiling import (
    clean_name,
    feature_kind,
    level,
    name_segments,
    onehot_columns,
    profile_segments,
    suggest_action,
)
from core.segmentation import run_segmentation
from core.store import run_table

INCOME, SCORE, AGE = "Annual Income (k$)", "Spending Score (1-100)", "Age"
RFM = ["recency_days", "frequency", "monetary"]


def names_for(z_rows, features, **kw):
    """Names for segments given directly as z-scores (base mean 0, std 1)."""
    m = len(features)
    return name_segments(np.array(z_rows, dtype=float), np.zeros(m), np.ones(m), features, **kw)


# -- words ----------------------------------------------------------------------------------------
def test_levels_and_nouns():
    assert [level(z) for z in (0.5, 0.49, -0.49, -0.5, None, float("nan"))] == [
        "high", "average", "average", "low", "average", "average"]
    assert clean_name(INCOME) == "annual income"
    assert clean_name("recency_days") == "recency days"
    assert clean_name("avgBasketValue") == "avg basket value"
    assert clean_name("(k$)") == "(k$)"
    assert feature_kind(INCOME) == ("income", "income")
    assert feature_kind(SCORE) == ("spending", "spending")
    assert feature_kind("Age") == ("age", "age")
    assert feature_kind("customer_age_years") == ("age", "age")
    assert feature_kind("Average Order") == ("generic", "average order")  # "average" is not "age"
    assert feature_kind("monthly_salary") == ("income", "salary")
    assert [feature_kind(c)[0] for c in RFM] == ["recency", "frequency", "monetary"]


# -- names ----------------------------------------------------------------------------------------
def test_mall_quadrants_from_centroids_in_original_units():
    base_mean = {INCOME: 60.56, SCORE: 50.2}
    base_std = {INCOME: 26.2, SCORE: 25.8}
    centroids = [
        {INCOME: 55.3, SCORE: 49.5}, {INCOME: 86.5, SCORE: 82.1}, {INCOME: 88.2, SCORE: 17.1},
        {INCOME: 26.3, SCORE: 20.9}, {INCOME: 25.7, SCORE: 79.4},
    ]
    assert name_segments(centroids, base_mean, base_std, [INCOME, SCORE]) == [
        "Average income, average spending", "High income, high spending", "High income, low spending",
        "Low income, low spending", "Low income, high spending",
    ]


def test_two_segments_in_the_same_quadrant_get_unique_names():
    names = names_for([[1.2, -1.0], [0.8, -1.4], [-1.0, 1.0], [1.6, -0.9], [1.1, -0.6]], [INCOME, SCORE])
    assert names == [
        "High income, low spending",
        "High income, low spending (2)",
        "Low income, high spending",
        "Very high income, low spending",  # |z| >= 1.5 separates it before any number is used
        "High income, low spending (3)",
    ]


def test_stronger_words_only_where_needed():
    z = [[-2.3, 1.9, 1.6], [-0.6, 0.9, 0.8], [-2.2, 0.9, 0.7], [1.8, -1.7, -0.6]]
    assert names_for(z, RFM) == [
        "Very recent, very frequent, very high spend",
        "Recent, frequent, high spend",
        "Very recent, frequent, high spend",
        "Lapsed, infrequent, low spend",  # unique already: no "very"
    ]
    assert names_for([[2.0, 0.0], [0.7, 0.1], [-2.0, 0.0], [-0.6, 0.0]], [AGE, SCORE]) == [
        "Much older, average spending", "Older, average spending",
        "Very young, average spending", "Young, average spending",
    ]


def test_with_many_features_the_next_distinctive_feature_separates_duplicates():
    features = [AGE, INCOME, SCORE, "tenure_months", "visits"]
    z = [
        [-0.9, 1.5, -1.6, 0.1, 0.0],   # same top two (income, spending) ...
        [0.8, 1.4, -1.5, 0.0, 0.2],    # ... separated by age
        [0.0, 0.1, 0.2, 2.0, -1.0],
    ]
    names = names_for(z, features)
    assert names == [
        "Young, high income, low spending",
        "Older, high income, low spending",
        "High tenure months, low visits",
    ]


def test_names_for_any_column_names_are_readable_and_unique():
    features = ["x", "Größe (cm)", "a=b", "col with  spaces", "z" * 80, "(units only)", "SALES_2024"]
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.2, size=(10, len(features)))
    names = names_for(z, features, onehot={})
    assert len(set(names)) == 10
    for n in names:
        assert n and n[0].isupper() and len(n) < 120 and "\n" not in n
    one = names_for([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], features, onehot={})
    assert one == ["High x, average größe"]  # the two most distinctive (ties: column order)


def test_rfm_and_age_words():
    assert names_for([[-1.0, 1.2, 1.1], [1.3, -0.8, -0.9], [-0.9, -0.7, 0.0], [0.1, 0.0, 0.2]], RFM) == [
        "Recent, frequent, high spend", "Lapsed, infrequent, low spend",
        "Recent, infrequent, average spend", "Average recency, average frequency, average spend",
    ]
    assert names_for([[-1.0, 0.9], [1.1, -0.7]], [AGE, SCORE]) == ["Young, high spending", "Older, low spending"]


def test_one_hot_columns_are_named_by_the_level_they_over_represent():
    features = [INCOME, "Gender=Female", "Gender=Male"]
    names = names_for([[1.0, 0.9, -0.9], [1.0, -0.9, 0.9], [-1.0, 0.1, -0.1]], features)
    assert names == ["High income, mostly Female", "High income, mostly Male", "Low income"]
    mapping = onehot_columns([INCOME, "Gender"], features)
    assert mapping == {"Gender=Female": ("Gender", "Female"), "Gender=Male": ("Gender", "Male")}


def test_constant_feature_counts_as_average():
    names = name_segments(np.array([[5.0, 1.0], [5.0, 9.0]]), np.array([5.0, 5.0]), np.array([0.0, 4.0]),
                          ["flat", "score"])
    assert names == ["Average flat, low score", "Average flat, high score"]


# -- actions --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "income, score, words",
    [
        (1.0, -1.2, "targeted promotions"),
        (-1.2, 1.1, "loyalty programme"),
        (0.1, -0.2, "bundles"),
        (1.0, 1.2, "premium products and early access"),
        (-1.1, -1.0, "low-cost digital campaigns"),
    ],
)
def test_income_spending_archetypes(income, score, words):
    action = suggest_action({INCOME: income, SCORE: score})
    assert words in action.lower()
    assert action.count(".") == 1 and action.endswith(".")


def test_income_and_spending_like_names_are_recognised():
    assert "premium" in suggest_action({"household_salary": 1.0, "amount_spent": 1.0}).lower()
    assert "loyalty" in suggest_action({"revenue": -1.0, "purchase amount": 1.0}).lower()


@pytest.mark.parametrize(
    "z, words",
    [
        ((-1.0, 1.0, 1.2), "vip"),
        ((1.2, 0.8, 1.0), "win-back"),
        ((1.1, 0.0, 0.9), "win-back"),
        ((1.2, -0.8, -0.9), "low-cost reactivation"),
        ((-1.0, -0.9, 0.0), "onboarding"),
        ((0.0, 0.1, 0.0), "nurture"),
        ((0.0, 0.9, 0.9), "loyalty rewards"),
        ((-0.9, 0.0, 0.0), "loyalty rewards"),
    ],
)
def test_rfm_archetypes(z, words):
    action = suggest_action(dict(zip(RFM, z)))
    assert words in action.lower() and action.endswith(".")
    assert ("recently" in action) == (level(z[0]) == "low" and words == "loyalty rewards")


def test_generic_action_follows_the_overall_level():
    assert "premium" in suggest_action({"tenure": 1.2, "visits": 0.9}).lower()
    assert "low-cost" in suggest_action({"tenure": -1.2, "visits": -0.9}).lower()
    assert "retention" in suggest_action({"tenure": 0.1, "visits": -0.2}).lower()
    # one-hot columns never decide the action
    assert suggest_action({"tenure": 0.0, "Gender=Female": 3.0}) == suggest_action({"tenure": 0.0})


# -- profiles -------------------------------------------------------------------------------------
@pytest.fixture
def mall_run(store, mall_csv):
    info = load_file(store, mall_csv, "mall")
    return run_segmentation(store, info.dataset_id, [INCOME, SCORE], k=5, categoricals=["Gender"])


def direct(store, run, where: str, params: list):
    with store.cursor() as cur:
        return cur.execute(
            f"SELECT {SEGMENT}, count(*), avg(\"{INCOME}\"), median(\"{INCOME}\"), "
            f"avg((\"Gender\" = 'Female')::DOUBLE) FROM {run_table(run.run_id)} WHERE {where} "
            f"GROUP BY {SEGMENT} ORDER BY {SEGMENT}",
            params,
        ).fetchall()


def test_unfiltered_profiles_cover_the_whole_run(store, mall_run):
    profiles = profile_segments(store, FilterSpec(mall_run.run_id))
    assert [p.segment for p in profiles] == [1, 2, 3, 4, 5]
    assert [p.size for p in profiles] == [s.size for s in mall_run.segments]
    assert [p.name for p in profiles] == [s.name for s in mall_run.segments]
    assert [p.action for p in profiles] == [s.action for s in mall_run.segments]
    assert sum(p.share for p in profiles) == pytest.approx(1.0)
    for p, s in zip(profiles, mall_run.segments):
        assert set(p.means) == {INCOME, SCORE, "Gender=Female", "Gender=Male"}
        for f, v in s.centroid.items():
            assert p.means[f] == pytest.approx(v)
    # diffs are against the whole run: size-weighted they cancel out
    for f in (INCOME, SCORE):
        assert sum(p.diffs[f] * p.size for p in profiles) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "spec_kw, where, params",
    [
        ({"segments": (1, 3)}, f"{SEGMENT} IN (1, 3)", []),
        ({"ranges": {AGE: (20.0, 40.0)}}, f"\"{AGE}\" BETWEEN ? AND ?", [20.0, 40.0]),
        ({"region": Region("box", (-1.0, 1.0), (-1.0, 1.0))},  # PC units (four encoded features)
         f"{X} BETWEEN ? AND ? AND {Y} BETWEEN ? AND ?", [-1.0, 1.0, -1.0, 1.0]),
        ({"categories": {"Gender": ("Male",)}, "segments": (2, 4, 5)},
         f"\"Gender\" = 'Male' AND {SEGMENT} IN (2, 4, 5)", []),
    ],
)
def test_filtered_profiles_equal_direct_queries(store, mall_run, spec_kw, where, params):
    profiles = profile_segments(store, FilterSpec(mall_run.run_id, **spec_kw))
    expected = direct(store, mall_run, where, params)
    assert expected, "the filter should select someone"
    assert [(p.segment, p.size) for p in profiles] == [(r[0], r[1]) for r in expected]
    total = sum(r[1] for r in expected)
    with store.cursor() as cur:
        base = cur.execute(f"SELECT avg(\"{INCOME}\") FROM {run_table(mall_run.run_id)}").fetchone()[0]
    for p, r in zip(profiles, expected):
        assert p.share == pytest.approx(r[1] / total)
        assert p.means[INCOME] == pytest.approx(r[2])
        assert p.medians[INCOME] == pytest.approx(r[3])
        assert p.means["Gender=Female"] == pytest.approx(r[4])
        assert p.medians["Gender=Female"] == pytest.approx(r[4])
        assert p.diffs[INCOME] == pytest.approx(r[2] - base)


def test_segments_without_selected_customers_are_left_out(store, mall_run):
    none = profile_segments(store, FilterSpec(mall_run.run_id, ranges={INCOME: (1000.0, 2000.0)}))
    assert none == []
    one = profile_segments(store, FilterSpec(mall_run.run_id, segments=(4,)))
    assert [p.segment for p in one] == [4] and one[0].share == 1.0


def test_profiles_refuse_unknown_runs_and_columns(store, mall_run):
    from core.errors import InputError

    with pytest.raises(InputError, match="unknown run"):
        profile_segments(store, FilterSpec("0123456789ab"))
    with pytest.raises(InputError, match="unknown column"):
        profile_segments(store, FilterSpec(mall_run.run_id, ranges={'x" OR 1=1 --': (0.0, 1.0)}))
    with pytest.raises(InputError, match="unknown column"):
        profile_segments(store, FilterSpec(mall_run.run_id, ranges={"CustomerID": (0.0, 1.0)}))


def test_box_region_in_original_units_for_two_features(store, mall_csv):
    info = load_file(store, mall_csv, "mall")
    run = run_segmentation(store, info.dataset_id, [INCOME, SCORE], k=5)
    spec = FilterSpec(run.run_id, region=Region("box", (30.0, 80.0), (10.0, 60.0)))
    profiles = profile_segments(store, spec)
    with store.cursor() as cur:
        expected = cur.execute(
            f"SELECT {SEGMENT}, count(*) FROM {run_table(run.run_id)} "
            f"WHERE \"{INCOME}\" BETWEEN 30 AND 80 AND \"{SCORE}\" BETWEEN 10 AND 60 "
            f"GROUP BY {SEGMENT} ORDER BY {SEGMENT}"
        ).fetchall()
    assert [(p.segment, p.size) for p in profiles] == expected
    assert sum(p.size for p in profiles) < 200
