"""Ingest, text sniffing: the encoding (BOM, UTF-8, else Latin-1/Windows-1252), a UTF-8 copy for
single-byte files, the delimiter (or whitespace runs) and whether the first record is a header."""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.errors import InputError
from core.ingest.base import DELIMITERS, MISSING_TOKENS, SNIFF_BYTES, SNIFF_RECORDS
from core.store import new_id

_CP1252 = {  # bytes 0x80-0x9F as Windows-1252 reads them (Latin-1 makes them control characters)
    0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
    0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018,
    0x92: 0x2019, 0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC,
    0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
}


# text files
# =================================================================================================
@dataclass
class _Encoding:
    duckdb: str  # utf-8 | utf-16: what DuckDB reads (after transcoding, when needed)
    codec: str  # Python codec for the sample
    transcode: bool = False  # not UTF-8: copy as UTF-8 first (DuckDB's latin-1 refuses 0x80-0x9F)
    cp1252: bool = False  # bytes 0x80-0x9F are Windows-1252 characters (euro sign, curly quotes)
    note: str | None = None
    odd_quotes: bool = False  # an odd number of '"' in the file: a quoted field never ends
    quotes: int = 0  # '"' characters in the file (none: no quoted field, so no quoted line break)
    # False only when no field can start or end with whitespace (see _EdgeSpace): the staged copy
    # then needs no trimming. True when unsure.
    edge_space: bool = True


@dataclass
class _Dialect:
    kind: str  # "delimited" | "whitespace"
    delimiter: str
    records: list[list[str]]
    skip: int = 0  # lines skipped before the header (Excel's "sep=;" line)


