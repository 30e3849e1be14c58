"""Forged callback requests against the running app (issue 5 item 4).

The server is the real one (gunicorn, as the README documents) on a private data folder holding the
bundled sample and its run. Every request below is built from `/_dash-dependencies` like the browser's,
with hostile values: unknown columns, SQL in column names and filter values, wrong types, k of 0, -1,
1000 and "abc", lists of 100,000 items, unknown or malformed ids, broken request envelopes.

Each must be refused (an error status below 500, or the callback's alert and no data), the server must
keep serving (a normal request works right after every forged one), the database must be unchanged
(compared file-level at the end), and no forged input may reach an unexpected code path (no traceback
in the server log: every refusal is a clear message).
"""
from __future__ import annotations

import json

import pytest
import requests

import dbcheck
from core.config import SAMPLE_FILE, Settings
from core.store import Store
from live_server import DashClient, LiveServer, data_url, is_alert, response_props, text_of

pytestmark = pytest.mark.slow

SQL_NAME = 'x"; DROP TABLE datasets; --'
SQL_VALUE = "x'); DROP TABLE datasets; --"
UNKNOWN_ID = "0123456789ab"
BIG = 100_000
INCOME, SCORE, AGE, GENDER = "Annual Income (k$)", "Spending Score (1-100)", "Age", "Gender"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The sample loaded and segmented by the core, a snapshot of the file, then the server on it."""
    from core.pipeline import ensure_sample

    data_dir = tmp_path_factory.mktemp("forged")
    store = Store(data_dir / "segmentation.duckdb", Settings(data_dir=data_dir),
                  allowed_dirs=[data_dir, SAMPLE_FILE.parent])
    run = ensure_sample(store)
    store.close()
    before = dbcheck.snapshot(data_dir / "segmentation.duckdb")
    server = LiveServer(data_dir).start()
    client = DashClient(server.url)
    yield {"server": server, "client": client, "run_id": run.run_id, "dataset_id": run.dataset_id,
           "before": before, "db": data_dir / "segmentation.duckdb", "data_dir": data_dir}
    server.stop()


def spec(env, **extra) -> dict:
    return {"run_id": env["run_id"], "segments": [], "ranges": {}, "categories": {}, "region": None} | extra


def grid(client: DashClient, spec_data, request) -> requests.Response:
    return client.call("customer-grid.getRowsResponse",
                       {"customer-grid.getRowsRequest": request, "filter-store.data": spec_data})


def summary(client: DashClient, spec_data) -> requests.Response:
    return client.call("summary.children", {"filter-store.data": spec_data})


def run(client: DashClient, dataset_id, features, scale="standard", fill="median", k=5, auto=False):
    return client.call("run-alert.children", {
        "run-button.n_clicks": 1, "dataset-picker.value": dataset_id, "features.value": features,
        "scale.value": scale, "fill.value": fill, "k-slider.value": k, "k-auto.value": auto,
    }, input="run-button.n_clicks")


def export(client: DashClient, spec_data):
    return client.call("export-download.data", {"export-button.n_clicks": 1, "filter-store.data": spec_data})


def upload(client: DashClient, contents, filename, rfm=False):
    return client.call("upload-alert.children", {
        "upload-gate.data": {"ok": True, "t": 1}, "upload.contents": contents, "upload.filename": filename,
        "rfm-switch.value": rfm,
    }, input="upload-gate.data")


def load_mapped(client: DashClient, pending, customer=None, date=None, amount=None, date_order="auto"):
    """The mapping step's Load button (after a transactions upload), with the form's values."""
    return client.call("mapping-alert.children", {
        "mapping-load.n_clicks": 1, "pending-upload.data": pending, "map-customer.value": customer,
        "map-date.value": date, "map-amount.value": amount, "map-date-order.value": date_order,
        "mapping-confirm.value": True,
    }, input="mapping-load.n_clicks")


def choose(client: DashClient, dataset_id):
    return client.call("quality-report.children", {"dataset-picker.value": dataset_id})


def show_run(client: DashClient, run_id):
    return client.call("elbow-graph.figure", {"run-store.data": run_id})


def assert_still_serving(env) -> None:
    """A normal request right after a forged one: the first page of the sample's customers."""
    assert env["server"].running(), "the server process died:\n" + env["server"].log_tail()
    r = grid(env["client"], spec(env), {"startRow": 0, "endRow": 50, "sortModel": []})
    assert r.status_code == 200, r.text[:500]
    page = response_props(r)["customer-grid"]["getRowsResponse"]
    assert page["rowCount"] == 200 and len(page["rowData"]) == 50


