"""A big file handed to the running app through CSI_IMPORT_DIR (`python -m core import`), never a
second writer; names outside the folder are refused; streamed exports hold exactly the filtered rows."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import duckdb
import pytest
import requests

from core.config import PROJECT_DIR
from live_server import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("import-app")
    import_dir = data_dir / "incoming"
    srv = LiveServer(data_dir, env={"CSI_IMPORT_DIR": str(import_dir)}).start()
    srv.import_dir = import_dir
    yield srv
    srv.stop()


def test_cli_hands_a_file_to_the_running_app(server, tmp_path):
    src = tmp_path / "big customers.csv"
    duckdb.sql(
        "COPY (SELECT range AS customer_id, (range % 97) * 1.5 AS income, (range * 7) % 100 AS score "
        f"FROM range(50000)) TO '{src}' (FORMAT csv, HEADER)"
    )
    env = {**os.environ, "CSI_DATA_DIR": str(server.data_dir), "CSI_IMPORT_DIR": str(server.import_dir)}
    proc = subprocess.run([sys.executable, "-m", "core", "import", str(src), "--app", server.url],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "imported as dataset" in proc.stdout
    dataset_id = proc.stdout.strip().split()[-1]
    listed = requests.get(f"{server.url}/api/imports", timeout=30).json()["files"]
    assert [f["name"] for f in listed] == ["big customers.csv"]
    assert server.healthy()  # the app kept the database; the CLI never opened it
    assert len(dataset_id) == 12


@pytest.mark.parametrize("name", ["../segmentation.duckdb", "/etc/passwd", "..", "link.csv", "x/../../y.csv"])
def test_names_outside_the_import_folder_are_refused(server, tmp_path, name):
    server.import_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_path / "outside.csv"
    target.write_text("id,income\n1,2\n")
    link = server.import_dir / "link.csv"
    if not link.is_symlink():
        os.symlink(target, link)
    r = requests.post(f"{server.url}/api/import", json={"name": name}, timeout=30)
    assert r.status_code == 400 and "import folder" in r.json()["error"]


def test_import_accepts_json_only(server):
    r = requests.post(f"{server.url}/api/import", data={"name": "x.csv"}, timeout=30)
    assert r.status_code == 415


def test_streamed_export_holds_the_filtered_rows(server):
    datasets = requests.get(f"{server.url}/api/datasets", timeout=30).json()["datasets"]
    sample = next(d for d in datasets if d["name"] == "Mall customers (sample)")
    run_id = sample["runs"][0]["run_id"]
    spec = {"run_id": run_id, "segments": [1, 2], "ranges": {"Age": [18, 45]}}
    r = requests.post(f"{server.url}/download/export", data={"spec": json.dumps(spec), "format": "csv"},
                      timeout=60)
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == int(r.headers["X-Rows"]) > 0
    assert {row["Segment"] for row in rows} <= {"1", "2"} and all(18 <= float(row["Age"]) <= 45 for row in rows)
    # the same count from the Excel and Parquet routes
    x = requests.post(f"{server.url}/download/export", json={"spec": spec, "format": "parquet"}, timeout=60)
    assert x.status_code == 200 and x.content[:4] == b"PAR1"
    assert int(x.headers["X-Rows"]) == len(rows)
    leftovers = [p for p in (server.data_dir / "tmp").rglob("*") if p.is_file()]
    assert leftovers == []  # nothing stays where another session could read it


def test_streamed_export_refuses_forged_specs(server):
    r = requests.post(f"{server.url}/download/export", data={"spec": json.dumps({"run_id": "0" * 12})}, timeout=60)
    assert r.status_code == 400 and "unknown run" in r.json()["error"]
    bad = requests.post(f"{server.url}/download/export", data={"spec": "{not json", "format": "csv"}, timeout=60)
    assert bad.status_code == 400
    fmt = requests.post(f"{server.url}/download/export", data={"spec": "{}", "format": "exe"}, timeout=60)
    assert fmt.status_code == 400
