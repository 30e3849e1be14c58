"""Callback bodies of the why view, the explained profile table, the segmentation controls' new outputs
(auto scale, k slider, k reason, stability curve), the roles table and RFM runs; expected values come
from plain SQL over the run table, from core (roles, RFM names) or are counted by hand."""
from __future__ import annotations

from pathlib import Path

import pytest
from dash import no_update

from callbacks.data import dataset_view
from callbacks.explore import events_from_inputs, summary_view
from callbacks.filter_state import Event, next_filter
from callbacks.segment import run_view, segments_mode, start_run
from callbacks.why import clicked_segment, group_mix, roles_view, why_choice, why_view
from cb_helpers import text_of
from core import pipeline
from core.models import Run
from core.rfm import GROUP_NAMES
from core.roles import column_roles
from core.segmentation import SCALES
from core.store import run_table
from core.views import count, parse_spec
from layouts import ids
from layouts.controls import SCALE_OPTIONS, scale_help
from layouts.figures import elbow_figure
from layouts.tables import GOOD
from layouts.tables import profile_columns
from layouts.why import driver_labels

DATA = Path(__file__).resolve().parent.parent / "data"


def sql(store, query: str, params: list | None = None):
    with store.cursor() as cur:
        return cur.execute(query, params or []).fetchall()


def transactions(store) -> str:
    """The public Online Retail excerpt (README's RFM section) as a transactions dataset."""
    return pipeline.load_path(store, DATA / "online_retail_excerpt.csv", transactions=True,
                              date_order="mdy").dataset_id


# -- controls -------------------------------------------------------------------------------------
def test_auto_is_a_scale_choice_and_the_default_for_customer_tables(fresh):
    assert [o["value"] for o in SCALE_OPTIONS] == [s for s in SCALES if s != "log"]
    assert "auto" in [o["value"] for o in SCALE_OPTIONS]
    assert all(scale_help(s) for s in SCALES) and scale_help("nonsense") == ""
    info = fresh.store.get_dataset(fresh.run.dataset_id)
    assert pipeline.initial_scale(info, presets=False) == "auto"
    view = dataset_view(fresh.store, fresh.run.dataset_id)
    # the offered options are exactly the core's scales (no stray raw value appended)
    assert {o["value"] for o in view.scale_options} == {s for s in SCALES if s != "log"}


def test_after_a_run_the_slider_shows_its_k_and_the_note_its_reason(fresh):
    run_id, _ = start_run(fresh.store, fresh.run.dataset_id, ["Annual Income (k$)", "Spending Score (1-100)"],
                          "auto", "median", 3, False)
    view = run_view(fresh.store, run_id)
    run = fresh.store.get_run(run_id)
    assert run.k == 3 and view.k == 3
    note = text_of(view.k_note)
    assert "this run uses k = 3" in note and run.k_reason and run.k_reason in note


def test_the_elbow_chart_draws_the_stability_curve(sample):
    fig = elbow_figure(sample.run)
    stab = next(t for t in fig["data"] if t["name"] == "stability")
    expected = sorted((int(k), v) for k, v in sample.run.stability_by_k.items())
    assert list(zip(stab["x"], stab["y"])) == expected and len(expected) == 9  # k = 2..10
    assert stab["yaxis"] == "y2"


# -- profile table ---------------------------------------------------------------------------------
def _precision_recall(store, run: Run, seg_id: int, rule: str) -> tuple[float, float]:
    """Precision and recall of a rule recomputed with plain SQL over the run table."""
    table = run_table(run.run_id)
    (matched, hits), = sql(store, f"SELECT count(*), count(*) FILTER (__segment = ?) FROM {table} WHERE {rule}",
                          [seg_id])
    (size,), = sql(store, f"SELECT count(*) FROM {table} WHERE __segment = ?", [seg_id])
    return hits / matched, hits / size