def assert_refused(r: requests.Response, alert_id: str, data: dict[str, str] | None = None) -> str:
    """Refused: a 4xx status, or a 200/204 whose alert output says what is wrong and whose data outputs
    carry nothing. Returns the alert's text."""
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400 or r.status_code == 204:
        return ""
    props = response_props(r)
    alert = props.get(alert_id, {}).get("children")
    assert is_alert(alert) and alert["props"].get("color") in ("danger", "warning"), (
        f"expected an alert in {alert_id}, got {json.dumps(props)[:400]}")
    message = text_of(alert)
    assert "Something went wrong" not in message, f"not a clear refusal (unexpected error path): {message}"
    for cid, prop in (data or {}).items():
        value = props.get(cid, {}).get(prop)
        assert value in (None, [], {}) or value == {"rowData": [], "rowCount": 0}, (
            f"{cid}.{prop} carried data: {json.dumps(value)[:300]}")
    return message


def test_baseline_requests_work(env):
    r = summary(env["client"], spec(env))
    assert r.status_code == 200
    assert "200" in text_of(response_props(r)["summary"]["children"])
    assert_still_serving(env)


# -- the filter spec, through the customer grid and the summary ------------------------------------
BAD_SPECS = {
    "unknown column": {"ranges": {"Nope": [0, 1]}},
    "sql column name in ranges": {"ranges": {SQL_NAME: [0, 1]}},
    "sql column name in categories": {"categories": {SQL_NAME: ["Male"]}},
    "identifier column as filter": {"ranges": {"CustomerID": [0, 10]}},
    "reserved column as filter": {"ranges": {"__segment": [0, 10]}},
    "range of text": {"ranges": {AGE: ["a", "b"]}},
    "range of one value": {"ranges": {AGE: [1]}},
    "range not a list": {"ranges": {AGE: "1-100"}},
    "range infinite": {"ranges": {AGE: [0, float("inf")]}},
    "range NaN": {"ranges": {AGE: [float("nan"), 1]}},
    "ranges not an object": {"ranges": [[AGE, 0, 1]]},
    "segment 0": {"segments": [0]},
    "segment -1": {"segments": [-1]},
    "segment 1000": {"segments": [1000]},
    "segment text": {"segments": ["abc"]},
    "segment true": {"segments": [True]},
    "segments not a list": {"segments": "1,2"},
    f"{BIG:,} segments": {"segments": list(range(1, BIG + 1))},
    f"{BIG:,} category values": {"categories": {GENDER: [f"v{i}" for i in range(BIG)]}},
    f"{BIG:,} range columns": {"ranges": {f"c{i}": [0, 1] for i in range(BIG)}},
    "category value not text": {"categories": {GENDER: [{"$ne": 1}]}},
    f"lasso of {BIG:,} points": {"region": {"kind": "lasso", "points": [[i, i % 7] for i in range(BIG)]}},
    "region of unknown kind": {"region": {"kind": "sql", "x": "1; DROP TABLE runs"}},
    "box of text": {"region": {"kind": "box", "x": ["0", "1"], "y": [0, 1]}},
    "sql column name in dates": {"dates": {SQL_NAME: ["2020-01-01", None]}},
    "numeric column as dates": {"dates": {AGE: ["2020-01-01", "2020-02-01"]}},
    "sql text as a date": {"dates": {AGE: ["2020-01-01' OR 1=1 --", None]}},
    f"{BIG:,} date columns": {"dates": {f"d{i}": [None, None] for i in range(BIG)}},
    "unknown run id": {"run_id": UNKNOWN_ID},
    "run id with sql": {"run_id": "x' OR 1=1 --"},
    "run id path": {"run_id": "../../etc/passwd"},
    "run id number": {"run_id": 123456789012},
    "run id list": {"run_id": [UNKNOWN_ID] * 10},
    "no run id": {"run_id": None},
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_forged_filter_spec_is_refused(env, case):
    bad = spec(env, **BAD_SPECS[case])
    r = grid(env["client"], bad, {"startRow": 0, "endRow": 100, "sortModel": []})
    assert_refused(r, "views-alert", {"customer-grid": "getRowsResponse"})
    r = summary(env["client"], bad)
    assert_refused(r, "views-alert", {"profile-grid": "rowData"})
    assert_still_serving(env)


def test_filter_spec_that_is_not_an_object_is_refused(env):
    for bad in ("run_id=1", [env["run_id"]] * BIG, 42):
        assert_refused(grid(env["client"], bad, {"startRow": 0, "endRow": 10}), "views-alert",
                       {"customer-grid": "getRowsResponse"})
        assert_refused(summary(env["client"], bad), "views-alert", {"profile-grid": "rowData"})
    assert_still_serving(env)


def test_sql_in_filter_values_is_only_a_value(env):
    """A category value holding SQL is bound as a parameter: it matches no customer, nothing runs."""
    for value in (SQL_VALUE, "' OR '1'='1", "Male' --", '"; DROP TABLE runs; --'):
        r = grid(env["client"], spec(env, categories={GENDER: [value]}), {"startRow": 0, "endRow": 100})
        assert r.status_code == 200
        page = response_props(r)["customer-grid"]["getRowsResponse"]
        assert page == {"rowData": [], "rowCount": 0}
    # the same filter with a real value still selects customers
    r = grid(env["client"], spec(env, categories={GENDER: ["Female", SQL_VALUE]}), {"startRow": 0, "endRow": 500})
    page = response_props(r)["customer-grid"]["getRowsResponse"]
    assert page["rowCount"] == 112 and {row[GENDER] for row in page["rowData"]} == {"Female"}
    assert_still_serving(env)


BAD_PAGES = {
    "negative start": {"startRow": -1, "endRow": 10},
    "text rows": {"startRow": "abc", "endRow": "def"},
    "float rows": {"startRow": 0.5, "endRow": 1e308},
    "huge end": {"startRow": 0, "endRow": 10**30},
    "sort by sql column": {"startRow": 0, "endRow": 10, "sortModel": [{"colId": SQL_NAME, "sort": "asc"}]},
    "sort by unknown column": {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "nope", "sort": "asc"}]},
    "sort direction with sql": {"startRow": 0, "endRow": 10,
                                "sortModel": [{"colId": AGE, "sort": "asc; DROP TABLE runs"}]},
    f"{BIG:,} sort entries": {"startRow": 0, "endRow": 10,
                              "sortModel": [{"colId": AGE, "sort": "asc"}] * BIG},
    "sort model not a list": {"startRow": 0, "endRow": 10, "sortModel": {"colId": AGE}},
}


