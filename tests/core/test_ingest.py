"""core/ingest.py: every format and dialect of one table loads to the same typed dataset; the Mall
sample's known facts; the CDNOW transactions sample stages headerless; names, typing and atomicity."""
from __future__ import annotations

import codecs

import pandas as pd
import pytest

from core.errors import InputError
from core.ingest import detect_header, load_file, publish_staged, sanitize_names, stage_file
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC
from core.store import new_id, quote_ident
from tests.conftest import DATA_DIR

# One small customer table; every variant below must load to exactly this (typed) table.
FRAME = pd.DataFrame(
    {
        "CustomerID": [101, 102, 103, 104, 105, 106],
        "Gender": ["Female", "Male", "Female", "Male", "Female", "Zoë"],
        "Age": [23, 35, 47, 52, 31, 64],
        "Income": [15.5, 40.25, 77.0, 120.75, 33.0, 61.5],
        "Visits": [3, 0, 12, 7, 1, 4],
    }
)
EXPECTED_COLUMNS = [
    ("CustomerID", IDENTIFIER, "BIGINT"),
    ("Gender", CATEGORICAL, "VARCHAR"),
    ("Age", NUMERIC, "BIGINT"),
    ("Income", NUMERIC, "DOUBLE"),
    ("Visits", NUMERIC, "BIGINT"),
]


def _rows(store, info) -> list[tuple]:
    cols = ", ".join(quote_ident(c) for c in info.names())
    with store.cursor() as cur:
        return cur.execute(f"SELECT __row, {cols} FROM {info.table} ORDER BY __row").fetchall()


def _expected_rows() -> list[tuple]:
    return [(i + 1, *row) for i, row in enumerate(FRAME.itertuples(index=False, name=None))]


def _text(sep: str, decimal: str = ".") -> str:
    lines = [sep.join(FRAME.columns)]
    for row in FRAME.itertuples(index=False):
        cells = [str(v) if not isinstance(v, float) else str(v).replace(".", decimal) for v in row]
        lines.append(sep.join(cells))
    return "\n".join(lines) + "\n"


def _write_variant(kind: str, tmp_path):
    path = tmp_path / f"variant_{kind}.dat"  # the extension never decides the format
    if kind == "csv":
        path.write_text(_text(","), encoding="utf-8")
    elif kind == "semicolon":
        path.write_text(_text(";", decimal=","), encoding="utf-8")  # European: decimal commas
    elif kind == "tab":
        path.write_text(_text("\t"), encoding="utf-8")
    elif kind == "pipe":
        path.write_text(_text("|"), encoding="utf-8")
    elif kind == "whitespace":
        widths = [12, 8, 5, 9, 7]
        lines = ["".join(str(c).ljust(w) for c, w in zip(FRAME.columns, widths))]
        lines += ["   ".join(str(v) for v in row) for row in FRAME.itertuples(index=False)]
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    elif kind == "bom":
        path.write_bytes(codecs.BOM_UTF8 + _text(",").encode("utf-8"))
    elif kind == "latin1":
        path.write_bytes(_text(",").replace("\n", "\r\n").encode("latin-1"))
    elif kind == "utf16":
        path.write_bytes(_text("\t").encode("utf-16"))
    elif kind == "quoted":
        FRAME.to_csv(path, index=False, quoting=1)  # csv.QUOTE_ALL
    elif kind == "xlsx":
        FRAME.to_excel(path, index=False, engine="xlsxwriter")
    elif kind == "parquet":
        FRAME.to_parquet(path, index=False)
    return path


VARIANTS = ["csv", "semicolon", "tab", "pipe", "whitespace", "bom", "latin1", "utf16", "quoted", "xlsx", "parquet"]


@pytest.mark.parametrize("kind", VARIANTS)
def test_every_variant_loads_to_the_same_typed_table(store, tmp_path, kind):
    path = _write_variant(kind, tmp_path)
    info = load_file(store, path, "customers", source_name=f"customers.{kind}")
    assert [(c.name, c.role, c.sql_type) for c in info.columns] == EXPECTED_COLUMNS
    assert info.rows_read == info.rows_loaded == 6
    assert info.id_column == "CustomerID"
    assert info.quality.identifier_columns == ["CustomerID"]
    assert info.quality.missing == {} and info.quality.rejected_values == {}
    assert [f.rule for f in info.quality.findings] == []
    assert _rows(store, info) == _expected_rows()
    assert store.get_dataset(info.dataset_id).columns == info.columns


