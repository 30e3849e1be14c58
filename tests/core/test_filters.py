"""FilterSpec validation (what a client may send) and where_clause (the one WHERE every view uses)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core import filters, lasso
from core.filters import LASSO_VERTICES, MAX_LASSO_POINTS, FilterSpec, where_clause
from core.models import ROW, SEGMENT, X, Y, Segment
from core.store import run_table

NUMERIC = ["Age", "Annual Income (k$)"]
CATEGORICAL = ["Gender"]
RUN = "0123456789ab"


def parse(data: dict, k: int = 5) -> FilterSpec:
    return FilterSpec.from_dict({"run_id": RUN, **data}, NUMERIC, CATEGORICAL, k)


# -- validation ----------------------------------------------------------------------------------
def test_valid_spec_round_trips():
    data = {
        "run_id": RUN,
        "segments": [3, 1, 3],
        "ranges": {"Age": [40, 20]},
        "categories": {"Gender": ["Female", "Female"]},
        "region": {"kind": "box", "x": [5, -5], "y": [0, 1]},
    }
    spec = FilterSpec.from_dict(data, NUMERIC, CATEGORICAL, 5)
    assert spec.segments == (1, 3)
    assert spec.ranges == {"Age": (20.0, 40.0)}
    assert spec.categories == {"Gender": ("Female",)}
    assert spec.region.x == (-5.0, 5.0)
    again = FilterSpec.from_dict(json.loads(json.dumps(spec.to_dict())), NUMERIC, CATEGORICAL, 5)
    assert again == spec
    assert FilterSpec.from_dict({"run_id": RUN}, NUMERIC, CATEGORICAL, 5).is_empty


@pytest.mark.parametrize(
    "data",
    [
        {"ranges": {"Height": [1, 2]}},  # unknown column
        {"ranges": {"Gender": [1, 2]}},  # categorical used as a range
        {"categories": {"Age": ["1"]}},  # numeric used as a category
        {"categories": {"Colour": ["red"]}},
        {"ranges": {'Age" OR 1=1 --': [0, 1]}},  # SQL in a column name
        {"ranges": {"Age); DROP TABLE runs; --": [0, 1]}},
        {"categories": {"Gender\" = \"Gender": ["x"]}},
        {"ranges": {"": [0, 1]}},
    ],
)
def test_refuses_unknown_and_sql_column_names(data):
    with pytest.raises(InputError, match="unknown column|non-empty"):
        parse(data)


@pytest.mark.parametrize(
    "bounds",
    [["10", 20], [None, 1], [True, 2], [0, float("nan")], [0, float("inf")], [-float("inf"), 0],
     [0, 10**400], [0], [0, 1, 2], "0-10", {"lo": 0, "hi": 1}, [[0], 1]],
)
def test_refuses_bad_range_bounds(bounds):
    with pytest.raises(InputError):
        parse({"ranges": {"Age": bounds}})


@pytest.mark.parametrize("segments", [[0], [6], [-1], [True], ["1"], [1.5], [10**30], "1", {"1": 1},
                                      list(range(1, 12))])
def test_refuses_segments_out_of_range(segments):
    with pytest.raises(InputError):
        parse({"segments": segments}, k=5)


def test_accepts_every_segment_up_to_k():
    assert parse({"segments": [1, 2, 3, 4, 5]}, k=5).segments == (1, 2, 3, 4, 5)


def test_refuses_huge_lists():
    big = ["x"] * 100_000
    with pytest.raises(InputError):
        parse({"categories": {"Gender": big}})
    with pytest.raises(InputError):
        parse({"segments": [1] * 100_000})
    with pytest.raises(InputError):
        parse({"region": {"kind": "lasso", "points": [[0, 0], [1, 0], [1, 1]] * 33_334}})
    with pytest.raises(InputError):
        parse({"ranges": {f"c{i}": [0, 1] for i in range(100_000)}})
    with pytest.raises(InputError):
        parse({"categories": {"Gender": [1, 2]}})  # values must be text


@pytest.mark.parametrize(
    "region",
    [
        {"kind": "circle", "x": [0, 1], "y": [0, 1]},
        {"kind": None},
        {"x": [0, 1], "y": [0, 1]},
        {"kind": "BOX", "x": [0, 1], "y": [0, 1]},
        {"kind": ["box"], "x": [0, 1], "y": [0, 1]},
        {"kind": "box", "x": [0, 1]},
        {"kind": "box", "x": [0, 1], "y": [0, "1"]},
        {"kind": "box", "x": [0, 1, 2], "y": [0, 1]},
        {"kind": "lasso", "points": [[0, 0], [1, 1]]},
        {"kind": "lasso", "points": [[0, 0], [1, 1], [2]]},
        {"kind": "lasso", "points": [[0, 0], [1, 1], [2, float("nan")]]},
        {"kind": "lasso", "points": "0,0 1,1 2,0"},
        "box",
        [0, 1],
    ],
)
def test_refuses_bad_regions(region):
    with pytest.raises(InputError):
        parse({"region": region})


@pytest.mark.parametrize("run_id", [None, "", "RUN", "0123456789AB", "0123456789ab; --", 123])
def test_refuses_bad_run_ids(run_id):
    with pytest.raises(InputError):
        FilterSpec.from_dict({"run_id": run_id}, NUMERIC, CATEGORICAL, 5)


def test_refuses_non_object_spec():
    for data in (None, [], "run", 1):
        with pytest.raises(InputError):
            FilterSpec.from_dict(data, NUMERIC, CATEGORICAL, 5)


def test_long_lasso_is_thinned():
    pts = [[math.cos(t / 1000 * 2 * math.pi), math.sin(t / 1000 * 2 * math.pi)] for t in range(1000)]
    spec = parse({"region": {"kind": "lasso", "points": pts}})
    assert 3 <= len(spec.region.points) <= LASSO_VERTICES
    assert MAX_LASSO_POINTS >= 1000


# -- where_clause against a real table -----------------------------------------------------------
def crossing_inside(px: float, py: float, poly) -> bool:
    """Even-odd ray casting (half-open in y), the rule the SQL implements."""
    inside = False
    n = len(poly)
    for i in range(n):
        (xi, yi), (xj, yj) = poly[i], poly[(i + 1) % n]
        if yi == yj:
            continue
        if min(yi, yj) <= py < max(yi, yj):
            if px < xi + (xj - xi) / (yj - yi) * (py - yi):
                inside = not inside
    return inside


def winding_inside(px: float, py: float, poly) -> bool:
    """Winding number (independent of the SQL's formula); equals even-odd for simple polygons."""
    wn = 0
    n = len(poly)
    for i in range(n):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
        cross = (x1 - x0) * (py - y0) - (px - x0) * (y1 - y0)
        if y0 <= py < y1 and cross > 0:
            wn += 1
        elif y1 <= py < y0 and cross < 0:
            wn -= 1
    return wn != 0


@pytest.fixture
def points_run(make_run):
    rng = np.random.default_rng(11)
    n = 4000
    frame = pd.DataFrame(
        {
            "Age": rng.integers(18, 70, n),
            "Annual Income (k$)": rng.integers(10, 140, n),
            "Gender": rng.choice(["Female", "Male", "O'Brien \"x\""], n),
            SEGMENT: rng.integers(1, 6, n),
            X: rng.uniform(-10, 10, n),
            Y: rng.uniform(-10, 10, n),
        }
    )
    # a few points exactly on grid values (box edges are inclusive)
    frame.loc[:4, X] = [-2.0, 3.0, -2.0, 3.0, 0.0]
    frame.loc[:4, Y] = [-1.0, -1.0, 4.0, 4.0, 0.0]
    run = make_run(frame)
    frame[ROW] = np.arange(1, n + 1)
    return run, frame


def selected_rows(store, run, spec) -> set[int]:
    sql, params = where_clause(spec, NUMERIC, CATEGORICAL)
    with store.cursor() as cur:
        rows = cur.execute(f"SELECT {ROW} FROM {run_table(run.run_id)} WHERE {sql}", params).fetchall()
    return {r[0] for r in rows}


def spec_for(run, **data) -> FilterSpec:
    return FilterSpec.from_dict({"run_id": run.run_id, **data}, NUMERIC, CATEGORICAL, run.k)


def test_box_selects_exactly_the_points_inside_inclusive(store, points_run):
    run, frame = points_run
    spec = spec_for(run, region={"kind": "box", "x": [3, -2], "y": [-1, 4]})
    expected = set(frame.loc[frame[X].between(-2, 3) & frame[Y].between(-1, 4), ROW])
    assert {1, 2, 3, 4, 5} <= expected
    assert selected_rows(store, run, spec) == expected


CONCAVE_C = [(-8, -8), (8, -8), (8, -4), (-3, -4), (-3, 4), (8, 4), (8, 8), (-8, 8)]
STAR = [
    (5 * math.cos(math.pi / 2 + i * math.pi / 5) * (1 if i % 2 == 0 else 0.4),
     5 * math.sin(math.pi / 2 + i * math.pi / 5) * (1 if i % 2 == 0 else 0.4))
    for i in range(10)
]
TRIANGLE = [(-9.5, -9), (9, -2.5), (0.25, 9.75)]


@pytest.mark.parametrize("poly", [TRIANGLE, CONCAVE_C, STAR], ids=["triangle", "concave_c", "star"])
def test_lasso_selects_exactly_the_points_a_python_check_selects(store, points_run, poly):
    run, frame = points_run
    spec = spec_for(run, region={"kind": "lasso", "points": [list(p) for p in poly]})
    pts = spec.region.points
    expected = {r for r, x, y in zip(frame[ROW], frame[X], frame[Y]) if crossing_inside(x, y, pts)}
    by_winding = {r for r, x, y in zip(frame[ROW], frame[X], frame[Y]) if winding_inside(x, y, pts)}
    assert expected == by_winding  # the reference itself agrees with an independent method
    assert 50 < len(expected) < len(frame) - 50  # the polygon splits the data
    assert selected_rows(store, run, spec) == expected


def test_concave_notch_is_outside(store, points_run):
    run, frame = points_run
    spec = spec_for(run, region={"kind": "lasso", "points": [list(p) for p in CONCAVE_C]})
    selected = selected_rows(store, run, spec)
    in_notch = set(frame.loc[frame[X].between(-2, 7) & frame[Y].between(-3, 3), ROW])
    assert in_notch and not (in_notch & selected)


def test_long_freehand_lasso_matches_on_its_thinned_polygon(store, points_run):
    run, frame = points_run
    # a wobbly freehand loop of 3,000 points, thinned by from_dict
    t = np.linspace(0, 2 * math.pi, 3000, endpoint=False)
    r = 6 + 2.5 * np.sin(5 * t)
    pts = [[float(a), float(b)] for a, b in zip(r * np.cos(t), r * np.sin(t))]
    spec = spec_for(run, region={"kind": "lasso", "points": pts})
    poly = spec.region.points
    expected = {row for row, x, y in zip(frame[ROW], frame[X], frame[Y]) if crossing_inside(x, y, poly)}
    assert selected_rows(store, run, spec) == expected


def test_degenerate_lasso_selects_nothing(store, points_run):
    run, _ = points_run
    flat = spec_for(run, region={"kind": "lasso", "points": [[-5, 1], [0, 1], [5, 1]]})
    line = spec_for(run, region={"kind": "lasso", "points": [[1, -5], [1, 0], [1, 5]]})
    assert selected_rows(store, run, flat) == set()
    assert selected_rows(store, run, line) == set()


def test_segments_ranges_categories_combine(store, points_run):
    run, frame = points_run
    spec = spec_for(
        run,
        segments=[2, 4],
        ranges={"Age": [30, 50], "Annual Income (k$)": [40, 120]},
        categories={"Gender": ["O'Brien \"x\"", "Female"]},
        region={"kind": "box", "x": [-10, 5], "y": [-10, 10]},
    )
    f = frame
    mask = (
        f[SEGMENT].isin([2, 4]) & f["Age"].between(30, 50) & f["Annual Income (k$)"].between(40, 120)
        & f["Gender"].isin(["O'Brien \"x\"", "Female"]) & f[X].between(-10, 5) & f[Y].between(-10, 10)
    )
    assert selected_rows(store, run, spec) == set(f.loc[mask, ROW])


def test_values_are_bound_not_spliced(store, points_run):
    run, frame = points_run
    spec = spec_for(run, categories={"Gender": ["O'Brien \"x\"", "x'); DROP TABLE runs; --"]})
    sql, params = where_clause(spec, NUMERIC, CATEGORICAL)
    assert "O'Brien" not in sql and "DROP" not in sql
    assert selected_rows(store, run, spec) == set(frame.loc[frame["Gender"] == "O'Brien \"x\"", ROW])
    assert store.get_run(run.run_id).run_id == run.run_id


def test_unfiltered_spec_is_true():
    spec = FilterSpec.from_dict({"run_id": RUN}, NUMERIC, CATEGORICAL, 5)
    assert where_clause(spec, NUMERIC, CATEGORICAL) == ("TRUE", [])


# -- the lasso raster (many edges) gives the exact test's answer ---------------------------------
SPIRAL = [
    (r * math.cos(a), r * math.sin(a))
    for a, r in [(i / 30 * 3 * math.pi, 1.5 + 6.5 * i / 30) for i in range(31)]
] + [
    (r * math.cos(a), r * math.sin(a))
    for a, r in [(i / 30 * 3 * math.pi, 0.3 + 6.5 * i / 30) for i in range(30, -1, -1)]
]  # a thick spiral arm: strongly concave, 62 vertices


@pytest.mark.parametrize("plain_edges", [0, 1000], ids=["raster", "exact-only"])
@pytest.mark.parametrize("poly", [CONCAVE_C, STAR, SPIRAL], ids=["concave_c", "star", "spiral"])
def test_lasso_raster_and_exact_test_agree_with_python(store, points_run, monkeypatch, poly, plain_edges):
    monkeypatch.setattr(lasso, "LASSO_PLAIN_EDGES", plain_edges)
    run, frame = points_run
    spec = spec_for(run, region={"kind": "lasso", "points": [list(p) for p in poly]})
    pts = spec.region.points
    expected = {r for r, x, y in zip(frame[ROW], frame[X], frame[Y]) if crossing_inside(x, y, pts)}
    assert selected_rows(store, run, spec) == expected


def test_lasso_raster_is_exact_on_cell_borders_and_vertices(store, make_run, monkeypatch):
    """Points placed on the raster's cell borders, on the polygon's vertices and edges, and just
    beside them: the raster never decides a point the exact test would decide otherwise."""
    monkeypatch.setattr(lasso, "LASSO_PLAIN_EDGES", 0)
    poly = lasso.simplify(SPIRAL, lasso.LASSO_VERTICES)
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    n = lasso.LASSO_GRID
    gx = x0 + (x1 - x0) / n * np.arange(n + 1)
    gy = y0 + (y1 - y0) / n * np.arange(n + 1)
    lattice = [(a, b) for a in gx for b in gy]
    on_poly = [p for p in poly] + [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(poly, poly[1:])]
    eps = [(x + dx, y + dy) for x, y in on_poly for dx in (-1e-9, 1e-9) for dy in (-1e-9, 1e-9)]
    pts = lattice + on_poly + eps
    frame = pd.DataFrame({"Age": 30, "Annual Income (k$)": 50, "Gender": "Female", SEGMENT: 1,
                          X: [p[0] for p in pts], Y: [p[1] for p in pts]})
    run = make_run(frame)
    spec = spec_for(run, region={"kind": "lasso", "points": [list(p) for p in poly]})
    assert spec.region.points == tuple(poly)  # already simple: kept as sent
    expected = {i + 1 for i, (x, y) in enumerate(pts) if crossing_inside(x, y, spec.region.points)}
    assert len(expected) > 100
    assert selected_rows(store, run, spec) == expected


def test_simplified_lasso_stays_close_to_the_drawn_path():
    t = np.linspace(0, 2 * math.pi, 2500, endpoint=False)
    r = 6 + 2.5 * np.sin(5 * t)
    drawn = list(zip((r * np.cos(t)).tolist(), (r * np.sin(t)).tolist()))
    simple = lasso.simplify(drawn, lasso.LASSO_VERTICES)
    assert 3 <= len(simple) <= lasso.LASSO_VERTICES
    assert all(p in drawn for p in simple)
    assert lasso.simplify(simple, lasso.LASSO_VERTICES) == simple  # parsing twice changes nothing

    def dist_to_outline(p):
        best = math.inf
        for a, b in zip(simple, simple[1:] + simple[:1]):
            ab = np.subtract(b, a)
            t_ = np.clip(np.dot(np.subtract(p, a), ab) / max(np.dot(ab, ab), 1e-300), 0, 1)
            best = min(best, math.dist(p, (a[0] + t_ * ab[0], a[1] + t_ * ab[1])))
        return best

    worst = max(dist_to_outline(p) for p in drawn[::5])
    assert worst < 0.05 * 17  # under 5% of the lasso's size (about 17 units across)
    square = [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (0, 1)] * 10
    assert len(lasso.simplify(square, 5)) <= 5


# -- kinds that need the run: rule, original, the outlier group ------------------------------------
def run_spec(run, dataset_columns, numeric, categorical, **data) -> FilterSpec:
    return FilterSpec.from_dict({"run_id": run.run_id, **data}, numeric, categorical, run.k, run=run,
                                dataset_columns=dataset_columns)


def count_where(store, run, spec, numeric, categorical) -> int:
    sql, params = where_clause(spec, numeric, categorical)
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE {sql}", params).fetchone()[0]


def test_rule_kind_selects_the_customers_matching_the_segments_rule(store, make_run, frames):
    frame = frames.synthetic(500, seed=3)
    run = make_run(frame)
    run.segments[1].rule = '"age" < 30 AND "spend" >= 100'  # as the core writes it when fitting
    cols = list(frame.columns)
    spec = run_spec(run, cols, ["age", "spend"], ["region"], rule=2)
    assert spec.rule.sql == run.segments[1].rule and spec.to_dict()["rule"] == 2
    expected = int(((frame["age"] < 30) & (frame["spend"] >= 100)).sum())  # pandas, independently
    assert count_where(store, run, spec, ["age", "spend"], ["region"]) == expected
    assert "matching the rule of segment 2" in filters.describe(spec, [s.name for s in run.segments])
    again = run_spec(run, cols, ["age", "spend"], ["region"], **json.loads(json.dumps(spec.to_dict())))
    assert again == spec


@pytest.mark.parametrize("raw", ['"age" > 0 OR 1=1', [2], True, 99])
def test_rule_kind_takes_only_a_segment_id_of_the_run(store, make_run, frames, raw):
    frame = frames.synthetic(50, seed=4)
    run = make_run(frame)
    run.segments[0].rule = '"age" < 30'
    with pytest.raises(InputError):
        run_spec(run, list(frame.columns), ["age", "spend"], ["region"], rule=raw)


def test_rule_kind_is_refused_when_the_run_has_no_rules(store, make_run, frames):
    frame = frames.synthetic(50, seed=5)
    run = make_run(frame)
    with pytest.raises(InputError, match="no segment rules"):
        run_spec(run, list(frame.columns), ["age", "spend"], ["region"], rule=1)
    with pytest.raises(InputError, match="no segment rules"):
        FilterSpec.from_dict({"run_id": run.run_id, "rule": 1}, ["age"], [], run.k)  # no run given


def test_original_kind_keeps_rows_whose_features_were_not_filled(store, make_run, frames):
    frame = frames.synthetic(400, seed=6)
    frame["spend"] = frame["spend"].astype(float)
    frame.loc[frame.index % 7 == 0, "spend"] = np.nan  # missing in the file
    frame.loc[frame.index % 11 == 0, "age"] = np.nan
    run = make_run(frame, features=["age", "spend"])
    with store.cursor() as cur:  # the run table holds filled values, as a real run does
        cur.execute(f'UPDATE {run_table(run.run_id)} SET spend = 50.0 WHERE spend IS NULL')
        cur.execute(f'UPDATE {run_table(run.run_id)} SET age = 40 WHERE age IS NULL')
    spec = run_spec(run, list(frame.columns), ["age", "spend"], ["region"], original=True)
    expected = int((frame["spend"].notna() & frame["age"].notna()).sum())
    assert count_where(store, run, spec, ["age", "spend"], ["region"]) == expected
    assert spec.to_dict()["original"] is True
    combined = run_spec(run, list(frame.columns), ["age", "spend"], ["region"], original=True, segments=[1])
    assert count_where(store, run, combined, ["age", "spend"], ["region"]) == int(
        (frame["spend"].notna() & frame["age"].notna() & (frame[SEGMENT] == 1)).sum())
    assert run_spec(run, list(frame.columns), ["age"], [], original=False).is_empty
    with pytest.raises(InputError):
        run_spec(run, list(frame.columns), ["age"], [], original="yes")


def test_an_outlier_group_is_a_valid_segment(store, make_run, frames):
    frame = frames.synthetic(60, k=3, seed=7)
    run = make_run(frame)
    run.segments.append(Segment(id=run.k + 1, name="Outliers", action="review", size=0, share=0.0,
                                centroid={}, outlier_group=True))
    spec = run_spec(run, list(frame.columns), ["age"], [], segments=[run.k + 1])
    assert spec.segments == (run.k + 1,)
    with pytest.raises(InputError):
        run_spec(run, list(frame.columns), ["age"], [], segments=[run.k + 2])


def test_every_kind_is_registered_with_its_words_and_sql():
    assert list(filters.KINDS) == ["segments", "ranges", "categories", "region", "rule", "original", "dates",
                                  "search", "poor_fit", "transition"]
    for key, kind in filters.KINDS.items():
        assert kind.key == key and hasattr(FilterSpec, "__dataclass_fields__") and key in FilterSpec.__dataclass_fields__
