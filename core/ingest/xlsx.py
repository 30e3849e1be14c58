"""Ingest, Excel .xlsx: the first sheet's saved cell values (formulas never recalculated) staged as
text with `__row`. Later sheets whose header row is the same as the first sheet's are the same table
split across sheets (a year per sheet, or a table past Excel's row limit, as our own exports continue
on "Customers (2)"): their rows follow the first sheet's, numbered on. Other sheets are named in the
warnings."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from core.errors import InputError
from core.ingest.base import SNIFF_RECORDS, StagedFile, _finish_staging, _first_line, _reading, _short, _unnamed, sanitize_names
from core.ingest.sniff import detect_header
from core.models import ROW
from core.store import quote_ident
import python_calamine
import pyarrow as pa

def _stage_xlsx(cur, path: Path, table: str, source: str, header: bool | None) -> StagedFile:
    try:
        with zipfile.ZipFile(path) as zf:
            parts = set(zf.namelist())
            if "xl/workbook.xml" not in parts:
                raise InputError(f"'{source}' is a zip archive, not an Excel .xlsx workbook")
    except zipfile.BadZipFile as exc:
        raise InputError(f"could not read '{source}' as an Excel workbook: {_first_line(exc)}") from exc
    with _reading(source, "an Excel workbook"):
        with open(path, "rb") as fh:
            wb = python_calamine.CalamineWorkbook.from_filelike(fh)
        sheets = list(wb.sheet_names)
        if not sheets:
            raise InputError(f"'{source}' has no sheets")
        grid = wb.get_sheet_by_index(0).to_python(skip_empty_area=True)
    rows = _sheet_rows(grid)
    if not rows:
        raise InputError(f"the first sheet '{_short(sheets[0], 40)}' of '{source}' is empty; nothing to load")
    if header is None:
        header = detect_header([[v or "" for v in r] for r in rows[:SNIFF_RECORDS]])
    stacked = [0] + (_same_header_sheets(wb, len(sheets), _header_of(rows[0])) if header else [])
    for i in stacked[1:]:
        with _reading(source, "an Excel workbook"):
            rows += _sheet_rows(wb.get_sheet_by_index(i).to_python(skip_empty_area=True))[1:]
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    with zipfile.ZipFile(path) as zf:
        has_formulas = _has_formulas(zf, _sheet_parts(zf, parts, stacked))
    names, repairs = sanitize_names(rows[0] if header else [None] * width, header)
    warnings = _sheet_notes(source, sheets, stacked, repairs)
    if has_formulas:
        repairs.append("formula cells were read as the values saved in the workbook (not recalculated)")
    data = rows[1:] if header else rows

    arrays = [pa.array(range(1, len(data) + 1), type=pa.int64())]
    arrays += [pa.array([r[j] for r in data], type=pa.string()) for j in range(width)]
    arrow = pa.Table.from_arrays(arrays, names=[ROW] + [f"c{j}" for j in range(width)])
    view = f"{table}__arrow"
    select = ", ".join(f"c{j} AS {quote_ident(nm)}" for j, nm in enumerate(names))
    cur.register(view, arrow)
    try:
        cur.execute(f"CREATE TEMP TABLE {table} AS SELECT {ROW}, {select} FROM {view} ORDER BY {ROW}")
    finally:
        cur.unregister(view)
    staged = StagedFile(table, names, file_format="xlsx", header=header, repairs=repairs, warnings=warnings,
                        trimmed=True)
    _finish_staging(cur, staged, _unnamed(names, rows[0]) if header else [])
    return staged


def _sheet_rows(grid: list[list]) -> list[list[str | None]]:
    """A sheet's cells as text, without its trailing empty rows."""
    rows = [[_cell_text(v) for v in r] for r in grid]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


def _same_header_sheets(wb, count: int, header: list[str | None]) -> list[int]:
    """The indexes of the later sheets whose first row is `header` (a chart sheet, or a sheet that
    cannot be read, is not one of them: it stays among the sheets not read, as before)."""
    same: list[int] = []
    if not header:
        return same
    for i in range(1, count):
        try:
            top = wb.get_sheet_by_index(i).to_python(skip_empty_area=True, nrows=1)
        except python_calamine.CalamineError:
            continue
        if top and _header_of(top[0]) == header:
            same.append(i)
    return same


def _header_of(row: list) -> list[str | None]:
    """A header row as text, without trailing empty cells."""
    cells = [_cell_text(v) for v in row]
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def _sheet_notes(source: str, sheets: list[str], stacked: list[int], repairs: list[str]) -> list[str]:
    """The repair line for sheets read as one table, and the warning naming the sheets not read."""
    def named(idx) -> str:
        return ", ".join(f"'{_short(sheets[i], 40)}'" for i in idx[:5]) + (" ..." if len(idx) > 5 else "")

    if len(stacked) > 1:
        repairs.append(f"the sheets {named(stacked)} have the same header row: their rows were read as one "
                       "table, in sheet order (rows are numbered on from one sheet to the next)")
    unread = [i for i in range(len(sheets)) if i not in stacked]
    if not unread:
        return []
    read = f"only the first, '{_short(sheets[0], 40)}', was" if len(stacked) == 1 else f"only {named(stacked)} were"
    return [f"'{source}' has {len(sheets)} sheets; {read} read (not read: {named(unread)})"]


def _sheet_parts(zf: zipfile.ZipFile, parts: set[str], indexes: list[int]) -> list[str]:
    """The zip parts of the workbook's sheets at `indexes` (workbook.xml order, via its
    relationships); all worksheet parts when that cannot be worked out."""
    every = sorted(p for p in parts if p.startswith("xl/worksheets/") and p.endswith(".xml"))
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rids = re.findall(r'<(?:\w+:)?sheet\b[^>]*\br:id="([^"]+)"', book)
        found = []
        for i in indexes:
            rel = re.search(rf'<Relationship\b[^>]*\bId="{re.escape(rids[i])}"[^>]*>', rels).group(0)
            target = re.search(r'Target="([^"]+)"', rel).group(1)
            found.append(target.lstrip("/") if target.startswith("/") else "xl/" + target)
    except (KeyError, AttributeError, IndexError):
        return every
    return found if all(p in parts for p in found) else every


def _has_formulas(zf: zipfile.ZipFile, sheet_parts: list[str]) -> bool:
    for part in sheet_parts:
        with zf.open(part) as fh:
            tail = b""
            while chunk := fh.read(1 << 20):
                if re.search(rb"<f[ >/]", tail + chunk):
                    return True
                tail = chunk[-8:]
    return False


def _cell_text(v: object) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v).strip() or None