def test_latin1_is_reported(store, tmp_path):
    info = load_file(store, _write_variant("latin1", tmp_path))
    assert any("not UTF-8" in w for w in info.quality.warnings)


def test_mall_sample_facts(store, mall_csv):
    info = load_file(store, mall_csv)
    assert info.name == "mall_customers" and info.source == "mall_customers.csv"
    assert [(c.name, c.role) for c in info.columns] == [
        ("CustomerID", IDENTIFIER),
        ("Gender", CATEGORICAL),
        ("Age", NUMERIC),
        ("Annual Income (k$)", NUMERIC),
        ("Spending Score (1-100)", NUMERIC),
    ]
    q = info.quality
    assert (info.rows_read, info.rows_loaded, q.duplicates_removed) == (200, 200, 0)
    assert q.findings == [] and q.missing == {} and q.rejected_values == {}
    with store.cursor() as cur:
        means = cur.execute(
            f'SELECT avg("Age"), avg("Annual Income (k$)"), avg("Spending Score (1-100)") FROM {info.table}'
        ).fetchone()
        genders = dict(cur.execute(f'SELECT "Gender", count(*) FROM {info.table} GROUP BY 1').fetchall())
    assert [round(m, 2) for m in means] == [38.85, 60.56, 50.2]
    assert genders == {"Female": 112, "Male": 88}


def test_cdnow_sample_stages_headerless(store):
    path = DATA_DIR / "cdnow_sample.txt"  # whitespace runs, CRLF, no header
    with store.transaction() as cur:
        staged = stage_file(cur, path, "stage_cdnow", header=False)
        assert staged.columns == [f"column_{i}" for i in range(1, 6)]
        assert staged.rows == 6919
        assert staged.file_format == "text"
        first = cur.execute("SELECT * FROM stage_cdnow ORDER BY __row LIMIT 1").fetchone()
        assert first == (1, "00004", "0001", "19970101", "2", "29.33")
        last = cur.execute("SELECT __row, column_5 FROM stage_cdnow ORDER BY __row DESC LIMIT 1").fetchone()
        assert last[0] == 6919
        cur.execute("DROP TABLE stage_cdnow")
    # detection agrees: the first line is data (numbers only)
    with store.transaction() as cur:
        assert stage_file(cur, path, "stage_cdnow2").header is False


def test_publish_staged_keeps_numeric_columns_and_runs_in_callers_transaction(store, tmp_path):
    """The RFM path: stage, derive a table with numeric columns, publish it."""
    path = DATA_DIR / "cdnow_sample.txt"
    with store.transaction() as cur:
        staged = stage_file(cur, path, "stage_tx", header=False)
        cur.execute(
            """
            CREATE TEMP TABLE rfm_tx AS
            SELECT row_number() OVER (ORDER BY column_1)::BIGINT AS __row, column_1 AS customer_id,
                   count(*)::INTEGER AS frequency, sum(column_5::DOUBLE) AS monetary
            FROM stage_tx GROUP BY column_1
            """
        )
        derived = type(staged)(table="rfm_tx", columns=["customer_id", "frequency", "monetary"])
        info = publish_staged(store, cur, derived, "rfm", "cdnow_sample.txt", kind="transactions")
    assert info.kind == "transactions"
    roles = {c.name: (c.role, c.sql_type) for c in info.columns}
    assert roles["customer_id"] == (IDENTIFIER, "VARCHAR")  # "00004": leading zeros kept
    assert roles["frequency"] == (NUMERIC, "BIGINT")
    assert roles["monetary"] == (NUMERIC, "DOUBLE")
    assert store.get_dataset(info.dataset_id).rows_loaded == info.rows_loaded > 0
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    assert info.rows_loaded == len({ln[0] for ln in lines})
    with store.cursor() as cur:
        got = cur.execute(f"SELECT min(customer_id), sum(frequency) FROM {info.table}").fetchone()
    assert got == (min(ln[0] for ln in lines), 6919)


