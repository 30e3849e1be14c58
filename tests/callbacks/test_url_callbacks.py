"""The view in the URL (callbacks/url.py, core/view_link.py) with a real Store: a view's link reopens the
same dataset, run and filter; a deleted run falls back to the latest with a message; forged links are
refused and change nothing; a heatmap click reaches the filter as a transition whose count is plain SQL."""
from __future__ import annotations

import base64
import json

from callbacks.data import linked_page
from callbacks.explore import filter_update
from callbacks.filter_state import Event
from callbacks.url import opened_link, pending_run, restored_filter
from core.segmentation import run_segmentation
from core.view_link import encode_view
from core.views import count, parse_spec, run_context

from cb_helpers import text_of


def view_search(store, spec_data) -> str:
    """The link the page writes for a spec (callbacks/url.py WRITE_URL_JS, in the browser)."""
    spec = parse_spec(store, spec_data)
    return encode_view(run_context(store, spec.run_id).dataset.dataset_id, spec.run_id, spec.to_dict())


def test_a_views_link_reopens_the_same_dataset_run_and_filter(fresh):
    other = run_segmentation(fresh.store, fresh.run.dataset_id, fresh.run.features, k=3)
    # the older run, filtered: not what the dataset would open by default (its latest run)
    spec = parse_spec(fresh.store, fresh.spec(segments=[2], ranges={"Age": [20, 40]})).to_dict()
    search = view_search(fresh.store, spec)
    page = linked_page(fresh.store, None, search, None)
    assert page.value == fresh.run.dataset_id and page.link_alert is None
    assert page.pending == {"dataset": fresh.run.dataset_id, "run": fresh.run.run_id, "spec": spec}
    assert pending_run(page.pending, fresh.run.dataset_id) == fresh.run.run_id != other.run_id
    fresh_spec = {"run_id": fresh.run.run_id, "segments": [], "ranges": {}, "categories": {}, "region": None}
    update = restored_filter(fresh.store, fresh_spec, page.pending, {"Age": (18, 70)}, ["Age"], [], [])
    assert update.spec.to_dict() == spec and update.changed
    assert update.controls.segments == [2] and update.controls.ranges["Age"] == [20, 40]
    expected = fresh.sql_count('__segment = 2 AND "Age" BETWEEN 20 AND 40')
    assert count(fresh.store, update.spec)[0] == expected > 0
    # not yet: another run's spec arrived first
    assert restored_filter(fresh.store, {**fresh_spec, "run_id": other.run_id}, page.pending, {}, [], [], []) is None


def test_without_a_link_the_last_view_is_restored(fresh):
    spec = fresh.spec(segments=[1])
    last = view_search(fresh.store, spec)
    link = opened_link(fresh.store, "", last)
    assert link.dataset_id == fresh.run.dataset_id and link.pending["spec"]["segments"] == [1]
    assert opened_link(fresh.store, "", None).pending is None


def test_a_link_to_a_deleted_run_says_so_and_opens_the_latest_run(fresh):
    gone = run_segmentation(fresh.store, fresh.run.dataset_id, fresh.run.features, k=3)
    search = view_search(fresh.store, {"run_id": gone.run_id, "segments": [1]})
    with fresh.store.transaction() as cur:
        cur.execute(f"DROP TABLE run_{gone.run_id}")
        cur.execute("DELETE FROM runs WHERE run_id = ?", [gone.run_id])
    link = opened_link(fresh.store, search, None)
    assert "no longer exists" in text_of(link.alert) and "latest run" in text_of(link.alert)
    assert link.pending == {"dataset": fresh.run.dataset_id, "run": fresh.run.run_id, "spec": None}


def _forged(body) -> str:
    return "?v=" + base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def test_forged_links_are_refused_and_fall_back_to_the_default_view(fresh):
    before = [d.dataset_id for d in fresh.store.list_datasets()]
    run_id, ds = fresh.run.run_id, fresh.run.dataset_id
    cases = [
        ("?v=not*base64", "damaged"),
        (_forged({"n": 1, "d": "'; DROP TABLE runs; --"}), "dataset"),
        (_forged({"n": 1, "d": "ffffffffffff"}), "no longer exists"),
        (_forged({"n": 1, "d": ds, "r": run_id, "f": {"ranges": {"1=1; --": [0, 1]}}}), "no longer fits"),
        (_forged({"n": 1, "d": ds, "r": run_id, "f": {"segments": list(range(50))}}), "no longer fits"),
        (_forged({"n": 1, "d": ds, "r": run_id, "f": {"segments": list(range(100_000))}}), "too long"),
        (_forged({"n": 1, "d": ds, "r": run_id, "f": {"transition": {"run": run_id, "from": 1, "to": 1}}}),
         "no longer fits"),
    ]
    for search, message in cases:
        page = linked_page(fresh.store, None, search, None)
        assert message in text_of(page.link_alert), search[:80]
        assert page.value == ds  # the only dataset: the default view
        assert page.pending is None or page.pending["spec"] is None
    assert [d.dataset_id for d in fresh.store.list_datasets()] == before


def test_a_heatmap_click_filters_to_the_movers_as_plain_sql_counts(fresh):
    other = run_segmentation(fresh.store, fresh.run.dataset_id, fresh.run.features, k=3)
    click = {"points": [{"x": "2. x", "y": "1. y", "z": 0, "customdata": [other.run_id, 1, 2]}]}
    update, err = filter_update(fresh.store, fresh.spec(), [Event("transition", click)], {}, [], [], [])
    assert err is None and update.changed
    with fresh.store.cursor() as cur:
        expected = cur.execute(f"SELECT count(*) FROM run_{other.run_id} a JOIN run_{fresh.run.run_id} b "
                               "USING (__row) WHERE a.__segment = 1 AND b.__segment = 2").fetchone()[0]
    assert count(fresh.store, update.spec)[0] == expected
    assert update.spec.to_dict()["transition"] == {"run": other.run_id, "from": 1, "to": 2}
    # the link of that view carries the transition
    link = opened_link(fresh.store, view_search(fresh.store, update.spec.to_dict()), None)
    assert link.pending["spec"]["transition"] == {"run": other.run_id, "from": 1, "to": 2}
    # a forged cell is refused and changes nothing
    bad = {"points": [{"customdata": [other.run_id, 99, 2]}]}
    update, err = filter_update(fresh.store, fresh.spec(), [Event("transition", bad)], {}, [], [], [])
    assert update is None and "'from' must be a segment" in text_of(err)


def test_choosing_a_linked_dataset_opens_the_links_run_with_its_controls(fresh):
    from callbacks.data import dataset_view

    newer = run_segmentation(fresh.store, fresh.run.dataset_id, fresh.run.features, k=3)
    assert dataset_view(fresh.store, fresh.run.dataset_id).run_id == newer.run_id  # without a link: the latest
    pending = opened_link(fresh.store, view_search(fresh.store, fresh.spec()), None).pending
    view = dataset_view(fresh.store, fresh.run.dataset_id, pending_run(pending, fresh.run.dataset_id))
    assert (view.run_id, view.k) == (fresh.run.run_id, fresh.run.k)
    assert pending_run(pending, "ffffffffffff") is None  # another dataset chosen: its latest run
