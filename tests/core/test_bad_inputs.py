"""The bad-input corpus (tests/inputs/, written by make_corpus.py, described in README.md) through
load_file: every file either loads with the expected report or fails with an InputError naming the
problem; after every file the Mall sample loaded before it is intact and no stray table is left."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.errors import InputError
from core.ingest import load_file
from core.models import CATEGORICAL, IDENTIFIER, NUMERIC
from core.store import quote_ident
from tests.conftest import INPUTS_DIR

SMALL_COLUMNS = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]
SMALL_ROLES = {"CustomerID": IDENTIFIER, "Gender": CATEGORICAL, "Age": NUMERIC,
               "Annual Income (k$)": NUMERIC, "Spending Score (1-100)": NUMERIC}
SMALL_LAST = {(20, "Gender"): "Female", (20, "Age"): 40, (20, "Annual Income (k$)"): 35,
              (20, "Spending Score (1-100)"): 63}  # data row 20 of make_corpus.SMALL


@dataclass
class Loads:
    rows: int  # rows_loaded
    columns: list[str] | int | None = None  # exact names, or how many
    roles: dict[str, str] = field(default_factory=dict)
    repairs: tuple[str, ...] = ()  # fragments, each found in some repair line
    warnings: tuple[str, ...] = ()  # fragments, each found in some warning
    findings: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, column) -> count
    missing: dict[str, int] | None = None  # exact
    rejected: dict[str, int] | None = None  # exact
    cells: dict[tuple[int, str], object] = field(default_factory=dict)  # (__row, column) -> value
    rows_read: int | None = None


@dataclass
class Fails:
    fragment: str


def small(**kw) -> Loads:
    base = dict(rows=20, columns=SMALL_COLUMNS, roles=SMALL_ROLES, cells=SMALL_LAST, missing={}, rejected={})
    base.update(kw)
    return Loads(**base)


MANIFEST: dict[str, Loads | Fails] = {
    "empty.csv": Fails("is empty (0 bytes)"),
    "blank_lines_only.csv": Fails("is empty (only blank lines)"),
    "header_only.csv": Fails("has a header but no data rows"),
    "binary_garbage.csv": Fails("looks like a binary file"),
    "old_excel.xls": Fails("old Excel .xls file"),
    "gzipped.csv": Fails("compressed (gzip)"),
    "zip_not_xlsx.xlsx": Fails("zip archive, not an Excel .xlsx workbook"),
    "single_row.csv": Loads(rows=1, warnings=("only 1 distinct point",)),
    "xlsx_named.csv": small(),
    "csv_named.xlsx": small(),
    "semicolon.csv": small(),
    "tab_separated.csv": small(),
    "pipe_separated.txt": small(),
    "sep_line_excel.csv": small(),
    "crlf_only.csv": small(),
    "bom_utf8.csv": small(),
    "utf16_excel_text.txt": small(),
    "trailing_delimiters.csv": small(repairs=("'column_6' has no name and no values",)),
    "exact_duplicates.csv": small(rows_read=23),
    "whitespace_aligned.txt": small(
        columns=["ID", "Gender", "Age", "Income", "Score"],
        roles={"ID": IDENTIFIER, "Gender": CATEGORICAL, "Age": NUMERIC, "Income": NUMERIC, "Score": NUMERIC},
        cells={(20, "Age"): 40, (20, "Score"): 63},
    ),
    "mixed_delimiters.csv": Loads(
        rows=4, warnings=("fewer fields than the 3 columns (first seen in data row 2)",),
        missing={"Age": 1, "Spend": 1}, cells={(2, "id_code"): "A2;40;20", (3, "Age"): 50},
    ),
    "quoted_fields.csv": Loads(
        rows=3, missing={"Comment": 1},
        cells={(1, "Name"): "Smith, John", (1, "Comment"): 'said "hi"\r\nthen left', (2, "Name"): "Doe; Jane",
               (2, "Comment"): "a|b\tc", (3, "Spend"): 30},
    ),
    "ragged_rows.csv": Loads(
        rows=5, warnings=("fewer fields than the 3 columns", "1 row had more fields than the 3 columns (data rows 3)"),
        missing={"Age": 1, "Spend": 2}, cells={(3, "Spend"): 30, (2, "Spend"): None},
    ),
    "latin1.csv": Loads(rows=3, warnings=("read as Latin-1",), cells={(1, "City"): "Zürich", (3, "City"): "Besançon"}),
    "cp1252_euro.csv": Loads(rows=2, warnings=("read as Windows-1252",),
                             cells={(1, "Note"): "price in €", (2, "Note"): "“quoted”"}),
    "missing_tokens.csv": Loads(
        rows=6, roles={"Age": NUMERIC, "Spend": NUMERIC, "Region": CATEGORICAL},
        missing={"Age": 4, "Spend": 3, "Region": 4}, rejected={},
    ),
    "thousands_separators.csv": Loads(
        rows=4, roles={"Annual Income": NUMERIC}, repairs=("'Annual Income' uses thousands separators",),
        cells={(1, "Annual Income"): 1234.5, (2, "Annual Income"): 12000.0, (4, "Annual Income"): 1000000.25},
        rejected={},
    ),
    "decimal_commas.csv": Loads(
        rows=4, roles={"Spend": NUMERIC}, repairs=("'Spend' uses decimal commas",),
        cells={(1, "Spend"): 12.5, (2, "Spend"): 1234.75, (3, "Spend"): 0.25}, rejected={},
    ),
    "numeric_all_text.csv": Loads(
        rows=4, roles={"Income": CATEGORICAL, "Spend": NUMERIC},
        warnings=("'Income' sounds numeric but holds only text",),
    ),
    "all_null_column.csv": Loads(
        rows=4, roles={"Notes": CATEGORICAL}, warnings=("'Notes' is empty",), missing={"Notes": 4},
    ),
    "duplicate_names.csv": Loads(
        rows=3, columns=["Spend", "spend_2", "Spend_3", "Age"],
        repairs=("'spend' (column 2) renamed to 'spend_2'", "'Spend' (column 3) renamed to 'Spend_3'"),
        cells={(1, "spend_2"): 2, (1, "Spend_3"): 3},
    ),
    "blank_names.csv": Loads(
        rows=3, columns=["column_1", "Age", "column_3", "Spend"],
        repairs=("blank column name 1 renamed to 'column_1'", "blank column name 3 renamed to 'column_3'",
                 "'column_5' has no name and no values"),
    ),
    "nasty_names.csv": Loads(
        rows=2,
        columns=['x"; DROP TABLE datasets; --', "semi;colon", 'it\'s "quoted"', "row", "segment", "L" * 120,
                 "Spend"],
        repairs=("'__row' is reserved", "'__segment' is reserved", "(300 characters) truncated to 120"),
        cells={(1, 'x"; DROP TABLE datasets; --'): 1, (2, "semi;colon"): "f", (2, "L" * 120): "j"},
    ),
    "wide_500_columns.csv": Loads(rows=20, columns=500, cells={(20, "c499"): (19 * 31 + 499 * 7) % 97}),
    "constant_column.csv": Loads(rows=10, findings={("constant_column", "Country"): 10}),
    "few_distinct_points.csv": Loads(rows=3, rows_read=21, warnings=("only 3 distinct points",)),
    "huge_numbers.csv": Loads(
        rows=6, findings={("not_finite", "Spend"): 5}, missing={"Spend": 5},
        cells={(1, "Spend"): None, (2, "Spend"): None, (5, "Spend"): 10.0},
    ),
    "formulas_and_sheets.xlsx": small(
        columns=SMALL_COLUMNS + ["Double Income"],
        repairs=("formula cells were read as the values saved",),
        warnings=("has 3 sheets; only the first, 'Customers', was read", "'Notes 1', 'Notes 2'"),
        cells={**SMALL_LAST, (20, "Double Income"): 70},
    ),
    "nested_types.parquet": Loads(
        rows=4,
        columns=["CustomerID", "Spend", "Visits", "Address", "Tags", "Attrs", "Member"],
        roles={"CustomerID": IDENTIFIER, "Spend": NUMERIC, "Visits": NUMERIC, "Address": CATEGORICAL,
               "Member": CATEGORICAL},
        repairs=("nested column 'Address'", "nested column 'Tags'", "nested column 'Attrs'",
                 "binary column 'Blob'"),
        findings={("not_finite", "Spend"): 1},
        missing={"Spend": 2, "Address": 1, "Tags": 1, "Attrs": 1, "Member": 1},
        cells={(1, "Spend"): 10.5, (1, "Tags"): "[a, b]", (2, "Member"): "false"},
    ),
    "unterminated_quote.csv": Loads(rows=2, warnings=("unterminated quote",)),
}


def corpus_files() -> list[str]:
    return sorted(p.name for p in INPUTS_DIR.iterdir() if p.is_file() and p.name not in ("README.md", "make_corpus.py"))


def test_every_corpus_file_has_an_expectation():
    assert sorted(MANIFEST) == corpus_files()


def _assert_mall_intact(store, mall) -> None:
    listed = {d.dataset_id: d for d in store.list_datasets()}
    assert mall.dataset_id in listed and listed[mall.dataset_id].rows_loaded == 200
    with store.cursor() as cur:
        assert cur.execute(f"SELECT count(*), sum(\"Age\") FROM {mall.table}").fetchone() == (200, 7770)
        ds_tables = {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ds\\_%' ESCAPE '\\'").fetchall()}
        stray = {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name NOT IN "
            "('datasets', 'rejects', 'issues', 'runs') AND table_name NOT LIKE 'ds\\_%' ESCAPE '\\' "
            "AND table_name NOT LIKE 'run\\_%' ESCAPE '\\'").fetchall()}
        orphans = cur.execute(
            "SELECT count(*) FROM (SELECT dataset_id FROM issues UNION ALL SELECT dataset_id FROM rejects) "
            "WHERE dataset_id NOT IN (SELECT dataset_id FROM datasets)").fetchone()[0]
    assert ds_tables == {f"ds_{i}" for i in listed}
    assert stray == set() and orphans == 0


def _check_load(store, info, exp: Loads) -> None:
    q = info.quality
    assert info.rows_loaded == q.rows_loaded == exp.rows
    if exp.rows_read is not None:
        assert info.rows_read == exp.rows_read
        assert q.duplicates_removed == exp.rows_read - exp.rows
    names = info.names()
    if isinstance(exp.columns, int):
        assert len(names) == exp.columns
    elif exp.columns is not None:
        assert names == exp.columns
    for col, role in exp.roles.items():
        assert info.column(col).role == role, col
    for frag in exp.repairs:
        assert any(frag in r for r in q.repairs), (frag, q.repairs)
    for frag in exp.warnings:
        assert any(frag in w for w in q.warnings), (frag, q.warnings)
    got = {(f.rule, f.column): f.count for f in q.findings}
    for key, count in exp.findings.items():
        assert got.get(key) == count, (key, got)
    if exp.missing is not None:
        assert q.missing == exp.missing
    if exp.rejected is not None:
        assert q.rejected_values == exp.rejected
    with store.cursor() as cur:
        assert cur.execute(f"SELECT count(*) FROM {info.table}").fetchone()[0] == exp.rows
        for (row, col), value in exp.cells.items():
            got_value = cur.execute(
                f"SELECT {quote_ident(col, names)} FROM {info.table} WHERE __row = ?", [row]
            ).fetchone()[0]
            assert got_value == value, (row, col, got_value)
    # the catalogue round-trips what load_file returned
    assert store.get_dataset(info.dataset_id).quality == q


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file(store, mall_csv, name):
    mall = load_file(store, mall_csv)
    exp = MANIFEST[name]
    path = INPUTS_DIR / name
    if isinstance(exp, Fails):
        with pytest.raises(InputError) as err:
            load_file(store, path)
        assert exp.fragment in str(err.value)
        assert "Traceback" not in str(err.value)
        assert len(store.list_datasets()) == 1
    else:
        info = load_file(store, path)
        _check_load(store, info, exp)
        assert len(store.list_datasets()) == 2
    _assert_mall_intact(store, mall)


def test_whole_corpus_in_one_store(store, mall_csv):
    """Every file after another in one database: failures leave nothing, loads accumulate."""
    mall = load_file(store, mall_csv)
    loaded = 1
    for name in corpus_files():
        try:
            load_file(store, INPUTS_DIR / name)
            loaded += 1
        except InputError:
            assert isinstance(MANIFEST[name], Fails), name
        _assert_mall_intact(store, mall)
    assert len(store.list_datasets()) == loaded == 1 + sum(isinstance(e, Loads) for e in MANIFEST.values())
    with store.cursor() as cur:  # the SQL in a column name did not run
        assert cur.execute("SELECT count(*) FROM datasets").fetchone()[0] == loaded


def test_missing_file(store):
    with pytest.raises(InputError, match="file not found: 'nope.csv'"):
        load_file(store, INPUTS_DIR / "nope.csv")


def test_ragged_extra_fields_are_in_rejects(store):
    info = load_file(store, INPUTS_DIR / "ragged_rows.csv")
    with store.cursor() as cur:
        rows = cur.execute(
            'SELECT "row", column_name, raw_value FROM rejects WHERE dataset_id = ?', [info.dataset_id]
        ).fetchall()
    assert rows == [(3, None, "EXTRA")]
