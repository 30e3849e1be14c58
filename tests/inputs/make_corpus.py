"""Writes the bad-input corpus into this folder (the files are committed; rerun only to change them).

    .venv/bin/python tests/inputs/make_corpus.py

Deterministic: the same bytes every run (fixed seeds, no timestamps in the xlsx/parquet metadata that
matter to the tests). What each file must do is in README.md and in tests/core/test_bad_inputs.py.
"""
from __future__ import annotations

import codecs
import datetime
import gzip
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n" + "".join(
    f"{i},{'Female' if i % 3 else 'Male'},{20 + i * 3 % 40},{15 + i * 7 % 60},{1 + i * 13 % 99}\n"
    for i in range(1, 21)
)


def text(name: str, content: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(content.encode(encoding))


def raw(name: str, content: bytes) -> None:
    (HERE / name).write_bytes(content)


def xlsx_bytes(rows: list[list], extra_sheets: int = 0, formulas: bool = False) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": datetime.datetime(2020, 1, 1)})  # fixed, so the bytes are stable
    ws = wb.add_worksheet("Customers")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    if formulas:
        # Total = Income * 2 with the cached result saved, as Excel would; never recalculated on read
        ws.write(0, len(rows[0]), "Double Income")
        for r in range(1, len(rows)):
            income = rows[r][3]
            ws.write_formula(r, len(rows[0]), f"=D{r + 1}*2", None, income * 2)
    for i in range(extra_sheets):
        other = wb.add_worksheet(f"Notes {i + 1}")
        other.write(0, 0, "not customer data")
    wb.close()
    return buf.getvalue()


def main() -> None:
    rows = [line.split(",") for line in SMALL.strip().splitlines()]
    typed = [rows[0]] + [[int(r[0]), r[1], int(r[2]), int(r[3]), int(r[4])] for r in rows[1:]]

    raw("empty.csv", b"")
    text("blank_lines_only.csv", "\n\n  \n\r\n")
    text("header_only.csv", "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n")
    text("single_row.csv", "CustomerID,Age,Annual Income (k$)\n1,30,55\n")
    rng = random.Random(42)
    raw("binary_garbage.csv", bytes(rng.randrange(256) for _ in range(4096)))
    raw("xlsx_named.csv", xlsx_bytes(typed))
    text("csv_named.xlsx", SMALL)
    text("semicolon.csv", SMALL.replace(",", ";"))
    text("tab_separated.csv", SMALL.replace(",", "\t"))
    text("pipe_separated.txt", SMALL.replace(",", "|"))
    text("whitespace_aligned.txt", "".join(
        "  ".join(f"{cell:>8}" for cell in line.split(",")) + "\r\n"
        for line in SMALL.replace("Annual Income (k$)", "Income").replace("Spending Score (1-100)", "Score")
        .replace("CustomerID", "ID").strip().splitlines()
    ))
    text("mixed_delimiters.csv", "id_code,Age,Spend\nA1,30,10\nA2;40;20\nA3,50,30\nA4,60,40\n")
    text("quoted_fields.csv",
         'CustomerID,Name,Comment,Spend\r\n'
         '1,"Smith, John","said ""hi""\r\nthen left",10\r\n'
         '2,"Doe; Jane","a|b\tc",20\r\n'
         '3,Plain,"",30\r\n')
    text("ragged_rows.csv", "CustomerID,Age,Spend\n1,30,10\n2,40\n3,50,30,EXTRA,MORE\n4,60,40\n5\n")
    raw("bom_utf8.csv", codecs.BOM_UTF8 + SMALL.encode())
    text("latin1.csv", "CustomerID;City;Spend\r\n1;Zürich;10\r\n2;Málaga;20\r\n3;Besançon;30\r\n", "latin-1")
    raw("cp1252_euro.csv", "Client ID,Note,Spend\n1,price in \u20ac,10\n2,\u201cquoted\u201d,20\n".encode("cp1252"))
    raw("utf16_excel_text.txt", SMALL.replace(",", "\t").encode("utf-16"))
    text("missing_tokens.csv",
         "CustomerID,Age,Spend,Region\n1,?,10,North\n2,NA,N/A,null\n3,,20,None\n4,null,nan,-\n5,40,-,South\n"
         "6,50,30,#N/A\n")
    text("thousands_separators.csv",
         'CustomerID,Annual Income,Spend\n1,"1,234.50",10\n2,"12,000",20\n3,"987",30\n4,"1,000,000.25",40\n')
    text("decimal_commas.csv", "CustomerID;Spend;Score\n1;12,5;1.000\n2;1.234,75;2\n3;0,25;3\n4;7;4\n")
    text("numeric_all_text.csv",
         "CustomerID,Income,Spend\n1,high,10\n2,low,20\n3,medium,30\n4,high,40\n")
    text("all_null_column.csv", "CustomerID,Notes,Spend\n1,,10\n2,NA,20\n3,,30\n4,?,40\n")
    text("duplicate_names.csv", "Spend,spend,Spend,Age\n1,2,3,30\n4,5,6,40\n7,8,9,50\n")
    text("blank_names.csv", ",Age,,Spend,\n1,30,a,10,\n2,40,b,20,\n3,50,c,30,\n")
    long = "L" * 300
    text("nasty_names.csv",
         f'"x""; DROP TABLE datasets; --","semi;colon","it\'s ""quoted""",__row,__segment,{long},Spend\n'
         "1,a,b,c,d,e,10\n2,f,g,h,i,j,20\n")
    header = ",".join(f"c{i}" for i in range(500))
    body = "".join(",".join(str((r * 31 + i * 7) % 97) for i in range(500)) + "\n" for r in range(20))
    text("wide_500_columns.csv", header + "\n" + body)
    text("constant_column.csv", "CustomerID,Country,Spend,Visits\n" + "".join(
        f"{i},Spain,{i * 10},{i % 4}\n" for i in range(1, 11)))
    text("few_distinct_points.csv", "Age,Spend\n" + "".join(
        f"{a},{s}\n" for a, s in [(30, 10), (40, 20), (50, 30)] * 7))
    text("huge_numbers.csv", "CustomerID,Spend,Visits\n1,1e300,1\n2,inf,2\n3,-inf,3\n4,1e400,4\n5,10,5\n6,-1e400,6\n")
    raw("formulas_and_sheets.xlsx", xlsx_bytes(typed, extra_sheets=2, formulas=True))
    raw("zip_not_xlsx.xlsx", _zip({"readme.txt": b"hello"}))
    raw("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    raw("gzipped.csv", gzip.compress(SMALL.encode(), mtime=0))
    text("unterminated_quote.csv", 'CustomerID,Spend\n1,10\n2,"20\n3,30\n')
    text("crlf_only.csv", SMALL.replace("\n", "\r\n"))
    text("sep_line_excel.csv", "sep=;\n" + SMALL.replace(",", ";"))
    text("trailing_delimiters.csv", "".join(line + ",\n" for line in SMALL.strip().splitlines()))
    text("exact_duplicates.csv", SMALL + "".join(SMALL.splitlines(keepends=True)[1:4]))
    _parquet()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info, data)
    return buf.getvalue()


def _parquet() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "CustomerID": pa.array([1, 2, 3, 4], pa.int64()),
            "Spend": pa.array([10.5, None, 30.25, float("inf")], pa.float64()),
            "Visits": pa.array([1, 2, 3, 4], pa.int32()),
            "Address": pa.array([{"city": "Oslo", "zip": 1}, {"city": "Rome", "zip": 2}, None,
                                 {"city": "Lima", "zip": 4}]),
            "Tags": pa.array([["a", "b"], [], None, ["c"]]),
            "Attrs": pa.array([[("k", 1)], [("k", 2)], None, []], pa.map_(pa.string(), pa.int64())),
            "Blob": pa.array([b"\x00", b"\x01", None, b"\x02"], pa.binary()),
            "Member": pa.array([True, False, True, None]),
        }
    )
    pq.write_table(table, HERE / "nested_types.parquet")


if __name__ == "__main__":
    main()