def test_profile_rows_explain_every_segment(sample):
    rows = summary_view(sample.store, sample.spec()).profile_rows
    assert [r["size"] for r in rows] == [81, 39, 35, 23, 22]
    for row in rows:
        seg = next(s for s in sample.run.segments if s.id == row["segment"])
        precision, recall = _precision_recall(sample.store, sample.run, seg.id, row["rule"])
        assert row["precision_recall"] == f"precision {precision:.0%} · recall {recall:.0%}"
        badge = "stable" if seg.stability >= 0.85 else "fair" if seg.stability >= 0.6 else "unstable"
        assert row["stability_text"] == f"{badge} {seg.stability:.2f}" and row["stability_badge"] == badge
        assert row["outlier"] is False
    top = rows[1]  # "High income, high spending": higher score and income than everyone else
    assert top["drivers"][0].startswith("Spending Score (1-100) ↑") and top["drivers"][0].endswith(" sd")
    assert "Annual Income (k$) ↑" in top["drivers"][1]


def test_profile_columns_pin_the_segment_and_format_compactly(sample):
    cols = profile_columns(sample.run, ["Annual Income (k$)", "Spending Score (1-100)"])
    assert cols[0]["field"] == "name" and cols[0]["pinned"] == "left"
    fields = [c.get("field") for c in cols]
    for f in ("drivers", "rule", "precision_recall", "stability_text", "action"):
        assert f in fields
    mean = cols[3]["children"][0]
    assert mean["valueFormatter"]["function"].startswith("compactNumber(")
    action = next(c for c in cols if c.get("field") == "action")
    assert action["wrapText"] and action["autoHeight"]
    assert "rfm_groups" not in fields  # customer tables have no RFM groups


def test_outlier_group_rows_are_marked(fresh):
    """A wholesale run (standardised, k = 4) flags an outlier group (id k + 1): its row carries the mark."""
    info = pipeline.load_path(fresh.store, DATA / "wholesale_customers.csv")
    run_id, _ = start_run(fresh.store, info.dataset_id, pipeline.initial_features(info), "standard", "median",
                          4, False)
    run = fresh.store.get_run(run_id)
    rows = summary_view(fresh.store, {"run_id": run_id}).profile_rows
    flagged = [r["segment"] for r in rows if r["outlier"]]
    assert flagged == [s.id for s in run.segments if s.outlier_group] == [run.k + 1]
    assert sum(r["outlier"] for r in rows) == 1


# -- the why view ----------------------------------------------------------------------------------
def test_why_view_shows_the_segment_drivers_rule_and_button(sample):
    seg = next(s for s in sample.run.segments if s.id == 3)
    body = why_view(sample.store, sample.run.run_id, 3)
    graph = body[0].children[0].children
    assert graph.id == ids.WHY_DRIVERS
    bars = graph.figure["data"][0]
    assert list(reversed(bars["y"])) == driver_labels(sample.run, seg)
    colours = list(reversed(bars["marker"]["color"]))
    assert colours == ["#128f76" if d["direction"] == "higher" else "#c0392b" for d in seg.drivers]
    text = text_of(body)
    assert seg.rule in text and seg.action in text and f"{seg.stability:.2f}" in text
    assert "Show customers matching this rule" in text


def test_why_view_refuses_a_segment_the_run_does_not_have(sample):
    out = why_view(sample.store, sample.run.run_id, 99)
    assert "this run has no segment 99" in text_of(out)


def test_why_choice_follows_a_new_run_and_a_clicked_row(sample):
    first = why_choice(sample.store, sample.run.run_id, None, None, ids.RUN_STORE)
    assert [o["value"] for o in first.options] == [1, 2, 3, 4, 5] and first.value == 1
    clicked = why_choice(sample.store, sample.run.run_id, {"rowId": "4", "colId": "name"}, 1, ids.PROFILE_GRID)
    assert clicked.value == 4 and clicked.options is no_update
    assert why_choice(sample.store, sample.run.run_id, {"rowId": "77"}, 1, ids.PROFILE_GRID).value is no_update
    assert clicked_segment({"rowId": "x"}) is None


