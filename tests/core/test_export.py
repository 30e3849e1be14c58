"""Excel export: read back with openpyxl; rows, values and names match the database, text never turns
into formulas or links, long text is truncated and counted, and big selections spill onto more sheets."""
from __future__ import annotations

import io
import math
import re
import zipfile

import numpy as np
import openpyxl
import pytest

from core import export, views
from core.models import ROW, SEGMENT

DANGEROUS = ["=1+1", "@SUM(A1)", "+cmd", "-2+3", "\tx", "http://evil", "\rfoo", "=HYPERLINK(\"http://evil\")",
             "<r>&</r>", '<r><t>x</t></r></is></c><c r="Z1"><f>1+1</f></c><c><is><r><t>y</t></r>',
             "a & b < c", "  padded  ", "mailto:x@evil.test", ""]


def spec(store, run, **data):
    return views.parse_spec(store, {"run_id": run.run_id, **data})


def excel_text(value):
    """Text as Excel shows it: OOXML escapes control characters as _xHHHH_ (openpyxl leaves them)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def sheet_rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def assert_no_formulas_or_links(path_or_bytes) -> None:
    wb = openpyxl.load_workbook(path_or_bytes)
    for ws in wb:
        assert not ws._hyperlinks
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    raw = path_or_bytes.getvalue() if isinstance(path_or_bytes, io.BytesIO) else open(path_or_bytes, "rb").read()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        for name in z.namelist():
            text = z.read(name).decode("utf-8", errors="replace")
            assert "<f>" not in text and "<f " not in text, name
            assert "<hyperlink" not in text, name
            assert "hyperlink" not in name.lower()


def test_export_matches_the_database(store, mall_run, tmp_path):
    s = spec(store, mall_run, segments=[1, 2], categories={"Gender": ["Female"]})
    out = tmp_path / "sub" / "mall.xlsx"
    result = export.export_workbook(store, s, out)
    selected, _ = views.count(store, s)
    assert result.rows == selected > 0
    assert result.sheets == ["Customers", "Segments", "Data quality", "Run"]
    assert result.path == str(out) and out.exists() and result.truncated_cells == 0
    assert not [p for p in out.parent.iterdir() if p != out]  # no temporary files left

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == result.sheets
    customers = sheet_rows(wb["Customers"])
    header, body = customers[0], customers[1:]
    # the segment right after the id (issue 15); "Filled" last: this run fills Age but the file has no blank
    assert header == ("CustomerID", "Segment", "Segment name", "Gender", "Age", "Annual Income (k$)",
                      "Spending Score (1-100)", "Filled")
    assert len(body) == selected
    with store.cursor() as cur:
        db = cur.execute(
            f"""SELECT "CustomerID", {SEGMENT}, "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"
                FROM run_{mall_run.run_id} WHERE {SEGMENT} IN (1, 2) AND "Gender" = 'Female' ORDER BY {ROW}"""
        ).fetchall()
    names = {seg.id: seg.name for seg in mall_run.segments}
    assert [(r[0], r[1], *r[3:7]) for r in body] == [tuple(r) for r in db]
    assert all(r[2] == names[r[1]] for r in body)
    assert {r[2] for r in body} == {names[1], names[2]}
    assert {r[7] for r in body} == {None}

    segments = sheet_rows(wb["Segments"])
    assert segments[0][:4] == ("Segment", "Name", "Customers", "Share of selection")
    seg_rows = [r for r in segments[1:] if isinstance(r[0], int)]
    assert sum(r[2] for r in seg_rows) == selected
    assert {r[1] for r in seg_rows} == {names[1], names[2]}
    assert math.isclose(sum(r[3] for r in seg_rows), 1.0)

    quality = [v for row in sheet_rows(wb["Data quality"]) for v in row if v is not None]
    assert "1 row has a negative value" in quality  # the dataset's finding
    assert "blank column name 3 renamed to 'column_3'" in quality
    assert "negative:Age" in quality  # the run's excluded_by_rule

    run_items = {r[0]: r[1] for r in sheet_rows(wb["Run"])}
    assert run_items["Run id"] == mall_run.run_id
    assert run_items["Dataset id"] == mall_run.dataset_id
    assert run_items["Dataset"] == "mall customers"
    assert run_items["Rows exported"] == selected
    assert run_items["Number of segments (k)"] == 5
    assert "Gender: Female" in run_items["Filter applied"]
    assert run_items["Exported at"][:2] == "20"
    assert "Truncated values" not in run_items
    assert_no_formulas_or_links(out)


def test_text_is_never_a_formula_or_a_link(store, make_run, frames, tmp_path):
    frame = frames.synthetic(len(DANGEROUS), seed=2)
    frame["note"] = DANGEROUS
    frame["score"] = [math.nan, math.inf, -math.inf, 2.5] + [1.25] * (len(DANGEROUS) - 4)
    frame["big"] = [10**17 + 1] + [7] * (len(DANGEROUS) - 1)
    # dangerous category values and column names too
    frame["region"] = ["=cmd|' /C calc'!A0"] + ["north"] * (len(DANGEROUS) - 1)
    frame = frame.rename(columns={"spend": "=SUM(1)"})
    run = make_run(frame, id_column="id")
    out = tmp_path / "danger.xlsx"
    result = export.export_workbook(store, spec(store, run), out)
    assert result.rows == len(DANGEROUS)

    wb = openpyxl.load_workbook(out)
    ws = wb["Customers"]
    header = [c.value for c in ws[1]]
    assert header[:9] == ["id", "Segment", "Segment name", "age", "=SUM(1)", "region", "note", "score", "big"]
    note_col = header.index("note") + 1
    values = [ws.cell(row=i + 2, column=note_col) for i in range(len(DANGEROUS))]
    for cell, expected in zip(values, DANGEROUS):
        if expected == "":
            assert cell.value in ("", None)
            continue
        assert excel_text(cell.value) == expected
        assert cell.data_type in ("s", "str", "inlineStr")
        if expected[0] in "=+-@\t\r":
            assert cell.quotePrefix, expected
    danger = header.index("=SUM(1)") + 1
    assert ws.cell(row=1, column=danger).quotePrefix  # a column name starting with '='
    assert ws.cell(row=2, column=danger + 1).value == "=cmd|' /C calc'!A0"
    assert ws.cell(row=2, column=danger + 1).quotePrefix
    score = [ws.cell(row=i + 2, column=header.index("score") + 1).value for i in range(4)]
    assert score[:3] == [None, None, None]  # NaN and infinities are blank
    assert score[3] == 2.5
    assert ws.cell(row=2, column=header.index("big") + 1).value == str(10**17 + 1)
    assert_no_formulas_or_links(out)


def test_long_text_is_truncated_and_counted(store, make_run, frames, tmp_path):
    frame = frames.synthetic(5, seed=6)
    frame["note"] = ["x" * 40_000, "short", "=" + "y" * 39_999, "€" * 33_000, "ok"]
    run = make_run(frame, id_column="id")
    buf = io.BytesIO()
    result = export.export_workbook(store, spec(store, run), buf)
    assert result.truncated_cells == 3 and result.path is None
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    ws = wb["Customers"]
    col = [c.value for c in ws[1]].index("note") + 1
    notes = [ws.cell(row=r, column=col).value for r in range(2, 7)]
    for v in (notes[0], notes[2], notes[3]):
        assert len(v) <= export.CELL_CHAR_LIMIT and v.endswith(export.TRUNCATED_NOTE)
    assert notes[0].startswith("x" * 30_000) and notes[2].startswith("=yyy")
    assert notes[1] == "short" and notes[4] == "ok"
    run_items = {r[0]: r[1] for r in sheet_rows(wb["Run"])}
    assert run_items["Truncated values"].startswith("3 value(s) longer than 32,767 characters")


def test_rows_spill_onto_more_sheets(store, make_run, frames, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "SHEET_ROW_LIMIT", 100)
    run = make_run(frames.synthetic(250, seed=8), id_column="id")
    s = spec(store, run)
    result = export.export_workbook(store, s, tmp_path / "spill.xlsx")
    assert result.rows == 250 == views.count(store, s)[0]
    assert result.sheets == ["Customers", "Customers (2)", "Customers (3)", "Segments", "Data quality", "Run"]
    wb = openpyxl.load_workbook(tmp_path / "spill.xlsx")
    ids = []
    for name in result.sheets[:3]:
        rows = sheet_rows(wb[name])
        assert rows[0][0] == "id" and len(rows) <= 100
        ids += [r[0] for r in rows[1:]]
    assert len(ids) == 250 and ids == sorted(ids) and len(set(ids)) == 250
    run_items = {r[0]: r[1] for r in sheet_rows(wb["Run"])}
    assert run_items["Customer sheets"] == "Customers, Customers (2), Customers (3)"
    assert run_items["Rows exported"] == 250


def test_exact_sheet_boundary_does_not_add_an_empty_sheet(store, make_run, frames, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "SHEET_ROW_LIMIT", 51)
    run = make_run(frames.synthetic(100, seed=8), id_column="id")
    result = export.export_workbook(store, spec(store, run), tmp_path / "edge.xlsx")
    assert result.sheets[:3] == ["Customers", "Customers (2)", "Segments"]


def test_empty_selection_exports_headers_only(store, mall_run, tmp_path):
    out = tmp_path / "empty.xlsx"
    result = export.export_workbook(store, spec(store, mall_run, ranges={"Age": [500, 600]}), out)
    assert result.rows == 0
    wb = openpyxl.load_workbook(out)
    assert sheet_rows(wb["Customers"]) == [("CustomerID", "Segment", "Segment name", "Gender", "Age",
                                             "Annual Income (k$)", "Spending Score (1-100)", "Filled")]
    assert {r[0]: r[1] for r in sheet_rows(wb["Run"])}["Rows exported"] == 0


def test_dataset_without_identifier_exports_the_file_row(store, make_run, frames, tmp_path):
    frame = frames.synthetic(30, seed=5).drop(columns=["id"])
    run = make_run(frame)
    export.export_workbook(store, spec(store, run, segments=[1]), tmp_path / "noid.xlsx")
    rows = sheet_rows(openpyxl.load_workbook(tmp_path / "noid.xlsx")["Customers"])
    assert rows[0][:3] == ("Row in file", "Segment", "Segment name")
    expected = (np.flatnonzero(frame[SEGMENT].to_numpy() == 1) + 1).tolist()
    assert [r[0] for r in rows[1:]] == expected


def test_failed_export_leaves_the_previous_file(store, mall_run, tmp_path, monkeypatch):
    out = tmp_path / "keep.xlsx"
    out.write_bytes(b"previous")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "_quality", boom)
    with pytest.raises(RuntimeError):
        export.export_workbook(store, spec(store, mall_run), out)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith((".part", ".xlsx"))] == ["keep.xlsx"]
    tmp_dir = store.path.parent / "tmp"
    assert not [p for p in tmp_dir.iterdir() if p.name.startswith("xlsx-")]


def test_fast_customer_rows_are_byte_identical_to_xlsxwriter(tmp_path):
    """The Customers sheet's row writer builds the same XML as xlsxwriter's own cell writer."""
    import xlsxwriter

    assert export._customers_sheet_class() is export._FastRowsWorksheet
    values = DANGEROUS + ["_x0041_ literal", "ctrl \x01\x1f end", "\ufffe", " lead", "trail ", "tab\tin",
                          "new\nline", "quote \" ' ", "ümlaut ✓ 🙂", "x" * 20_000]
    numbers = [0, -1, 1.5, 1e-300, 123456789012345, -2.5e20, 3.141592653589793]

    def build(worksheet_class) -> bytes:
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, export.WORKBOOK_OPTIONS)
        cells = export._Cells(wb)
        ws = wb.add_worksheet("Customers", worksheet_class=worksheet_class)
        ws.set_column(2, 2, 12, cells.percent)  # a column format the writer must pick up
        ws.set_row(3, None, cells.bold)  # and a row format
        for r, v in enumerate(values, start=1):
            cells.text(ws, r, 0, v)
            cells.number(ws, r, 1, numbers[r % len(numbers)])
            cells.number(ws, r, 2, r / 7)
            cells.value(ws, r, 3, r % 2 == 0)  # booleans go through xlsxwriter's writer
            if r % 3:
                cells.text(ws, r, 5, f"gap before {r}", cells.bold)
        wb.close()
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
            return z.read("xl/worksheets/sheet1.xml")

    assert build(export._FastRowsWorksheet) == build(None)


def test_segments_and_run_sheets_carry_the_explanations(store, mall_csv, tmp_path):
    from core.ingest import load_file
    from core.segmentation import run_segmentation

    mall = load_file(store, mall_csv, "mall")
    run = run_segmentation(store, mall.dataset_id, ["Annual Income (k$)", "Spending Score (1-100)"])
    out = tmp_path / "explained.xlsx"
    export.export_workbook(store, views.parse_spec(store, {"run_id": run.run_id}), out)
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = sheet_rows(wb["Segments"])
    header = list(rows[0])
    cols = ["Drivers", "Rule (SQL over the Customers sheet)", "Rule precision", "Rule recall", "Stability",
            "Outlier group"]
    assert header[-6:] == cols
    by_id = {s.id: s for s in run.segments}
    for r in rows[1:]:
        seg = by_id[r[0]]
        got = dict(zip(cols, r[-6:]))
        assert got["Rule (SQL over the Customers sheet)"] == seg.rule
        assert got["Rule precision"] == pytest.approx(seg.rule_precision)
        assert got["Rule recall"] == pytest.approx(seg.rule_recall)
        assert got["Stability"] == pytest.approx(seg.stability)
        assert got["Outlier group"] == "no"
        assert got["Drivers"].startswith(f"{seg.drivers[0]['feature']} {seg.drivers[0]['direction']}")
    items = {r[0]: r[1] for r in sheet_rows(wb["Run"])[1:]}
    assert items["Why this k"] == run.k_reason
    assert items["Transform: Annual Income (k$)"] == "none"
    assert items["Role: CustomerID"].startswith("identifier")
    assert items["Role: Gender"].startswith("categorical")
    assert items["Stability by k"].startswith("k=2: ")