@pytest.mark.parametrize("case", list(BAD_PAGES))
def test_forged_grid_request_is_refused(env, case):
    r = grid(env["client"], spec(env), BAD_PAGES[case])
    assert_refused(r, "views-alert", {"customer-grid": "getRowsResponse"})
    assert_still_serving(env)


def test_page_size_is_bounded(env):
    """A request for a million rows gets at most the engine's page size, not the table."""
    r = grid(env["client"], spec(env), {"startRow": 0, "endRow": 1_000_000})
    assert r.status_code < 500
    if r.status_code == 200:
        page = response_props(r).get("customer-grid", {}).get("getRowsResponse") or {"rowData": []}
        assert len(page["rowData"]) <= 500
    assert_still_serving(env)


# -- segmentation requests --------------------------------------------------------------------------
BAD_RUNS = {
    "k 0": dict(k=0),
    "k -1": dict(k=-1),
    "k 1000": dict(k=1000),
    "k abc": dict(k="abc"),
    "k 2.5": dict(k=2.5),
    "k infinite": dict(k=float("inf")),
    "k NaN": dict(k=float("nan")),
    "k true": dict(k=True),
    "k list": dict(k=[5] * BIG),
    "unknown feature": dict(features=["Nope"]),
    "sql feature": dict(features=[SQL_NAME]),
    "identifier feature": dict(features=["CustomerID"]),
    "reserved feature": dict(features=["__segment"]),
    f"{BIG:,} features": dict(features=[f"f{i}" for i in range(BIG)]),
    "features not a list": dict(features=INCOME),
    "feature not text": dict(features=[{"name": INCOME}]),
    "no features": dict(features=[]),
    "scale with sql": dict(scale="standard'; DROP TABLE runs; --"),
    "fill with sql": dict(fill="median); DROP TABLE runs; --"),
    "unknown dataset": dict(dataset_id=UNKNOWN_ID),
    "dataset id with sql": dict(dataset_id="x' OR 1=1 --"),
    "dataset id list": dict(dataset_id=[UNKNOWN_ID]),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_forged_segmentation_request_is_refused(env, case):
    args = {"dataset_id": env["dataset_id"], "features": [INCOME, SCORE], "k": 5} | BAD_RUNS[case]
    r = run(env["client"], args.pop("dataset_id"), args.pop("features"), **args)
    assert_refused(r, "run-alert", {"job-store": "data"})  # refused at once: no background job starts
    assert_still_serving(env)


@pytest.mark.parametrize("run_id", [UNKNOWN_ID, "x' OR 1=1 --", "../../etc/passwd", 7, [UNKNOWN_ID]])
def test_forged_run_id_is_refused(env, run_id):
    r = show_run(env["client"], run_id)
    assert_refused(r, "run-alert", {"filter-store": "data", "profile-grid": "columnDefs",
                                    "customer-grid": "columnDefs", "segment-checklist": "options"})
    assert_still_serving(env)


@pytest.mark.parametrize("dataset_id", [UNKNOWN_ID, "x' OR 1=1 --", "../../etc/passwd", 7, {"id": 1}])
def test_forged_dataset_id_is_refused(env, dataset_id):
    r = choose(env["client"], dataset_id)
    assert_refused(r, "dataset-alert", {"quality-report": "children", "features": "options",
                                        "run-store": "data"})
    assert_still_serving(env)


# -- uploads and exports ----------------------------------------------------------------------------
GARBAGE = bytes(range(256)) * 64


@pytest.mark.parametrize(
    "contents, filename",
    [
        ("not a data url", "x.csv"),
        ("data:text/csv;base64,@@@@####", "x.csv"),
        (data_url(GARBAGE), "../../../etc/passwd"),
        (data_url(GARBAGE), "x" * 10_000 + ".csv"),
        (data_url(b""), "empty.csv"),
        ([data_url(b"a,b\n1,2\n")] * BIG, "list.csv"),
        (data_url(b"a,b\n1,2\n"), ["a.csv"] * BIG),
        (data_url(b"a,b\n1,2\n"), None),
        (12345, "number.csv"),
    ],
    ids=["not-data-url", "bad-base64", "path-traversal-name", "10k-char-name", "empty", "contents-list",
         "filename-list", "no-filename", "contents-number"],
)
def test_forged_upload_is_refused(env, contents, filename):
    r = upload(env["client"], contents, filename)
    assert_refused(r, "upload-alert", {"dataset-picker": "value"})
    leftovers = list((env["data_dir"] / "uploads").glob("*")) if (env["data_dir"] / "uploads").exists() else []
    assert leftovers == [], f"upload files left behind: {leftovers}"
    assert_still_serving(env)


TRANSACTIONS = b"customer,date,amount\n" + b"".join(
    f"c{i % 40},2024-0{1 + i % 9}-1{i % 10},{10 + i % 17}.5\n".encode() for i in range(400))


@pytest.mark.parametrize(
    "mapping",
    [dict(customer=SQL_NAME), dict(date="nope", amount=SQL_NAME), dict(customer="x" * 5000),
     dict(customer={"a": 1}), dict(amount=[SQL_NAME] * BIG)],
    ids=["sql-customer", "unknown-and-sql", "5000-chars", "dict", "100k-list"],
)
def test_forged_transactions_mapping_is_refused(env, mapping):
    r = upload(env["client"], data_url(TRANSACTIONS), "sales.csv", rfm=True)
    pending = response_props(r)["pending-upload"]["data"]
    assert pending["columns"] == ["customer", "date", "amount"]  # column names only, never the bytes
    r = load_mapped(env["client"], pending, **mapping)
    assert_refused(r, "mapping-alert", {"dataset-picker": "value"})
    assert_still_serving(env)


@pytest.mark.parametrize("pending", [{"token": "../../../etc/passwd"}, {"token": "pending-" + "A" * 22},
                                     "pending-x", {"token": ["a"] * BIG}])
def test_forged_pending_upload_is_refused(env, pending):
    r = load_mapped(env["client"], pending, customer="customer", date="date", amount="amount")
    assert_refused(r, "mapping-alert", {"dataset-picker": "value"})
    assert_still_serving(env)


@pytest.mark.parametrize("case", ["unknown column", "sql column name in ranges", "unknown run id",
                                  f"{BIG:,} segments"])
def test_forged_export_is_refused(env, case):
    r = export(env["client"], spec(env, **BAD_SPECS[case]))
    assert_refused(r, "export-alert", {"export-download": "data"})
    assert_still_serving(env)


# -- the filter-update callback (selections from the charts) ----------------------------------------
def filter_update(env, scatter=None, cell=None, segments=None, current=None):
    return env["client"].call(
        "filter-alert.children",
        {"scatter-region.data": scatter, "profile-grid.cellClicked": cell,
         "segment-checklist.value": segments, "filter-store.data": current or spec(env)},
        changed=["scatter-region.data" if scatter is not None else
                 "profile-grid.cellClicked" if cell is not None else "segment-checklist.value"],
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scatter={"lassoPoints": {"x": list(range(BIG)), "y": list(range(BIG))}}),
        dict(scatter={"range": {"x": ["a", "b"], "y": [0, 1]}}),
        dict(scatter={"points": [{"x": i} for i in range(BIG)]}),
        dict(segments=[0, -1, 1000]),
        dict(segments=list(range(BIG))),
        dict(segments="abc"),
        dict(cell={"rowIndex": 0, "data": {"segment": SQL_NAME}}),
        dict(segments=[1], current={"run_id": UNKNOWN_ID}),
        dict(segments=[1], current={"run_id": "x' OR 1=1 --"}),
    ],
    ids=["lasso-100k", "box-text", "points-100k", "segments-out-of-range", "segments-100k", "segments-text",
         "cell-sql", "unknown-run", "sql-run"],
)
def test_forged_selection_is_refused(env, kwargs):
    r = filter_update(env, **kwargs)
    assert r.status_code < 500, r.text[:300]
    if r.status_code == 200:
        props = response_props(r)
        new_spec = props.get("filter-store", {}).get("data")
        alert = props.get("filter-alert", {}).get("children")
        # either refused with an alert and no new filter, or (for selections the UI ignores) no change
        assert new_spec is None or (isinstance(new_spec, dict) and new_spec.get("run_id") == env["run_id"]
                                    and len(json.dumps(new_spec)) < 200_000), json.dumps(new_spec)[:300]
        if alert is not None:
            assert is_alert(alert) and "Something went wrong" not in text_of(alert), text_of(alert)
    assert_still_serving(env)


