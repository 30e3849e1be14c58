"""Issue 10 item 4 / issue 15 item 5 in a real browser: the view lives in the URL; a copied link opens
the same filter and count in a fresh session; reopening without a link restores the last view."""
from __future__ import annotations

import json

import pytest

from core.store import run_table
from core.view_link import decode_view
from core.views import parse_spec

pytestmark = pytest.mark.browser


def sql_count(store, run_id: str, where: str, params: list) -> int:
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {run_table(run_id)} WHERE {where}", params).fetchone()[0]


def test_a_copied_link_opens_the_same_filter_and_count_in_a_fresh_session(dashboard):
    run_id = dashboard.store.list_runs()[0].run_id
    name = dashboard.click_profile_row(1)
    expected = sql_count(dashboard.store, run_id, "__segment = 2", [])
    dashboard.until(lambda: dashboard.summary_count() == expected, "the filtered count")
    dashboard.until(lambda: dashboard.search_of_url().startswith("?v="), "the view in the URL")
    link = dashboard.until(dashboard.steady(dashboard.current_url), "the URL to settle")[0]
    # written in the browser (callbacks/url.py WRITE_URL_JS): decode_view reads the dataset, the run
    # and the filter that is on screen, and the last view holds the same link
    view = decode_view("?" + link.split("?", 1)[1])
    assert (view.dataset_id, view.run_id) == (dashboard.store.get_run(run_id).dataset_id, run_id)
    assert view.spec["segments"] == [2] and parse_spec(dashboard.store, view.spec).run_id == run_id
    assert dashboard.js("return window.localStorage.getItem('last-view');") == json.dumps("?" + link.split("?", 1)[1])
    words = dashboard.customer_title()
    assert name in words

    dashboard.open_in_fresh_session(link)
    dashboard.until(lambda: dashboard.summary_count() == expected, "the linked filter's count")
    assert dashboard.customer_title() == words
    dashboard.until(lambda: dashboard.customer_count() == expected, "the grid's rows")
    assert dashboard.severe_logs() == []


def test_reopening_without_a_link_restores_the_last_view(dashboard):
    run_id = dashboard.store.list_runs()[0].run_id
    dashboard.click_profile_row(0)
    expected = sql_count(dashboard.store, run_id, "__segment = 1", [])
    dashboard.until(lambda: dashboard.summary_count() == expected, "the filtered count")
    dashboard.until(lambda: dashboard.search_of_url().startswith("?v="), "the view in the URL")
    base = dashboard.current_url().split("?", 1)[0]
    dashboard.driver.get(base)  # the same browser, no link: the local store has the last view
    dashboard.wait_loaded()
    dashboard.until(lambda: dashboard.summary_count() == expected, "the restored count")


def test_a_link_to_a_deleted_run_says_so_and_opens_the_latest_run(dashboard):
    store = dashboard.store
    sample = store.list_runs()[0]
    from core.segmentation import run_segmentation
    from core.view_link import encode_view

    gone = run_segmentation(store, sample.dataset_id, sample.features, k=3)
    link = encode_view(sample.dataset_id, gone.run_id, {"run_id": gone.run_id, "segments": [1]})
    with store.transaction() as cur:
        cur.execute(f"DROP TABLE {run_table(gone.run_id)}")
        cur.execute("DELETE FROM runs WHERE run_id = ?", [gone.run_id])
    dashboard.open_in_fresh_session(dashboard.current_url().split("?", 1)[0] + link)
    from layouts import ids
    dashboard.until(lambda: "no longer exists" in dashboard.alert_text(ids.URL_ALERT), "the message")
    assert dashboard.summary_count() == 200  # the latest run, unfiltered