def test_thousands_separators_and_decimal_commas(store, tmp_path):
    p1 = tmp_path / "thousands.csv"
    p1.write_text('id_x,Amount,Note\n1,"1,234.5",a\n2,"12,000",b\n3,17,c\n4,"2,500,000.25",d\n')
    info = load_file(store, p1)
    with store.cursor() as cur:
        vals = [r[0] for r in cur.execute(f'SELECT "Amount" FROM {info.table} ORDER BY __row').fetchall()]
    assert vals == [1234.5, 12000.0, 17.0, 2500000.25]
    assert any("thousands separators" in r for r in info.quality.repairs)

    p2 = tmp_path / "decimal_comma.csv"
    p2.write_text("Name;Spend;Qty\nA;12,5;1.000\nB;1.234,75;2\nC;0,25;3\nD;7;4\n")
    info = load_file(store, p2)
    with store.cursor() as cur:
        rows = cur.execute(f'SELECT "Spend", "Qty" FROM {info.table} ORDER BY __row').fetchall()
    assert rows == [(12.5, 1.0), (1234.75, 2.0), (0.25, 3.0), (7.0, 4.0)]
    assert any("decimal commas" in r for r in info.quality.repairs)


def test_ambiguous_comma_follows_the_delimiter(store, tmp_path):
    p = tmp_path / "amb.csv"
    p.write_text("a;b\n1,234;x\n2,500;y\n")
    info = load_file(store, p)
    with store.cursor() as cur:
        assert [r[0] for r in cur.execute(f"SELECT a FROM {info.table} ORDER BY __row").fetchall()] == [1.234, 2.5]


def test_numeric_threshold_and_rejects(store, tmp_path):
    # 3 of 4 values are numbers -> numeric with one reject; 1 of 3 -> categorical with a warning
    p = tmp_path / "t.csv"
    p.write_text("Score,Code\n10,a\n20,b\nbad,7\n40,\n")
    info = load_file(store, p)
    assert info.column("Score").role == NUMERIC
    assert info.column("Code").role == CATEGORICAL
    assert info.quality.rejected_values == {"Score": 1}
    assert any("mostly text" in w and "'Code'" in w for w in info.quality.warnings)
    with store.cursor() as cur:
        rej = cur.execute(
            'SELECT "row", column_name, raw_value, reason FROM rejects WHERE dataset_id = ?', [info.dataset_id]
        ).fetchall()
    assert rej == [(3, "Score", "bad", "not a number")]
    finding = next(f for f in info.quality.findings if f.rule == "non_numeric")
    assert (finding.column, finding.count, finding.excludes_rows) == ("Score", 1, False)
    assert finding.action == "treated as missing and filled"


def test_sanitize_names():
    names, repairs = sanitize_names(
        ["  Name ", "", "name", "__row", "__SEGMENT", "x" * 300, 'x"; DROP TABLE datasets; --', "a\nb", "Name_2"]
    )
    assert names == ["Name", "column_2", "name_3", "row", "SEGMENT", "x" * 120, 'x"; DROP TABLE datasets; --',
                     "a b", "Name_2"]
    assert len(repairs) == 6
    assert any("blank column name 2" in r for r in repairs)
    assert any("truncated to 120" in r for r in repairs)
    assert any("'__row' is reserved" in r for r in repairs)


def test_header_detection():
    assert detect_header([["a", "b"], ["1", "2"]]) is True
    assert detect_header([["1", "2"], ["3", "4"]]) is False
    assert detect_header([["Male", "19"], ["Female", "20"]]) is False  # numbers under numbers: data
    assert detect_header([["Gender", "Age"], ["Female", "20"]]) is True
    assert detect_header([["a", "b"]]) is True


def test_header_forced_and_single_row(store, tmp_path):
    p = tmp_path / "one.csv"
    p.write_text("Age,Income\n30,50\n")
    info = load_file(store, p)
    assert info.rows_loaded == 1
    assert any("only 1 distinct point" in w for w in info.quality.warnings)