# -- broken request envelopes (what no browser sends) -----------------------------------------------
def test_broken_envelopes_are_refused_without_server_errors(env):
    client = env["client"]
    dep = client.callback("customer-grid.getRowsResponse")
    good = client.payload(dep, {"customer-grid.getRowsRequest": {"startRow": 0, "endRow": 5},
                                "filter-store.data": spec(env)})
    bodies = {
        "not json": (b"{not json", True),
        "json list": ([1, 2, 3], False),
        "empty object": ({}, False),
        "unknown output": (good | {"output": "nope.children", "outputs": {"id": "nope", "property": "children"}},
                           False),
        "missing inputs": ({k: v for k, v in good.items() if k != "inputs"}, False),
        "inputs not a list": (good | {"inputs": "x"}, False),
        "wrong number of inputs": (good | {"inputs": good["inputs"] * 3}, False),
        "output with sql": (good | {"output": SQL_NAME}, False),
    }
    statuses = {}
    for name, (body, raw) in bodies.items():
        r = client.post(body if not raw else body, raw=raw, name=name)
        statuses[name] = r.status_code
        assert_still_serving(env)
    server_errors = {k: v for k, v in statuses.items() if v >= 500}
    assert not server_errors, f"server errors (5xx) for malformed requests: {server_errors}"


