"""The transactions mapping step's callback bodies with a real Store and real files: the pending upload
(kept on the server under a token), the form pre-filled by detection, the confirm step, the R/F/M
preview and Load. Expected values come from pandas over the same file."""
from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import pytest
from dash import no_update

from cb_helpers import TESTS_DIR, text_of
from callbacks.data import upload_view
from callbacks.mapping import CONFIRM_MESSAGE, ROLES, form_view, load_view, preview_view
from core.pending import pending_path
from layouts.mapping import HIDDEN, SHOWN

RETAIL = TESTS_DIR / "data" / "online_retail_excerpt.csv"
MB = 10 * 1024 * 1024
# The header-less copy's columns are named by position: InvoiceNo is column_1 ... CustomerID column_7.
MAPPED = {"customer": "column_7", "date": "column_5", "amount": None, "quantity": "column_4",
          "price": "column_6", "invoice": "column_1"}
CLI_WORDS = ("--customer", "--date", "date_order", "--quantity", "--price", "--invoice")


def as_upload(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def expected_rfm() -> pd.DataFrame:
    """R/F/M by pandas: the 180 complete lines (4 lost a field), frequency = invoices with a purchase,
    monetary = sum of quantity x price (the C-invoice return is negative). Every date is 1 Dec 2010."""
    df = pd.read_csv(RETAIL, dtype=str, on_bad_lines="skip")
    df = df[df["Country"].notna()].copy()
    df["value"] = df["Quantity"].astype(float) * df["UnitPrice"].astype(float)
    purchases = df[~df["InvoiceNo"].str.startswith("C") & (df["Quantity"].astype(float) > 0)]
    out = pd.DataFrame({
        "frequency": purchases.groupby("CustomerID")["InvoiceNo"].nunique(),
        "monetary": df.groupby("CustomerID")["value"].sum(),
    })
    return out


def headerless(tmp_path: Path) -> bytes:
    data = RETAIL.read_bytes().split(b"\n", 1)[1]
    (tmp_path / "retail_no_header.csv").write_bytes(data)
    return data


def upload_transactions(store, data: bytes, name: str, previous=None) -> dict:
    view = upload_view(store, as_upload(data), name, True, MB, previous)
    assert view.alert is None, text_of(view.alert)
    assert view.options is no_update and view.value is no_update  # nothing published yet
    return view.pending


def form_values(pending) -> dict:
    form = form_view(pending)
    return {r: getattr(form, r) for r in ROLES}


def test_headerless_file_asks_to_confirm_and_loads_after_mapping(fresh, tmp_path):
    store = fresh.store
    before = len(store.list_datasets())
    pending = upload_transactions(store, headerless(tmp_path), "retail_no_header.csv")
    # The bytes stay on the server; the browser holds a token and the column names only.
    assert pending_path(store, pending["token"]).read_bytes() == headerless(tmp_path)
    assert pending["columns"] == [f"column_{i}" for i in range(1, 9)]
    assert pending["sure"] is False and pending["reasons"]

    form = form_view(pending)
    assert form.panel == SHOWN and "retail_no_header.csv" in form.title
    assert [o["value"] for o in form.options] == pending["columns"]
    assert form.date == "column_5" and form.date_order == "auto"  # pre-filled by detection

    guessed = preview_view(store, pending, form_values(pending), "auto")
    assert guessed.alert is None and guessed.confirm_box == SHOWN
    note = text_of(guessed.note)
    assert "Please confirm" in note and "column_5" in note and "day or the month" in note

    mapped = preview_view(store, pending, MAPPED, "mdy")
    expected = expected_rfm()
    rows = [tr.children for tr in mapped.preview.children[1].children[1].children]
    assert len(rows) == 10 and "183 lines read, 14 customers" in text_of(mapped.preview)
    for cells in rows:
        customer, recency, frequency, monetary = (text_of(c) for c in cells[:4])
        assert recency == "1"
        assert int(frequency) == expected.loc[customer, "frequency"]
        assert float(monetary.replace(",", "")) == pytest.approx(expected.loc[customer, "monetary"], abs=0.005)
    assert mapped.confirm_box == SHOWN  # the columns were still guessed: confirming stays required

    refused = load_view(store, pending, MAPPED, "mdy", False)
    assert CONFIRM_MESSAGE in text_of(refused.alert)
    assert refused.pending is no_update and len(store.list_datasets()) == before  # nothing changed
    assert pending_path(store, pending["token"]).exists()

    done = load_view(store, pending, MAPPED, "mdy", True)
    assert done.alert is None and done.pending is None, text_of(done.alert)
    assert "14 customers" in text_of(done.upload_alert)
    info = store.get_dataset(done.value)
    assert info.kind == "transactions" and info.rows_loaded == 14
    with store.cursor() as cur:
        got = dict(cur.execute(f"SELECT customer_id::VARCHAR, monetary FROM {info.table}").fetchall())
    assert got == pytest.approx(expected["monetary"].to_dict(), abs=1e-6)
    assert store.list_runs(info.dataset_id)  # segmented with the defaults
    with pytest.raises(Exception):
        pending_path(store, pending["token"])  # the pending file was deleted after the load


def test_named_columns_need_confirming_only_the_date_order(fresh):
    store = fresh.store
    pending = upload_transactions(store, RETAIL.read_bytes(), "online_retail_excerpt.csv")
    assert pending["sure"] is True
    assert form_values(pending) == {"customer": "CustomerID", "date": "InvoiceDate", "amount": None,
                                    "quantity": "Quantity", "price": "UnitPrice", "invoice": "InvoiceNo"}
    values = form_values(pending)
    auto = preview_view(store, pending, values, "auto")
    assert auto.confirm_box == SHOWN and "choose the date order" in text_of(auto.note)
    chosen = preview_view(store, pending, values, "mdy")
    assert chosen.confirm_box == HIDDEN and "month/day/year" in text_of(chosen.note)
    done = load_view(store, pending, values, "mdy", False)  # an explicit order needs no tick
    assert done.alert is None and store.get_dataset(done.value).rows_loaded == 14


def test_messages_never_use_command_line_words(fresh, tmp_path):
    store = fresh.store
    pending = upload_transactions(store, headerless(tmp_path), "retail_no_header.csv")
    texts = [
        text_of(preview_view(store, pending, form_values(pending), "auto").note),
        text_of(preview_view(store, pending, {"customer": "column_7"}, "auto").note),
        text_of(preview_view(store, pending, {**MAPPED, "customer": "nope"}, "mdy").alert),
        text_of(preview_view(store, pending, MAPPED, "sideways").alert),
        text_of(load_view(store, pending, {**MAPPED, "price": None, "quantity": "column_4"}, "mdy", True).alert),
    ]
    for text in texts:
        assert text and not any(w in text for w in CLI_WORDS), text
    assert "'nope' is not in the file" in texts[2]
    assert "the date column was detected as 'column_5'" in texts[1]  # said, not silently filled in
    assert "date order" in texts[3]


def test_a_new_upload_replaces_the_pending_file_and_bad_tokens_are_refused(fresh, tmp_path):
    store = fresh.store
    first = upload_transactions(store, headerless(tmp_path), "a.csv")
    second = upload_transactions(store, RETAIL.read_bytes(), "b.csv", previous=first)
    assert not (store.path.parent / "uploads" / first["token"]).exists()
    assert pending_path(store, second["token"]).name == "b.csv"
    for token in ("../../etc", "pending-" + "x" * 22, 42):
        view = load_view(store, {**second, "token": token}, MAPPED, "mdy", True)
        assert "upload" in text_of(view.alert) and view.value is no_update
    unreadable = upload_view(store, as_upload(b"\x00\x01\x02binary"), "junk.csv", True, MB, second)
    assert unreadable.pending is no_update and text_of(unreadable.alert)
    assert [p.name for p in (store.path.parent / "uploads").iterdir()] == []  # nothing kept of either


def test_a_customer_upload_drops_a_waiting_transactions_file(fresh, tmp_path):
    store = fresh.store
    pending = upload_transactions(store, headerless(tmp_path), "a.csv")
    view = upload_view(store, as_upload(b"id,spend,visits\n" + b"".join(
        f"{i},{10 + i % 17},{1 + i % 5}\n".encode() for i in range(40))), "c.csv", False, MB, pending)
    assert view.pending is None and view.value is not no_update
    assert not (store.path.parent / "uploads" / pending["token"]).exists()
