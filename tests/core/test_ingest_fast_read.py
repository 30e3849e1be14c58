"""core/ingest fast read: a quote-free file is read in parallel, and one without whitespace at any
field's edge is numbered in place instead of copied trimmed. Both must stage exactly what the slow
path (sequential read, trimmed copy) stages; the whitespace check must never miss an edge."""
from __future__ import annotations

import random

import pytest

from core.ingest import stage_file
from core.ingest import text
from core.ingest.sniff import _detect_encoding, _EdgeSpace


def _edge(data: bytes, tmp_path) -> bool:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return _detect_encoding(path, "f.csv").edge_space


@pytest.mark.parametrize(
    ("data", "edge"),
    [
        (b"a,b\n1,2\n", False),
        (b"a,b\n1,John Smith\n", False),  # a space inside a value is no edge
        (b"a,b\r\n1,2\r\n", False),  # CRLF line ends are no whitespace in a field
        (b"\xef\xbb\xbfa,b\n1,2\n", False),  # a BOM
        (b"a,b\n1 ,2\n", True),
        (b"a,b\n1, 2\n", True),
        (b"a,b\n 1,2\n", True),
        (b" a,b\n1,2\n", True),
        (b"\xef\xbb\xbf a,b\n1,2\n", True),
        (b"a,b\n1,2 \n", True),
        (b"a,b\r\n1,2 \r\n", True),
        (b"a;b\n1 ;2\n", True),
        (b"a|b\n1| 2\n", True),
        (b"a,b\n1,x\xc2\xa0\n", True),  # no-break space
        (b"a,b\n1,2\t\n", True),
        (b"a,b\n1,2\x0c\n", True),
        (b"a,b\n1,2\r3,4\n", True),  # a lone carriage return
        (b'a,b\n"1",2\n', True),  # quoted fields: unsure
        (b"a,b\n1,2 ", True),  # a space at the end of the file
    ],
)
def test_edge_space_detection(data, edge, tmp_path):
    assert _edge(data, tmp_path) is edge


def test_edge_space_across_chunks():
    e = _EdgeSpace()
    e.feed(b"a,b\n1", True)
    e.feed(b" ,2\n", True)
    assert e.finish() is True
    e = _EdgeSpace()
    e.feed(b"a,b\r", True)
    e.feed(b"\n1,2\r\n", True)
    assert e.finish() is False
    e = _EdgeSpace()
    e.feed(b"a,b\r", True)
    e.feed(b"1,2\n", True)  # the carriage return was not followed by a line feed
    assert e.finish() is True


def _messy_lines(rng: random.Random, sep: str, spaces: bool) -> str:
    words = ["10001", "C5001", "2023-01-02", "3", "4.50", "", "na", "John Smith", "x-y", "00042", "1e3"]
    lines = [sep.join(["customer", "invoice", "date", "qty", "price", ""])]  # an unnamed last column
    for i in range(400):
        k = rng.choice([6, 6, 6, 6, 3, 8])  # short and long rows
        cells = [rng.choice(words) for _ in range(k)]
        if spaces and rng.random() < 0.2:
            cells[0] = " " + cells[0] + " "
        lines.append(sep.join(cells))
        if i % 97 == 0:
            lines.append("")  # a blank line
        if i % 53 == 0:
            lines.append(lines[-1])  # an exact repeat
    return "\n".join(lines) + "\n"


def _stage(store, path, table):
    with store.transaction() as cur:
        staged = stage_file(cur, path, table)
        rows = cur.execute(f"SELECT * FROM {table} ORDER BY __row").fetchall()
        cols = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
    return staged, cols, rows


@pytest.mark.parametrize("sep", [",", ";", "|"])
@pytest.mark.parametrize("spaces", [False, True])
def test_fast_read_stages_what_the_slow_path_stages(store, tmp_path, monkeypatch, sep, spaces):
    path = tmp_path / "messy.csv"
    path.write_text(_messy_lines(random.Random(7), sep, spaces), encoding="utf-8")
    enc = _detect_encoding(path, "messy.csv")
    assert enc.quotes == 0 and enc.edge_space is spaces
    fast = _stage(store, path, "fast")

    def slow_encoding(p, source):  # as if the file had quotes: sequential read, trimmed copy
        e = _detect_encoding(p, source)
        e.quotes, e.edge_space = 1, True
        return e

    monkeypatch.setattr(text, "_detect_encoding", slow_encoding)
    slow = _stage(store, path, "slow")
    assert fast[1] == slow[1]  # the same columns, in the same order (__row first)
    assert fast[1][0] == "__row"
    assert fast[2] == slow[2]
    assert fast[0].columns == slow[0].columns and fast[0].repairs == slow[0].repairs
    assert fast[0].rows == slow[0].rows == len(fast[2])
    assert fast[0].warnings == slow[0].warnings


def test_fast_read_rows_and_values_by_hand(store, tmp_path):
    """Independent expectation: the file's records by hand, numbered from 1 after the header."""
    path = tmp_path / "hand.csv"
    path.write_text("c1,b\nx,1\n\ny,2\nz\nw,3\n", encoding="utf-8")  # a column named like a raw one
    staged, cols, rows = _stage(store, path, "hand")
    assert cols == ["__row", "c1", "b"]
    # DuckDB's reader skips a blank line (no record), on the fast path as on the slow one
    assert rows == [(1, "x", "1"), (2, "y", "2"), (3, "z", None), (4, "w", "3")]
    assert staged.rows == 4
    path2 = tmp_path / "hand2.csv"
    path2.write_text("a,b\nx,1\ny,2\n", encoding="utf-8")
    staged, cols, rows = _stage(store, path2, "hand2")
    assert cols == ["__row", "a", "b"] and rows == [(1, "x", "1"), (2, "y", "2")]