def test_failed_load_leaves_nothing_behind(store, mall_csv, tmp_path, monkeypatch):
    before = load_file(store, mall_csv)
    import core.quality

    def boom(*a, **k):
        raise RuntimeError("simulated crash during validation")

    monkeypatch.setattr(core.quality, "validate", boom)
    with pytest.raises(InputError, match="could not load 'mall_customers.csv'"):
        load_file(store, mall_csv)
    monkeypatch.undo()
    with store.cursor() as cur:
        tables = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {t for t in tables if t.startswith("ds_")} == {before.table}
        assert cur.execute("SELECT count(*) FROM datasets").fetchone()[0] == 1
        assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 0
    assert [d.dataset_id for d in store.list_datasets()] == [before.dataset_id]


def test_file_outside_allowed_folders_is_refused(store, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere") / "x.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError):
        load_file(store, other)


def test_staging_table_name_is_checked(store):
    with store.transaction() as cur, pytest.raises(InputError):
        stage_file(cur, DATA_DIR / "cdnow_sample.txt", f"x; DROP TABLE datasets; --{new_id()}")


def test_xlsx_formulas_only_count_in_the_first_sheet_and_empty_rows_are_reported(store, tmp_path):
    import xlsxwriter

    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["CustomerID", "Spend", None])
    ws.write_row(1, 0, [1, 10])
    ws.write_row(3, 0, [2, 20])  # row 2 of the data is empty
    other = wb.add_worksheet("Calc")
    other.write_formula(0, 0, "=1+1", None, 2)
    wb.close()
    info = load_file(store, path)
    assert info.names() == ["CustomerID", "Spend"]
    assert not any("formula" in r for r in info.quality.repairs)
    assert any("1 empty row" in r and "data row 2" in r for r in info.quality.repairs)
    assert any("only the first, 'Data'" in w for w in info.quality.warnings)
    with store.cursor() as cur:
        assert cur.execute(f'SELECT __row, "Spend" FROM {info.table} ORDER BY 1').fetchall() == [(1, 10), (3, 20)]


def test_a_named_empty_column_is_kept(store, tmp_path):
    p = tmp_path / "named.csv"
    p.write_text("Spend,column_3,\n10,,\n20,,\n")
    info = load_file(store, p)
    assert info.names() == ["Spend", "column_3"]  # the user's empty column_3 stays; the unnamed one goes
    assert any("'column_3' is empty" in w for w in info.quality.warnings)
    assert any("'column_3_2' has no name" in r for r in info.quality.repairs)


def test_xlsx_sheets_with_the_first_sheets_header_are_read_as_one_table(store, tmp_path):
    """A table split across sheets (a year per sheet, like UCI Online Retail II) is read whole, rows
    numbered on; a sheet with another header (even one differing only in case) and a chart sheet
    are not."""
    import xlsxwriter

    path = tmp_path / "years.xlsx"
    wb = xlsxwriter.Workbook(path)
    first = wb.add_worksheet("Year 2009")
    first.write_row(0, 0, ["CustomerID", "Spend"])
    first.write_row(1, 0, [1, 10])
    first.write_row(2, 0, [2, 20])
    notes = wb.add_worksheet("Notes")
    notes.write_row(0, 0, ["customerid", "Spend"])
    notes.write_row(1, 0, [9, 999])
    second = wb.add_worksheet("Year 2010")
    second.write_row(0, 0, ["CustomerID", "Spend", None])
    second.write_row(1, 0, [3])
    second.write_formula(1, 1, "=10+20", None, 30)
    second.write_row(2, 0, [4, 40])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='Year 2009'!$B$2:$B$3"})
    wb.add_chartsheet("Chart").set_chart(chart)
    wb.close()
    info = load_file(store, path)
    assert info.rows_loaded == 4
    with store.cursor() as cur:
        rows = cur.execute(f'SELECT __row, "CustomerID", "Spend" FROM {info.table} ORDER BY 1').fetchall()
    assert rows == [(1, 1, 10), (2, 2, 20), (3, 3, 30), (4, 4, 40)]
    assert any("'Year 2009', 'Year 2010' have the same header row" in r for r in info.quality.repairs)
    assert any("formula cells were read as the values saved" in r for r in info.quality.repairs)
    assert any("has 4 sheets; only 'Year 2009', 'Year 2010' were read (not read: 'Notes', 'Chart')" in w
               for w in info.quality.warnings)
