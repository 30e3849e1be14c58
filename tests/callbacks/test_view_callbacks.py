"""The views' callback bodies on the real sample: summary, profile, scatter, histograms, grid, empty states,
and refusal of bad filter specs (shown as alerts, never raised)."""
from __future__ import annotations

import json

import dash_bootstrap_components as dbc
import pytest
from dash import no_update

from callbacks.explore import grid_response, histogram_views, scatter_view, summary_view
from cb_helpers import text_of, values
from layouts import theme

SAMPLE_SIZES = [81, 39, 35, 23, 22]


def annotations(figure: dict) -> list[str]:
    return [a.get("text", "") for a in figure.get("layout", {}).get("annotations", [])]


def hist_total(figure: dict) -> int:
    return sum(sum(t["y"]) for t in figure["data"])


# -- unfiltered ---------------------------------------------------------------------------------
def test_summary_and_profile_of_the_whole_sample(sample):
    v = summary_view(sample.store, sample.spec())
    assert v.alert is None
    assert text_of(v.summary).startswith("200 of 200 customers selected")
    assert [r["size"] for r in v.profile_rows] == SAMPLE_SIZES
    assert [r["segment"] for r in v.profile_rows] == [1, 2, 3, 4, 5]
    assert all(r["name"] and r["action"] for r in v.profile_rows)
    assert sum(r["share"] for r in v.profile_rows) == pytest.approx(1.0)
    # one mean and one difference from the base per feature
    assert {f"{kind}::{f}" for kind in ("mean", "diff") for f in sample.run.features} <= set(v.profile_rows[0])


def test_scatter_shows_every_customer_with_centroids(sample):
    v = scatter_view(sample.store, sample.spec())
    assert v.alert is None
    fig = v.figure
    points = [t for t in fig["data"] if t["type"] == "scattergl"]
    assert sum(len(values(t["x"])) for t in points) == 200
    assert [len(values(t["x"])) for t in points] == SAMPLE_SIZES
    # one colour per segment, from the theme
    assert [t["marker"]["color"] for t in points] == [theme.segment_color(s) for s in range(1, 6)]
    centres = [t for t in fig["data"] if t["name"].startswith("centre of")]
    assert len(centres) == 5
    assert fig["layout"]["dragmode"] == "select"
    assert "Annual Income" in fig["layout"]["xaxis"]["title"]["text"]
    assert v.note.startswith("showing 200 of 200")


def test_histograms_count_every_customer(sample):
    cols = ["Annual Income (k$)", "Spending Score (1-100)", "Age"]
    figs, err = histogram_views(sample.store, sample.spec(), cols)
    assert err is None
    assert [hist_total(f) for f in figs] == [200, 200, 200]
    assert "200 customers" in figs[0]["layout"]["title"]["text"]


def test_grid_pages_and_counts_match_the_summary(sample):
    response, err = grid_response(sample.store, sample.spec(segments=[2]), {"startRow": 0, "endRow": 100})
    assert err is None
    assert response["rowCount"] == 39 == len(response["rowData"])
    assert {r["__segment"] for r in response["rowData"]} == {2}
    sorted_desc, _ = grid_response(
        sample.store, sample.spec(), {"startRow": 0, "endRow": 5, "sortModel": [{"colId": "Age", "sort": "desc"}]}
    )
    ages = [r["Age"] for r in sorted_desc["rowData"]]
    assert ages == sorted(ages, reverse=True) and len(ages) == 5


# -- selections ---------------------------------------------------------------------------------
def test_box_region_recomputes_every_view_and_agrees_with_duckdb(sample):
    region = {"kind": "box", "x": [60, 140], "y": [60, 100]}
    expected = sample.sql_count("__x BETWEEN 60 AND 140 AND __y BETWEEN 60 AND 100")
    assert 0 < expected < 200
    spec = sample.spec(region=region)
    v = summary_view(sample.store, spec)
    assert text_of(v.summary).startswith(f"{expected} of 200 customers selected")
    assert sum(r["size"] for r in v.profile_rows) == expected
    figs, _ = histogram_views(sample.store, spec, ["Annual Income (k$)", "Age"])
    assert [hist_total(f) for f in figs] == [expected, expected]
    s = scatter_view(sample.store, spec)
    selected = [t for t in s.figure["data"] if t["type"] == "scattergl" and t["name"] != "not selected"]
    assert sum(len(values(t["x"])) for t in selected) == expected
    # the unselected customers are drawn in grey behind, and the region is outlined
    grey = [t for t in s.figure["data"] if t["name"] == "not selected"]
    assert len(values(grey[0]["x"])) == 200 - expected
    assert s.figure["layout"]["shapes"][0]["type"] == "rect"
    rows, _ = grid_response(sample.store, spec, {"startRow": 0, "endRow": 500})
    assert rows["rowCount"] == expected


