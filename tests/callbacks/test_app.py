"""The app factory: one store, the sample at start-up, the upload limit, refusals of malformed requests."""
from __future__ import annotations

import json

import pytest

import app as app_module
from core.config import Settings
from layouts import ids


@pytest.fixture
def client_app(fresh):
    return app_module.create_app(fresh.store, Settings(data_dir=fresh.store.path.parent, max_upload_mb=5))


def test_factory_serves_the_page_with_the_upload_limit(client_app):
    server = client_app.server
    # base64 inside JSON: the request limit leaves room for a file just under the upload limit
    assert server.config["MAX_CONTENT_LENGTH"] >= 5 * 1024 * 1024 * 4 // 3
    client = server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    assert str(5 * 1024 * 1024) in json.dumps(layout)  # the browser-side check knows the limit
    assert server.config["CSI_UPLOAD_LIMIT_BYTES"] == 5 * 1024 * 1024


def test_a_request_over_the_limit_is_refused_with_413(client_app):
    client = client_app.server.test_client()
    big = b"x" * (client_app.server.config["MAX_CONTENT_LENGTH"] + 10)
    r = client.post("/_dash-update-component", data=big, content_type="application/json")
    assert r.status_code == 413


@pytest.mark.parametrize("body", ["[]", "{}", '{"output": "nope.children", "inputs": []}', "not json"])
def test_malformed_callback_envelopes_get_a_400(client_app, body):
    r = client_app.server.test_client().post("/_dash-update-component", data=body,
                                             content_type="application/json")
    assert 400 <= r.status_code < 500


def _profile_request(client_app, fresh) -> dict:
    """The body the browser posts when the filter spec changes and the profile table redraws."""
    key = next(k for k in client_app.callback_map if f"{ids.PROFILE_GRID}.rowData" in k)
    return {
        "output": key,
        "outputs": [{"id": i, "property": p} for i, p in [(ids.SUMMARY, "children"), (ids.PROFILE_GRID, "rowData"),
                                                          (ids.CUSTOMER_TITLE, "children"),
                                                          (ids.VIEWS_ALERT, "children"),
                                                          (ids.FILTER_CHIPS, "children")]],
        "inputs": [{"id": ids.FILTER_STORE, "property": "data", "value": fresh.spec()}],
        "changedPropIds": [f"{ids.FILTER_STORE}.data"],
        "state": [],
    }


def test_a_real_callback_request_answers(client_app, fresh):
    payload = _profile_request(client_app, fresh)
    r = client_app.server.test_client().post("/_dash-update-component", json=payload)
    assert r.status_code == 200, r.text[:300]
    rows = r.get_json()["response"][ids.PROFILE_GRID]["rowData"]
    assert [row["size"] for row in rows] == [81, 39, 35, 23, 22]


@pytest.mark.parametrize("accept, encoding", [("gzip, deflate, br, zstd", "zstd"), ("gzip, deflate, br", "br"),
                                              ("gzip, deflate", "gzip"), ("identity", None)])
def test_callback_responses_are_compressed_as_the_browser_accepts(client_app, fresh, accept, encoding):
    import gzip

    import brotli
    from backports import zstd

    payload = _profile_request(client_app, fresh)
    r = client_app.server.test_client().post("/_dash-update-component", json=payload,
                                              headers={"Accept-Encoding": accept})
    assert r.status_code == 200 and r.headers.get("Content-Encoding") == encoding
    decode = {"zstd": zstd.decompress, "br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding]
    rows = json.loads(decode(r.data))["response"][ids.PROFILE_GRID]["rowData"]
    assert [row["size"] for row in rows] == [81, 39, 35, 23, 22]


def test_importing_the_module_opens_no_database():
    assert "server" not in vars(app_module) and "app" not in vars(app_module)  # built on first access
