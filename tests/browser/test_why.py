"""The why view in a real browser: it explains the selected segment, and its rule filters every view."""
from __future__ import annotations

import pytest

from core.store import run_table
from layouts import ids
from layouts.why import driver_labels

pytestmark = pytest.mark.browser


def _run(store):
    return store.list_runs()[0]


def _sql_count(store, run_id: str, where: str) -> int:
    """Plain SQL over the run table: the independent count of the customers matching `where`."""
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {run_table(run_id)} WHERE {where}").fetchone()[0]


def test_clicking_a_profile_row_explains_that_segment(dashboard):
    run = _run(dashboard.store)
    name = dashboard.click_profile_row(2)
    segment = next(s for s in run.segments if s.name == name)
    expected = driver_labels(run, segment)
    assert expected, "the sample's segments all have drivers"
    dashboard.until(lambda: dashboard.why_driver_labels() == expected, f"the drivers of {name!r}")
    assert segment.rule in dashboard.why_text()
    assert dashboard.severe_logs() == []


def test_the_rule_button_filters_the_grid_to_the_rule_customers(dashboard):
    run = _run(dashboard.store)
    first = min(run.segments, key=lambda s: s.id)  # the why view opens on segment 1
    dashboard.until(lambda: dashboard.why_driver_labels() == driver_labels(run, first), "the why view")
    expected = _sql_count(dashboard.store, run.run_id, first.rule)
    assert 0 < expected < 200
    dashboard.click_why_rule(first.id)
    dashboard.until(lambda: dashboard.summary_count() == expected, f"the summary to say {expected}")
    dashboard.until(lambda: dashboard.customer_count() == expected, f"{expected} rows in the grid")
    assert dashboard.severe_logs() == []


def test_the_k_slider_shows_the_k_of_the_run_on_screen(dashboard):
    """Issue 15 item 8: after an automatic run the slider moves to the run's k, as the note says."""
    dashboard.choose_k(8)
    dashboard.run()
    dashboard.until(lambda: "this run uses k = 8" in dashboard.duo.find_element("#" + ids.K_NOTE).text, "k = 8")
    dashboard.set_k_auto(True)
    dashboard.run()
    dashboard.until(lambda: "this run uses k = 5" in dashboard.duo.find_element("#" + ids.K_NOTE).text, "k = 5")
    dashboard.until(lambda: dashboard.k_slider_value() == 5, "the slider at 5")
    assert dashboard.store.list_runs()[0].k_reason in dashboard.duo.find_element("#" + ids.K_NOTE).text