def exceptions_in(log: str) -> list[str]:
    """The exception line ("KeyError: 'x'") of every traceback in a log."""
    out = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = block.splitlines()[1:]
        for line in lines:
            if line and not line.startswith(" "):
                out.append(line.strip())
                break
    return out


def test_callbacks_only_accept_json_requests(env):
    """A cross-site form can post text/plain or form data without a CORS preflight, never
    application/json: such a request must not run a callback (a CSRF defence as long as no proxy adds
    permissive CORS headers)."""
    client = env["client"]
    dep = client.callback("run-alert.children", input="run-button.n_clicks")
    body = json.dumps(client.payload(dep, {
        "run-button.n_clicks": 1, "dataset-picker.value": env["dataset_id"],
        "features.value": [INCOME, SCORE], "scale.value": "standard", "fill.value": "median",
        "k-slider.value": 3, "k-auto.value": False}))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = client.http.post(client.base + "/_dash-update-component", data=body,
                             headers={"Content-Type": content_type}, timeout=60)
        assert 400 <= r.status_code < 500, (content_type, r.status_code)
    r = client.http.get(client.base + "/_dash-dependencies", headers={"Origin": "https://evil.example"},
                        timeout=60)
    assert "Access-Control-Allow-Origin" not in r.headers
    assert_still_serving(env)


# -- after everything -------------------------------------------------------------------------------
def test_zz_database_unchanged_and_no_unexpected_errors(env):
    """Runs last (file order): stop the server, compare the file with the snapshot taken before it
    started, and read the log for tracebacks (an unexpected code path reached by a forged input)."""
    env["server"].stop()
    after = dbcheck.snapshot(env["db"])
    assert after["tables"] == env["before"]["tables"]
    assert after["datasets"] == env["before"]["datasets"]
    assert after["runs"] == env["before"]["runs"]
    assert after["content"] == env["before"]["content"]
    assert dbcheck.problems(env["db"]) == []
    tracebacks = exceptions_in(env["server"].log_text())
    assert not tracebacks, f"{len(tracebacks)} tracebacks in the server log, e.g.:\n" + "\n".join(
        sorted(set(tracebacks))[:15])