def test_lasso_region(sample):
    spec = sample.spec(region={"kind": "lasso", "points": [[60, 60], [140, 60], [140, 100], [60, 100]]})
    v = summary_view(sample.store, spec)
    expected = sample.sql_count("__x BETWEEN 60 AND 140 AND __y BETWEEN 60 AND 100")
    assert sum(r["size"] for r in v.profile_rows) == expected


# -- empty states -------------------------------------------------------------------------------
def test_all_filtered_out_shows_empty_states(sample):
    spec = sample.spec(region={"kind": "box", "x": [0, 1], "y": [0, 1]})
    v = summary_view(sample.store, spec)
    assert v.alert is None
    assert text_of(v.summary).startswith("0 of 200 customers selected")
    assert theme.EMPTY_MESSAGE in text_of(v.summary)
    assert v.profile_rows == []
    assert theme.EMPTY_MESSAGE in text_of(v.grid_title)
    s = scatter_view(sample.store, spec)
    assert theme.EMPTY_MESSAGE in annotations(s.figure)
    assert s.note.startswith("showing 0 of 200")
    figs, _ = histogram_views(sample.store, spec, ["Age"])
    assert theme.EMPTY_MESSAGE in annotations(figs[0])
    rows, err = grid_response(sample.store, spec, {"startRow": 0, "endRow": 100})
    assert err is None and rows == {"rowData": [], "rowCount": 0}


def test_contradicting_filters_are_empty_not_an_error(sample):
    spec = sample.spec(segments=[4], ranges={"Annual Income (k$)": [100, 140]})
    v = summary_view(sample.store, spec)
    assert v.alert is None and "No customers match" in v.grid_title
    # The profile table keeps the other segments' rows (issue 15 item 7): those with such incomes.
    with sample.store.cursor() as cur:
        present = [r[0] for r in cur.execute(
            f'SELECT DISTINCT __segment FROM {sample.run.table} WHERE "Annual Income (k$)" BETWEEN 100 AND 140 '
            "ORDER BY 1").fetchall()]
    assert [r["segment"] for r in v.profile_rows] == present and 4 not in present


def test_no_run_yet_shows_a_message(sample):
    v = summary_view(sample.store, None)
    assert "not been segmented" in text_of(v.summary)
    s = scatter_view(sample.store, None)
    assert theme.NO_RUN_MESSAGE in annotations(s.figure)


# -- refusals -------------------------------------------------------------------------------------
BAD_SPECS = [
    "not a dict",
    {"run_id": "../../etc"},
    {"run_id": "0123456789ab"},  # well-formed, unknown
    {"segments": [99]},
    {"segments": ["1; DROP TABLE runs"]},
    {"ranges": {"x\"; DROP TABLE datasets; --": [0, 1]}},
    {"ranges": {"Age": ["a", 3]}},
    {"categories": {"Gender": ["Male", 3]}},
    {"region": {"kind": "circle"}},
    {"region": {"kind": "lasso", "points": [[0, 0]] * 100_000}},
    {"segments": list(range(100_000))},
]


@pytest.mark.parametrize("bad", BAD_SPECS, ids=range(len(BAD_SPECS)))
def test_bad_specs_are_refused_with_an_alert(sample, bad):
    spec = bad if not isinstance(bad, dict) or "run_id" in bad else sample.spec(**bad)
    v = summary_view(sample.store, spec)
    assert isinstance(v.alert, dbc.Alert)
    assert v.summary is no_update and v.profile_rows is no_update
    s = scatter_view(sample.store, spec)
    assert isinstance(s.alert, dbc.Alert)
    figs, err = histogram_views(sample.store, spec, ["Age"])
    assert isinstance(err, dbc.Alert)
    rows, err = grid_response(sample.store, spec, {"startRow": 0, "endRow": 10})
    assert isinstance(err, dbc.Alert) and rows["rowCount"] == 0
    # the store is untouched
    assert len(sample.store.list_datasets()) == 1
    assert sample.sql_count() == 200


@pytest.mark.parametrize(
    "request_",
    [
        {"startRow": -1, "endRow": 10},
        {"startRow": "0", "endRow": 10},
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "nope", "sort": "asc"}]},
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "Age", "sort": "sideways"}]},
    ],
)
def test_bad_grid_requests_are_refused(sample, request_):
    rows, err = grid_response(sample.store, sample.spec(), request_)
    assert isinstance(err, dbc.Alert)
    assert rows == {"rowData": [], "rowCount": 0}


def test_alert_messages_say_what_is_wrong(sample):
    v = summary_view(sample.store, sample.spec(segments=[99]))
    assert "segment" in text_of(v.alert.children)
    v = summary_view(sample.store, sample.spec(ranges={"Nope": [0, 1]}))
    assert "unknown column 'Nope'" in text_of(v.alert.children)
    # no traceback text reaches the page
    assert "Traceback" not in json.dumps(v.alert.to_plotly_json(), default=str)
