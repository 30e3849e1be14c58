"""The import folder (safe names, listing, background jobs) and CSV/Parquet exports read back."""
from __future__ import annotations

import csv
import os

import duckdb
import pytest

from core.downloads import export_flat
from core.errors import InputError
from core.filters import FilterSpec
from core.imports import job_status, list_importable, resolve_import, start_import
from core.pipeline import ensure_sample
from dash.testing.wait import until


@pytest.fixture
def import_dir(tmp_path):
    d = tmp_path / "import"
    d.mkdir()
    (d / "customers.csv").write_text("id,income\n1,10\n2,20\n")
    (d / "notes.docx").write_text("not data")
    (d / "half.csv.partial").write_text("id\n1\n")
    (d / ".hidden.csv").write_text("id\n1\n")
    parts = d / "parts"
    parts.mkdir()
    duckdb.sql(f"COPY (SELECT range AS id FROM range(5)) TO '{parts / 'p1.parquet'}' (FORMAT parquet)")
    outside = tmp_path / "secret.csv"
    outside.write_text("id\n1\n")
    os.symlink(outside, d / "link_out.csv")
    return d


def test_listing_offers_data_files_and_parquet_folders_only(import_dir):
    names = {c.name: c.kind for c in list_importable(import_dir)}
    assert names == {"customers.csv": "file", "parts": "parquet folder"}


@pytest.mark.parametrize("name", ["../secret.csv", "/etc/passwd", "link_out.csv", "..", ".hidden.csv",
                                  "half.csv.partial", "notes.docx", "missing.csv", "", None, 5, "a/b.csv"])
def test_names_outside_the_folder_or_not_data_are_refused(import_dir, name):
    with pytest.raises(InputError):
        resolve_import(import_dir, name)


def test_resolve_gives_the_entry(import_dir):
    assert resolve_import(import_dir, "customers.csv") == import_dir / "customers.csv"
    assert resolve_import(import_dir, "parts") == import_dir / "parts"


def test_a_job_reports_done_with_its_result_and_failures_with_their_message():
    ok = start_import("a.csv", lambda progress: (progress("reading", 0.5), "abc123abc123")[1])
    until(lambda: job_status(ok.job_id).stage == "done", timeout=5)
    assert job_status(ok.job_id).dataset_id == "abc123abc123"

    def fail(progress):
        raise InputError("'b.csv' has a header but no data rows; nothing to load")

    bad = start_import("b.csv", fail)
    until(lambda: job_status(bad.job_id).stage == "failed", timeout=5)
    assert "no data rows" in job_status(bad.job_id).message
    with pytest.raises(InputError):
        job_status("nope")


def test_csv_and_parquet_exports_hold_exactly_the_filtered_rows(store, tmp_path):
    run = ensure_sample(store)
    spec = FilterSpec(run.run_id, segments=(2,), ranges={"Age": (20.0, 40.0)})
    expected = store.cursor().execute(
        f"SELECT count(*) FROM run_{run.run_id} WHERE __segment = 2 AND \"Age\" BETWEEN 20 AND 40").fetchone()[0]
    assert expected > 0
    out = export_flat(store, spec, tmp_path / "x.csv", "csv")
    with open(tmp_path / "x.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert out.rows == len(rows) == expected
    assert {r["Segment"] for r in rows} == {"2"}
    assert all(20 <= float(r["Age"]) <= 40 for r in rows)
    name2 = next(s.name for s in run.segments if s.id == 2)
    assert {r["Segment name"] for r in rows} == {name2}

    pq = export_flat(store, spec, tmp_path / "x.parquet", "parquet")
    back = duckdb.sql(f"SELECT count(*), min(\"Age\"), max(\"Age\") FROM '{tmp_path / 'x.parquet'}'").fetchall()[0]
    assert pq.rows == back[0] == expected and 20 <= back[1] and back[2] <= 40


def test_csv_text_that_looks_like_a_formula_is_quoted(store, tmp_path):
    f = tmp_path / "evil.csv"
    f.write_text('name,income,score\n"=HYPERLINK(""http://x"")",10,1\n+cmd,20,5\n@SUM(A1),30,9\nplain,40,2\n'
                 "-2+3,50,7\nok,60,8\n")
    from core.ingest import load_file
    from core.segmentation import run_segmentation

    info = load_file(store, f)
    run = run_segmentation(store, info.dataset_id, ["income", "score"], k=2)
    export_flat(store, FilterSpec(run.run_id), tmp_path / "out.csv", "csv")
    with open(tmp_path / "out.csv", newline="") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert sorted(names) == sorted(["'=HYPERLINK(\"http://x\")", "'+cmd", "'@SUM(A1)", "plain", "'-2+3", "ok"])


def test_unknown_format_is_refused(store, tmp_path):
    run = ensure_sample(store)
    with pytest.raises(InputError):
        export_flat(store, FilterSpec(run.run_id), tmp_path / "x.json", "json")


def test_csv_export_carries_the_filled_column_like_the_workbook(store, tmp_path):
    f = tmp_path / "gaps.csv"
    f.write_text("id,income,score\n1,10,1\n2,,5\n3,30,\n4,40,2\n5,50,7\n6,60,8\n7,70,9\n8,80,3\n")
    from core.ingest import load_file
    from core.segmentation import run_segmentation

    info = load_file(store, f)
    run = run_segmentation(store, info.dataset_id, ["income", "score"], k=2)
    export_flat(store, FilterSpec(run.run_id), tmp_path / "out.csv", "csv")
    with open(tmp_path / "out.csv", newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert list(next(iter(rows.values())))[:3] == ["id", "Segment", "Segment name"]
    assert rows["2"]["Filled"] == "income" and rows["3"]["Filled"] == "score" and rows["1"]["Filled"] == ""
