"""The export card's format choice: a form posted to /download/export with the current spec."""
from __future__ import annotations

import csv
import io
import json

import pytest

import app as app_module
from callbacks.export_form import SPEC_TO_FIELD
from core.config import Settings
from core.downloads import FORMATS
from layouts import ids
from layouts.export_form import EXPORT_ROUTE, FORMAT_FIELD, SPEC_FIELD, export_form
from layouts.filters import summary_bar

from cb_helpers import find


@pytest.fixture
def client_app(fresh):
    return app_module.create_app(fresh.store, Settings(data_dir=fresh.store.path.parent, max_upload_mb=5))


def test_the_form_posts_spec_and_format_to_the_export_route():
    form = find(summary_bar(), ids.EXPORT_FORM)
    assert form is not None and form.action == EXPORT_ROUTE and form.method == "POST"
    spec_input = find(form, ids.EXPORT_SPEC)
    assert spec_input.type == "hidden" and spec_input.name == SPEC_FIELD == "spec"
    select = find(form, ids.EXPORT_FORMAT)
    assert select.name == FORMAT_FIELD == "format"
    assert [o.value for o in select.children] == list(FORMATS) == ["xlsx", "csv", "parquet"]
    assert find(export_form(), ids.EXPORT_SUBMIT).type == "submit"
    assert "JSON.stringify(spec)" in SPEC_TO_FIELD


def test_the_fields_as_the_form_sends_them_download_the_filtered_rows(client_app, fresh):
    spec = {"run_id": fresh.run.run_id, "segments": [2], "ranges": {}, "categories": {}, "region": None}
    client = client_app.server.test_client()
    r = client.post(EXPORT_ROUTE, data={SPEC_FIELD: json.dumps(spec), FORMAT_FIELD: "csv"})
    assert r.status_code == 200, r.data[:300]
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    with fresh.store.cursor() as cur:
        expected = cur.execute(f"SELECT count(*) FROM run_{fresh.run.run_id} WHERE __segment = 2").fetchone()[0]
    assert len(rows) == expected > 0
    assert "attachment" in r.headers.get("Content-Disposition", "")