def _detect_encoding(path: Path, source: str) -> _Encoding:
    """BOM, else UTF-8 when the whole file decodes, else Latin-1/Windows-1252. The same pass counts
    quote characters (an odd count means a quoted field never ends) and looks for whitespace at the
    edge of a field (_EdgeSpace). ASCII chunks, the usual case, skip the decoder and the C1 search:
    ASCII is valid UTF-8 and has no byte 0x80-0x9F."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            enc = _Encoding("utf-8", "utf-8-sig")
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _Encoding("utf-16", "utf-16")
        else:
            _check_not_binary(head, source)
            enc = None
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8, high_c1, quotes = enc is None, False, 0
        edges = _EdgeSpace(skip=len(codecs.BOM_UTF8) if enc is not None else 0)
        while chunk := fh.read(4 * 1024 * 1024):
            quotes += chunk.count(b'"')
            ascii_only = chunk.isascii()
            if utf8 and not (ascii_only and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not high_c1 and not ascii_only:
                high_c1 = re.search(rb"[\x80-\x9f]", chunk) is not None
            edges.feed(chunk, ascii_only)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if enc is None and utf8:
        enc = _Encoding("utf-8", "utf-8")
    elif enc is None:
        name = "Windows-1252" if high_c1 else "Latin-1"
        enc = _Encoding("utf-8", "latin-1", transcode=True, cp1252=high_c1,
                        note=f"'{source}' is not UTF-8; it was read as {name} text")
    enc.odd_quotes = quotes % 2 == 1
    enc.quotes = quotes
    enc.edge_space = quotes > 0 or edges.finish()
    return enc


class _EdgeSpace:
    """Whether some field may start or end with whitespace that the staged copy would trim
    (base._TRIM_RE: tab, line feed, form feed, carriage return, space, no-break space), fed the file
    chunk by chunk. Only answers for files without quotes, where a field is exactly the bytes between
    two delimiters or line breaks. Conservative: a tab, vertical tab or form feed anywhere, a byte
    0xA0 anywhere (a no-break space in UTF-8 or Latin-1), a carriage return not followed by a line
    feed, a space next to a line break, to any of the delimiters the sniffer may choose, or at
    either end of the file all count as "maybe"."""

    _PAIRS = tuple(
        p for d in (*(c.encode() for c in DELIMITERS), b"\n", b"\r") for p in (b" " + d, d + b" ")
    )

    def __init__(self, skip: int = 0) -> None:
        self.found = False
        self._skip = skip  # a byte order mark before the first field
        self._last = b""  # the previous chunk's last byte, for pairs across two chunks

    def feed(self, chunk: bytes, ascii_only: bool) -> None:
        if self.found or not chunk:
            return
        if not self._last:  # the first chunk: a space where the first field starts
            if chunk[self._skip:self._skip + 1] == b" ":
                self.found = True
                return
        self.found = (
            b"\t" in chunk or b"\x0b" in chunk or b"\x0c" in chunk
            or (not ascii_only and b"\xa0" in chunk)
            or self._lone_cr(chunk)
            or (b" " in chunk and any(p in chunk for p in self._PAIRS))
            or (self._last + chunk[:1]) in self._PAIRS
        )
        self._last = chunk[-1:]

    def _lone_cr(self, chunk: bytes) -> bool:
        if self._last == b"\r" and not chunk.startswith(b"\n"):
            return True
        crs = chunk.count(b"\r")
        return bool(crs) and crs - chunk.count(b"\r\n") - chunk.endswith(b"\r") > 0

    def finish(self) -> bool:
        """True when some field may carry whitespace at an edge (also: the file ends in a space
        or a carriage return)."""
        return self.found or self._last in (b" ", b"\r")


_CP1252_TABLE = {b: u for b, u in _CP1252.items()}


def _decode_single_byte(data: bytes, enc: _Encoding) -> str:
    """Latin-1, with 0x80-0x9F read as Windows-1252 where it defines them (undefined ones stay)."""
    text = data.decode("latin-1")
    return text.translate(_CP1252_TABLE) if enc.cp1252 else text


@contextmanager
def _utf8_copy(cur, path: Path, enc: _Encoding) -> Iterator[Path]:
    """The path DuckDB should read: the file itself, or a UTF-8 copy of a single-byte file in DuckDB's
    temp directory (inside the folders it may read), removed afterwards."""
    if not enc.transcode:
        yield path
        return
    try:
        tmp_dir = Path(cur.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] or path.parent)
    except duckdb.Error:
        tmp_dir = path.parent
    tmp_dir.mkdir(parents=True, exist_ok=True)
    copy = tmp_dir / f"ingest_{new_id()}.utf8.csv"
    try:
        with open(path, "rb") as src, open(copy, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(4 * 1024 * 1024):
                dst.write(_decode_single_byte(chunk, enc))
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def _check_not_binary(sample: bytes, source: str) -> None:
    if not sample.strip():
        raise InputError(f"'{source}' is empty (only blank lines); nothing to load")
    control = sum(1 for b in sample if b < 9 or b in (11, 14, 15) or 16 <= b < 32 or b == 127)
    if b"\x00" in sample or control > max(2, len(sample) // 100):
        raise InputError(
            f"'{source}' is not a readable table: it looks like a binary file, not CSV/text, "
            "an Excel .xlsx workbook or a Parquet file"
        )


def _read_sample(path: Path, enc: _Encoding) -> tuple[str, bool]:
    with open(path, "rb") as fh:
        data = fh.read(SNIFF_BYTES + 1)
    truncated = len(data) > SNIFF_BYTES
    head = data[:SNIFF_BYTES]
    text = _decode_single_byte(head, enc) if enc.transcode else head.decode(enc.codec, errors="replace")
    if truncated:  # drop the last, probably cut, line
        cut = max(text.rfind("\n"), 0)
        text = text[:cut]
    return text, truncated


def _split_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    out = []
    try:
        for rec in reader:
            if not rec or not any(f.strip() for f in rec):  # blank line
                continue
            out.append(rec)
            if len(out) >= SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    return out


def _consistency(records: list[list[str]]) -> tuple[float, int]:
    if not records:
        return 0.0, 0
    counts = Counter(len(r) for r in records)
    mode, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return n / len(records), mode


def _sniff(text: str) -> _Dialect:
    first, _, rest = text.partition("\n")
    m = re.fullmatch(r"\s*sep=(.)\s*", first)
    if m:
        d = m.group(1)
        return _Dialect("delimited", d, _split_records(rest, d), skip=1)
    best: tuple | None = None
    for priority, d in enumerate(DELIMITERS):
        records = _split_records(text, d)
        share, mode = _consistency(records)
        if mode < 2:
            continue
        key = (round(share, 2), mode, -priority)
        if best is None or key > best[0]:
            best = (key, d, records)
    ws_records = [ln.split() for ln in text.splitlines() if ln.strip()][:SNIFF_RECORDS]
    _, ws_mode = _consistency(ws_records)
    if best is not None and (best[0][0] >= 0.5 or ws_mode < 2):
        return _Dialect("delimited", best[1], best[2])
    if ws_mode >= 2:
        return _Dialect("whitespace", " ", ws_records)
    return _Dialect("delimited", ",", _split_records(text, ","))


_NUMBER_RE = re.compile(r"[+-]?(\d+([.,]\d+)*|\d*[.,]\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?", re.IGNORECASE)


def _is_missing(v: object) -> bool:
    return v is None or str(v).strip().lower() in MISSING_TOKENS


def _looks_numeric(v: object) -> bool:
    return v is not None and bool(_NUMBER_RE.fullmatch(str(v).strip()))


def detect_header(records: list[list[str]]) -> bool:
    """Whether the first record is a header (see the module docstring)."""
    if not records:
        return True
    first, rest = records[0], records[1:]
    present = [v for v in first if not _is_missing(v)]
    if present and all(_looks_numeric(v) for v in present):
        return False
    strong = weak = False
    for j, v in enumerate(first):
        col = [r[j] for r in rest if j < len(r) and not _is_missing(r[j])]
        if not col or _is_missing(v) or sum(map(_looks_numeric, col)) * 2 <= len(col):
            continue
        if _looks_numeric(v):
            weak = True
        else:
            strong = True
    return strong or not weak


def _columns_count(records: list[list[str]], header: bool) -> int:
    data = records[1:] if header else records
    _, mode = _consistency(data)
    if header and records:
        return max(len(records[0]), mode)
    return max(mode, 1)

