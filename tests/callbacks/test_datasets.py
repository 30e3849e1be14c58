"""Datasets kept: rename, delete, runs list, a file uploaded twice (callbacks/datasets.py, callbacks/data.py)."""
from __future__ import annotations

import base64
import hashlib

from dash import no_update

from callbacks.data import dataset_options, handle_upload, upload_view
from callbacks.datasets import dataset_name, delete, delete_dialog, open_run, rename, runs_view
from callbacks.segment import start_run
from core.store import dataset_table, run_table

from cb_helpers import text_of

MB = 1024 * 1024


def as_upload(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def shop_csv(rows: int = 60, shift: int = 0) -> bytes:
    lines = ["id,spend,visits"]
    for i in range(rows):
        lines.append(f"{i + 1},{(i * 37 + shift) % 100 + 0.5},{(i * 11) % 17}")
    return ("\n".join(lines) + "\n").encode()


def tables(store) -> set[str]:
    with store.cursor() as cur:
        return {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_rename_changes_the_listed_name_only(fresh):
    ds = fresh.run.dataset_id
    view = rename(fresh.store, ds, "  Mall   customers 2026 ")
    assert view.alert.color == "success"
    assert [o["value"] for o in view.options] == [ds]
    assert view.options[0]["label"].startswith("Mall customers 2026 — 200 customers")
    assert dataset_name(fresh.store, ds) == "Mall customers 2026"
    assert fresh.store.get_run(fresh.run.run_id).dataset_id == ds


def test_rename_to_blank_is_an_alert_and_changes_nothing(fresh):
    ds = fresh.run.dataset_id
    before = fresh.store.get_dataset(ds).name
    view = rename(fresh.store, ds, "   ")
    assert view.options is no_update and view.alert.color == "danger"
    assert "needs a name" in text_of(view.alert)
    assert fresh.store.get_dataset(ds).name == before


def test_delete_removes_tables_and_keeps_earlier_datasets(fresh):
    sample_ds, sample_run = fresh.run.dataset_id, fresh.run.run_id
    up = handle_upload(fresh.store, as_upload(shop_csv()), "shop.csv", max_bytes=MB)
    second, _ = start_run(fresh.store, up.dataset_id, ["spend", "visits"], "standard", "median", 3, False)
    assert up.dataset_id and second
    doomed = {dataset_table(up.dataset_id), run_table(up.run_id)}
    assert doomed <= tables(fresh.store)

    dialog = delete_dialog(fresh.store, up.dataset_id)
    assert dialog.is_open and "'shop' and its 2 runs" in dialog.text

    view = delete(fresh.store, up.dataset_id)
    assert view.alert.color == "success" and "Deleted 'shop' and 2 runs" in text_of(view.alert)
    assert view.value == sample_ds and [o["value"] for o in view.options] == [sample_ds]
    assert not (doomed & tables(fresh.store))
    with fresh.store.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM runs WHERE dataset_id = ?", [up.dataset_id]).fetchone()[0] == 0
    # the earlier dataset is intact: its table, its run and its rows
    assert {dataset_table(sample_ds), run_table(sample_run)} <= tables(fresh.store)
    with fresh.store.cursor() as cur:
        assert cur.execute(f"SELECT count(*) FROM {run_table(sample_run)}").fetchone()[0] == 200


def test_delete_of_an_unknown_dataset_is_an_alert(fresh):
    view = delete(fresh.store, "0123456789ab")
    assert view.options is no_update and view.value is no_update and view.alert.color == "danger"
    assert len(fresh.store.list_datasets()) == 1


def test_runs_list_shows_each_run_and_reopens_it(fresh):
    ds = fresh.run.dataset_id
    newer, _ = start_run(fresh.store, ds, ["Age", "Annual Income (k$)"], "standard", "median", 3, False)
    runs = fresh.store.list_runs(ds)
    assert len(runs) == 2
    listed = runs_view(fresh.store, ds, newer)
    items = listed.children
    assert len(items) == 2
    assert text_of(items[0]).startswith("k = 3 · ") and "Age, Annual Income (k$)" in text_of(items[0])
    assert text_of(items[0]).endswith("(shown)") and items[0].active
    assert text_of(items[1]).startswith("k = 5 · ") and not items[1].active
    assert items[1].id == {"type": "run-open", "run": fresh.run.run_id}
    assert open_run(fresh.store, fresh.run.run_id, ds) == fresh.run.run_id


def test_a_file_uploaded_twice_is_offered_instead_of_loaded(fresh):
    data = shop_csv()
    first = upload_view(fresh.store, as_upload(data), "shop.csv", False, MB)
    ds = first.value
    assert ds and fresh.store.find_by_hash(hashlib.sha256(data).hexdigest()).dataset_id == ds
    n = len(fresh.store.list_datasets())

    again = upload_view(fresh.store, as_upload(data), "renamed copy.csv", False, MB)
    assert again.offer_open and again.duplicate == ds
    assert again.offer_text == "This file is already loaded as 'shop'. "
    assert again.value is no_update and again.contents is no_update
    assert len(fresh.store.list_datasets()) == n

    forced = upload_view(fresh.store, as_upload(data), "shop.csv", False, MB, force=True)
    assert forced.value and forced.value != ds and not forced.offer_open
    assert len(fresh.store.list_datasets()) == n + 1

    other = upload_view(fresh.store, as_upload(shop_csv(shift=5)), "shop.csv", False, MB)
    assert not other.offer_open and other.value not in {ds, forced.value}
    assert len(dataset_options(fresh.store)) == n + 2