def test_the_rule_button_filters_to_exactly_the_rule_customers(sample):
    seg = next(s for s in sample.run.segments if s.id == 2)
    group = [{"id": ids.why_rule_button(2), "property": "n_clicks", "value": 1, "triggered": True}]
    events = events_from_inputs({"why_rule": group})
    assert events == [Event("rule", 2)]
    drawn = [{"id": ids.why_rule_button(2), "property": "n_clicks", "value": 0, "triggered": True}]
    assert events_from_inputs({"why_rule": drawn}) == []  # a button just drawn is not a click
    update = next_filter(sample.store, sample.spec(), events, {}, [], [], ["rule"])
    selected, _ = count(sample.store, parse_spec(sample.store, update.spec.to_dict()))
    assert selected == sample.sql_count(seg.rule) and 0 < selected < 200
    assert update.controls.kinds["rule"] == 2  # the rule dropdown shows it too


# -- roles table -----------------------------------------------------------------------------------
def test_roles_table_lists_every_column_with_role_and_reason(sample):
    info = sample.store.get_dataset(sample.run.dataset_id)
    report = roles_view(sample.store, sample.run.dataset_id)
    table = report.children.children[1].children
    body_rows = table.children[1].children
    shown = [[text_of(td) for td in tr.children] for tr in body_rows]
    expected = column_roles(info)
    assert [r[0] for r in shown] == list(expected)
    assert {r[0]: r[1] for r in shown} == {c: v["role"] for c, v in expected.items()}
    assert dict((r[0], r[1]) for r in shown)["CustomerID"] == "identifier"
    assert "csi-roles-table" in table.className
    assert "1 identifier" in report.children.title and "3 numeric" in report.children.title


# -- RFM -------------------------------------------------------------------------------------------
def test_rfm_runs_are_named_in_rfm_words_and_show_their_group_mix(fresh):
    ds = transactions(fresh.store)
    assert segments_mode(fresh.store, ds)[0]["display"] == "flex"
    assert segments_mode(fresh.store, fresh.run.dataset_id) == ({"display": "none"}, "kmeans")
    run_id, _ = start_run(fresh.store, ds, ["recency_days", "frequency", "monetary"], "log", "median", None, True)
    run = fresh.store.get_run(run_id)
    names = {s.name for s in run.segments}
    assert not any(n.startswith(("High recency", "Low recency", "Average recency")) for n in names), names
    # the group mix per segment, against plain SQL over the run table
    mix = group_mix(fresh.store, run)
    for sid, shares in mix.items():
        got = sql(fresh.store, f"SELECT rfm_group, count(*) FROM {run_table(run_id)} WHERE __segment = ? "
                                "GROUP BY rfm_group", [sid])
        total = sum(n for _, n in got)
        assert shares == pytest.approx({g: n / total for g, n in got})
    view = run_view(fresh.store, run_id)
    fields = [c.get("field") for c in view.profile_columns]
    assert "rfm_groups" in fields
    recency = next(c for c in view.profile_columns if c.get("headerName") == "recency_days")["children"][1]
    monetary = next(c for c in view.profile_columns if c.get("headerName") == "monetary")["children"][1]
    green = lambda col: next(c["condition"] for c in col["cellStyle"]["styleConditions"]  # noqa: E731
                             if c["style"]["color"] == GOOD)
    assert green(recency) == "params.value < 0" and green(monetary) == "params.value > 0"
    rows = summary_view(fresh.store, {"run_id": run_id}).profile_rows
    assert all(r["rfm_groups"] for r in rows)


def test_named_rfm_groups_can_be_the_segments(fresh):
    ds = transactions(fresh.store)
    run_id, message = start_run(fresh.store, ds, ["recency_days"], "log", "median", None, True, "rfm-groups")
    assert run_id, text_of(message)
    run = fresh.store.get_run(run_id)
    table = fresh.store.get_dataset(ds).table
    expected = dict(sql(fresh.store, f"SELECT rfm_group, count(*) FROM {table} GROUP BY rfm_group"))
    assert {s.name: s.size for s in run.segments} == expected
    assert all(s.name in GROUP_NAMES for s in run.segments)
    assert segments_mode(fresh.store, ds) == ({"display": "flex", "alignItems": "center"}, "rfm-groups")
    assert "named RFM groups" in text_of(run_view(fresh.store, run_id).k_note)
    bad_id, err = start_run(fresh.store, ds, [], "log", "median", None, True, "spectral")
    assert bad_id is None and "K-Means or the named RFM groups" in text_of(err)
