"""Excel export of the customers a filter selects, with the segment profiles, the data-quality report
and the run's parameters, written by xlsxwriter in constant-memory mode (memory stays flat: rows are
fetched from DuckDB in chunks and each sheet row is flushed to disk as soon as it is complete).

Safety: data never becomes a formula or a link.
- Every text value is written with write_string (the workbook also has strings_to_formulas,
  strings_to_urls and strings_to_numbers off); text starting with = + - @ tab or CR also gets
  Excel's quote prefix, so editing the cell cannot turn it into a formula.
- Text shaped like "<r>...</r>", which xlsxwriter copies into the XML unescaped in constant-memory
  mode, is written as a two-run rich string instead, which escapes it.
- NaN and infinities are left blank; integers of more than 15 digits (which Excel would round) are
  written as text; text longer than Excel's 32,767 characters is cut, ends with TRUNCATED_NOTE, and
  is counted (ExportResult.truncated_cells and a line on the Run sheet).
- Rows beyond one sheet's capacity (SHEET_ROW_LIMIT) continue on "Customers (2)", "Customers (3)", ...
- A path target is written to a temporary file and renamed at the end: a failed export never leaves
  a half-written workbook behind.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
from xlsxwriter.worksheet import CellNumberTuple, CellStringTuple, Worksheet

from core.filled import FILLED, filled_columns, filled_export_sql
from core.filters import FilterSpec
from core.models import ROW, SEGMENT
from core.profiling import profile_segments
from core.roles import column_roles
from core.store import Store, quote_ident
from core.views import RunContext, describe_filter, run_where

SHEET_ROW_LIMIT = 1_048_576  # rows per sheet, header included (Excel's limit); tests lower it
CELL_CHAR_LIMIT = 32_767  # characters (UTF-16 code units) per cell
FETCH_ROWS = 5_000  # rows fetched from DuckDB per round trip
TRUNCATED_NOTE = " …[truncated]"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(_FORMULA_STARTS)
_SPECIAL_CHARS = _FORMULA_CHARS | {"<"}  # first characters that need _Cells.text
_EXACT_INT = 10**15  # Excel shows 15 significant digits; larger integers are written as text
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": False,
}


@dataclass
class ExportResult:
    rows: int  # customers written (over all Customers sheets)
    sheets: list[str] = field(default_factory=list)
    truncated_cells: int = 0  # text values cut to Excel's cell limit
    path: str | None = None  # the file written, None for a file object


class _Cells:
    """Writes single values safely and counts what it had to truncate."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.bold = workbook.add_format({"bold": True})
        self.bold_quoted = workbook.add_format({"bold": True, "quote_prefix": True})
        self.plain = workbook.add_format({})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.truncated = 0

    def text(self, ws, r: int, c: int, value: str, fmt=None) -> None:
        if len(value) > CELL_CHAR_LIMIT // 2:
            value = self._fit(value)
        if value[:1] in _FORMULA_CHARS:
            fmt = self.quoted if fmt is None else self.bold_quoted
        elif value.startswith("<r>") and value.endswith("</r>"):
            # In constant_memory mode xlsxwriter copies text shaped like rich-text XML into the sheet
            # unescaped (it would break the file or inject cells); as a real two-run rich string
            # the same characters are escaped and read back unchanged.
            args = [self.plain, value[:1], value[1:]] + ([fmt] if fmt is not None else [])
            ws.write_rich_string(r, c, *args)
            return
        ws.write_string(r, c, value, fmt)

    def _fit(self, value: str) -> str:
        units = len(value.encode("utf-16-le")) // 2
        if units <= CELL_CHAR_LIMIT:
            return value
        self.truncated += 1
        keep = CELL_CHAR_LIMIT - len(TRUNCATED_NOTE.encode("utf-16-le")) // 2
        head = value.encode("utf-16-le")[: keep * 2].decode("utf-16-le", errors="ignore")
        return head + TRUNCATED_NOTE

    def number(self, ws, r: int, c: int, value: Any, fmt=None) -> None:
        if value is None:
            return
        if isinstance(value, int) and not isinstance(value, bool):
            if -_EXACT_INT < value < _EXACT_INT:
                ws.write_number(r, c, value, fmt)
            else:
                self.text(ws, r, c, str(value))
            return
        f = float(value)
        if math.isfinite(f):
            ws.write_number(r, c, f, fmt)

    def value(self, ws, r: int, c: int, value: Any, fmt=None) -> None:
        """Any Python value: numbers as numbers, everything else as text."""
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, (int, float, decimal.Decimal)):
            self.number(ws, r, c, value, fmt)
        elif isinstance(value, str):
            self.text(ws, r, c, value, fmt)
        elif isinstance(value, (list, tuple, dict)):
            self.text(ws, r, c, json.dumps(value, default=str, ensure_ascii=False), fmt)
        elif isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
            self.text(ws, r, c, value.isoformat(), fmt)
        else:
            self.text(ws, r, c, str(value), fmt)

    def rows(self, ws, start: int, rows: list[list[Any]], header: bool = False) -> int:
        """Write a small table from row `start`; returns the next free row."""
        r = start
        for i, row in enumerate(rows):
            fmt = self.bold if header and i == 0 else None
            for c, v in enumerate(row):
                self.value(ws, r, c, v, fmt)
            r += 1
        return r


class _FastRowsWorksheet(Worksheet):
    """The Customers sheet: in constant_memory mode, a finished row of plain numbers and strings is
    serialised in one write instead of one per cell and tag (a third less time for big exports).

    Cells are still stored by write_number / write_string; only the XML of a flushed row is built
    here, byte for byte as xlsxwriter's _write_cell builds it (tests/core/test_export.py compares the
    two). Any other cell type goes through xlsxwriter's own writer. Used with the xlsxwriter versions
    it was checked against (FAST_ROWS_VERSIONS), otherwise the stock Worksheet does the work.
    """

    def _write_single_row(self, current_row_num: int = 0) -> None:
        row_num = self.previous_row
        self.previous_row = current_row_num
        cells = self.table[row_num]
        if row_num in self.row_info or row_num in self.comments or cells:
            if not cells:
                self._write_empty_row(row_num, None, self.row_info[row_num])
            else:
                info = self.row_info.get(row_num)
                self._write_row(row_num, None, info)
                row_style = f' s="{info.row_format._get_xf_index()}"' if info and info.row_format else None
                number = str(row_num + 1)
                out: list[str] = []
                for col_num in range(self.dim_colmin, self.dim_colmax + 1):
                    cell = cells.get(col_num)
                    if cell is None:
                        continue
                    kind = cell.__class__
                    if kind is not CellNumberTuple and kind is not CellStringTuple:
                        self.fh.write("".join(out))
                        out = []
                        self._write_cell(row_num, col_num, cell)
                        continue
                    # the s attribute: cell format, else row format, else column format
                    if cell.format:
                        style = f' s="{cell.format._get_xf_index()}"'
                    elif row_style is not None:
                        style = row_style
                    else:
                        style = self._column_style(col_num)
                    ref = _COLUMN_NAMES.get(col_num) or _COLUMN_NAMES.setdefault(col_num, xl_col_to_name(col_num))
                    if kind is CellNumberTuple:
                        out.append(f'<c r="{ref}{number}"{style}><v>{cell.number:.16G}</v></c>')
                        continue
                    text = cell.string
                    if _XML_CONTROL.search(text):
                        text = self._escape_control_characters(text)
                    if text.startswith("<r>") and text.endswith("</r>"):  # xlsxwriter's rich-string path
                        self.fh.write("".join(out))
                        out = []
                        self._write_cell(row_num, col_num, cell)
                        continue
                    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
                    if _XML_SPECIAL.search(text):
                        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    out.append(f'<c r="{ref}{number}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>')
                self.fh.write("".join(out))
                self._xml_end_tag("row")
        self.table.clear()

    def _column_style(self, col: int) -> str:
        info = self.col_info.get(col)
        cached = self.__dict__.setdefault("_column_styles", {}).get(col)
        if cached is not None and cached[0] is info:
            return cached[1]
        fmt = info.column_format if info is not None else None
        style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        self._column_styles[col] = (info, style)
        return style


FAST_ROWS_VERSIONS = ("3.3.",)
_COLUMN_NAMES: dict[int, str] = {}
_XML_CONTROL = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # as xlsxwriter escapes
_XML_SPECIAL = re.compile("[&<>]")


def _customers_sheet_class() -> type[Worksheet] | None:
    return _FastRowsWorksheet if xlsxwriter.__version__.startswith(FAST_ROWS_VERSIONS) else None


def export_workbook(store: Store, spec: FilterSpec, out: str | os.PathLike | BinaryIO) -> ExportResult:
    """Write the selection of `spec` to an .xlsx at `out` (a path or a binary file object)."""
    ctx, where, params = run_where(store, spec)
    started = _dt.datetime.now().astimezone()
    is_path = isinstance(out, (str, os.PathLike))
    final = Path(out) if is_path else None
    with tempfile.TemporaryDirectory(prefix="xlsx-", dir=_tmp_dir(store)) as tmp:
        target: str | BinaryIO = os.path.join(tmp, "export.xlsx") if is_path else out
        workbook = xlsxwriter.Workbook(target, {**WORKBOOK_OPTIONS, "tmpdir": tmp})
        cells = _Cells(workbook)
        result = ExportResult(rows=0, path=str(final) if final else None)
        _customers(store, ctx, where, params, workbook, cells, result, spec.transition)
        _segments(store, spec, ctx, workbook, cells, result)
        _quality(ctx, workbook, cells, result)
        _run_sheet(store, spec, ctx, workbook, cells, result, started)
        result.truncated_cells = cells.truncated
        workbook.close()
        if final is not None:
            final.parent.mkdir(parents=True, exist_ok=True)
            if _same_device(tmp, final.parent):
                os.replace(target, final)
            else:
                _copy(target, final)
    return result


def _tmp_dir(store: Store) -> str | None:
    d = store.path.parent / "tmp"
    return str(d) if d.is_dir() else None


def _same_device(a: str, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _copy(src: str, dst: Path) -> None:
    part = dst.with_name(dst.name + ".part")
    with open(src, "rb") as fi, open(part, "wb") as fo:
        while block := fi.read(1 << 20):
            fo.write(block)
    os.replace(part, dst)


# -- Customers ----------------------------------------------------------------------------------
def _customer_columns(ctx: RunContext, transition=None) -> tuple[list[str], list[str], list[str], list]:
    """(SQL select list, headers, kinds, the select list's bound values) of the Customers sheet: the id
    (or the row number), then the segment and its name, then (with a transition filter,
    core.model_filters.Transition: every row came from one segment of the other run) "Previous segment"
    and "Previous segment name", then the file's columns, then "Filled" when the run filled any value
    (a column of customer_source's join)."""
    select, headers, kinds = [], [], []
    if not ctx.identifiers:
        select.append(ROW)
        headers.append("Row in file")
        kinds.append("number")
    lead = [c for c in ctx.columns if c in ctx.identifiers]
    for col in lead + [c for c in ctx.columns if c not in ctx.identifiers]:
        select.append(quote_ident(col, ctx.columns))
        headers.append(col)
        kinds.append(_kind(ctx, col))
    at = len(lead) if lead else 1
    _segment_columns(select, headers, kinds, at=at)
    values: list = [ctx.segment_names]
    if transition is not None:
        at += 2
        select[at:at] = ["?::INTEGER", "?::VARCHAR"]
        headers[at:at] = ["Previous segment", "Previous segment name"]
        kinds[at:at] = ["number", "text"]
        values += [transition.from_segment, transition.from_name]
    if filled_columns(ctx.run, ctx.dataset.names()):
        select.append(FILLED)
        headers.append("Filled")
        kinds.append("text")
    return select, headers, kinds, values


def customer_source(ctx: RunContext) -> tuple[str, list]:
    """The FROM of the Customers rows and its bound values: the run table, joined by __row to the filled
    fields from the dataset table (which keeps the file's NULLs) when the run filled any value."""
    filled_sql, filled_params = filled_export_sql(ctx.run, ctx.dataset.names())
    if not filled_sql:
        return ctx.table, []
    return f"{ctx.table} LEFT JOIN ({filled_sql}) USING ({ROW})", filled_params


def _segment_columns(select: list, headers: list, kinds: list, at: int) -> None:
    """Segment and Segment name at position `at`: right after the id columns (or the row number)."""
    select[at:at] = [SEGMENT, f"(?::VARCHAR[])[{SEGMENT}]"]
    headers[at:at] = ["Segment", "Segment name"]
    kinds[at:at] = ["number", "text"]


def _kind(ctx: RunContext, col: str) -> str:
    dtype = ctx.types.get(col, "VARCHAR").upper()
    if col in ctx.identifiers and not dtype.startswith(_NUMERIC_TYPES):
        return "text"
    if dtype.startswith(_NUMERIC_TYPES) or dtype.startswith("DECIMAL"):
        return "number"
    if dtype == "BOOLEAN":
        return "value"
    return "text" if dtype == "VARCHAR" else "value"


def _customers(store, ctx, where, params, workbook, cells: _Cells, result: ExportResult,
               transition=None) -> None:
    select, headers, kinds, values = _customer_columns(ctx, transition)
    per_sheet = max(1, SHEET_ROW_LIMIT - 1)
    text_cols = [i for i, k in enumerate(kinds) if k == "text"]
    number_cols = [i for i, k in enumerate(kinds) if k == "number"]
    value_cols = [i for i, k in enumerate(kinds) if k == "value"]
    sheets = 1
    ws = _new_customer_sheet(workbook, cells, headers, sheets)
    result.sheets.append(ws.name)
    write_string, write_number = _cell_writers(ws)
    r = 0  # last row written on the current sheet
    source, source_params = customer_source(ctx)
    with store.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(select)} FROM {source} WHERE {where} ORDER BY {ROW}",
            values + source_params + params,
        )
        while chunk := cur.fetchmany(FETCH_ROWS):
            for row in chunk:
                if r >= per_sheet:
                    ws.autofilter(0, 0, r, len(headers) - 1)
                    sheets += 1
                    ws = _new_customer_sheet(workbook, cells, headers, sheets)
                    result.sheets.append(ws.name)
                    write_string, write_number = _cell_writers(ws)
                    r = 0
                r += 1
                # The common cases inline (this loop writes millions of cells); the rest via _Cells.
                for c in number_cols:
                    v = row[c]
                    if v.__class__ is float:
                        if v - v == 0.0:  # finite; NaN and infinities stay blank
                            write_number(r, c, v)
                    elif v.__class__ is int and -_EXACT_INT < v < _EXACT_INT:
                        write_number(r, c, v)
                    elif v is not None:
                        cells.number(ws, r, c, v)
                for c in text_cols:
                    v = row[c]
                    if v is None:
                        continue
                    if v.__class__ is not str:
                        v = str(v)
                    if len(v) > CELL_CHAR_LIMIT // 2 or v[:1] in _SPECIAL_CHARS:
                        cells.text(ws, r, c, v)
                    else:
                        write_string(r, c, v)
                for c in value_cols:
                    cells.value(ws, r, c, row[c])
            result.rows += len(chunk)
    ws.autofilter(0, 0, r, len(headers) - 1)


def _cell_writers(ws):
    """write_string and write_number of a Customers sheet. On the checked xlsxwriter versions these
    are their undecorated forms (the same functions minus the "A1" argument parsing, which the
    integer row and column here never need)."""
    if isinstance(ws, _FastRowsWorksheet):
        return ws._write_string, ws._write_number
    return ws.write_string, ws.write_number


def _new_customer_sheet(workbook, cells: _Cells, headers: list[str], n: int):
    ws = workbook.add_worksheet("Customers" if n == 1 else f"Customers ({n})",
                                worksheet_class=_customers_sheet_class())
    for c, h in enumerate(headers):
        cells.text(ws, 0, c, h, cells.bold)
        ws.set_column(c, c, min(40, max(10, len(h) + 2)))
    ws.freeze_panes(1, 0)
    return ws


# -- Segments -----------------------------------------------------------------------------------
def _segments(store, spec, ctx: RunContext, workbook, cells: _Cells, result: ExportResult) -> None:
    profiles = profile_segments(store, spec)
    ws = workbook.add_worksheet("Segments")
    result.sheets.append(ws.name)
    features = list(dict.fromkeys(f for p in profiles for f in p.means))
    header = ["Segment", "Name", "Customers", "Share of selection"]
    header += [f"Mean {f}" for f in features]
    header += [f"Median {f}" for f in features]
    header += [f"{f}: mean minus run mean" for f in features]
    header += ["Suggested action", "Drivers", "Rule (SQL over the Customers sheet)", "Rule precision",
               "Rule recall", "Stability", "Outlier group"]
    fitted = {s.id: s for s in ctx.run.segments}
    rows: list[list[Any]] = [header]
    for p in profiles:
        seg = fitted.get(p.segment)
        rows.append(
            [p.segment, p.name, p.size, p.share]
            + [p.means.get(f) for f in features]
            + [p.medians.get(f) for f in features]
            + [p.diffs.get(f) for f in features]
            + [p.action]
            + _explanation(seg)
        )
    cells.rows(ws, 0, rows, header=True)
    ws.set_column(0, 0, 9)
    ws.set_column(1, 1, 30)
    action_col = len(header) - 7
    ws.set_column(2, action_col - 1, 14)
    ws.set_column(action_col, action_col + 2, 50)
    ws.set_column(action_col + 3, action_col + 6, 12)
    ws.set_column(3, 3, 14, cells.percent)
    ws.freeze_panes(1, 2)
    if not profiles:
        cells.text(ws, 2, 0, "No customers match the filter.")


def drivers_text(drivers: list[dict]) -> str:
    """Drivers as one line: "Spending Score (1-100) higher (effect 1.90); Age lower (effect -0.52)"."""
    return "; ".join(f"{d['feature']} {d['direction']} (effect {d['effect']:+.2f})" for d in drivers)


def _explanation(seg) -> list[Any]:
    if seg is None:
        return [None] * 6
    return [drivers_text(seg.drivers), seg.rule, seg.rule_precision, seg.rule_recall, seg.stability,
            "yes" if seg.outlier_group else "no"]


# -- Data quality -------------------------------------------------------------------------------
def _quality(ctx: RunContext, workbook, cells: _Cells, result: ExportResult) -> None:
    q = ctx.dataset.quality
    run = ctx.run
    ws = workbook.add_worksheet("Data quality")
    result.sheets.append(ws.name)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 7, 18)
    r = cells.rows(ws, 0, [
        ["Cleaning", "Count"],
        ["Rows read from the file", q.rows_read],
        ["Rows loaded", q.rows_loaded],
        ["Exact duplicate rows removed", q.duplicates_removed],
        ["Identifier columns (not used as features)", ", ".join(q.identifier_columns) or "none"],
        ["Rows clustered in this run", run.rows_clustered],
        ["Rows excluded from this run", run.rows_excluded],
    ], header=True)
    r = cells.rows(ws, r + 1, [["Column", "Missing values", "Values that could not be typed"]]
                   + [[c, q.missing.get(c, 0), q.rejected_values.get(c, 0)]
                      for c in dict.fromkeys([*q.missing, *q.rejected_values])], header=True)
    r = cells.rows(ws, r + 1, [["Validation rule", "Column", "Rows", "Excludes rows from the fit",
                                "What was done", "Message", "Sample rows", "Sample values"]]
                   + [[f.rule, f.column, f.count, "yes" if f.excludes_rows else "no", f.action,
                       f.message, ", ".join(str(v) for v in f.sample_rows),
                       ", ".join(str(v) for v in f.sample_values)] for f in q.findings], header=True)
    if not q.findings:
        cells.text(ws, r, 0, "No validation rule found anything.")
        r += 1
    r = cells.rows(ws, r + 1, [["Missing values filled in this run", "Method", "Value", "Count"]]
                   + [[col, f.get("method"), f.get("value"), f.get("count")]
                      for col, f in run.filled.items()], header=True)
    r = cells.rows(ws, r + 1, [["Rows excluded by rule in this run", "Rows"]]
                   + [[k, v] for k, v in run.excluded_by_rule.items()], header=True)
    notes = [["Repairs and warnings"]] + [[s] for s in q.repairs] + [[s] for s in q.warnings]
    cells.rows(ws, r + 1, notes, header=True)


# -- Run ----------------------------------------------------------------------------------------
def _run_sheet(store, spec: FilterSpec, ctx: RunContext, workbook, cells: _Cells,
               result: ExportResult, started: _dt.datetime) -> None:
    run, ds = ctx.run, ctx.dataset
    ws = workbook.add_worksheet("Run")
    result.sheets.append(ws.name)
    ws.set_column(0, 0, 32)
    ws.set_column(1, 1, 80)
    sheets = [s for s in result.sheets if s.startswith("Customers")]
    rows: list[list[Any]] = [
        ["Item", "Value"],
        ["Dataset", ds.name],
        ["Dataset id", ds.dataset_id],
        ["Source file", ds.source],
        ["Run id", run.run_id],
        ["Run created", run.created_at],
        ["Exported at", started.isoformat(timespec="seconds")],
        ["Filter applied", describe_filter(spec, ctx.segment_names)],
        ["Filter (JSON)", json.dumps(spec.to_dict(), ensure_ascii=False)],
        ["Rows exported", result.rows],
        ["Customer sheets", ", ".join(sheets)],
        ["Features", ", ".join(run.features)],
        ["Encoded features", ", ".join(run.encoded_features)],
        ["Number of segments (k)", run.k],
        ["Suggested k", run.suggested_k],
        ["Scaling", run.scale],
        ["Missing-value fill", run.fill],
        ["Random seed", run.seed],
        ["Silhouette", run.silhouette],
        ["Inertia", run.inertia],
        ["PCA explained variance",
         ", ".join(f"{v:.1%}" for v in run.explained_variance) if run.explained_variance else "no PCA"],
        ["Scatter axes", f"{run.x_label} / {run.y_label}"],
        ["Rows clustered", run.rows_clustered],
        ["Rows excluded", run.rows_excluded],
        ["Elbow and silhouette on a sample", "yes" if run.sampled else "no"],
        ["Fit seconds", run.fit_seconds],
    ]
    rows += [[f"Segment {s.id}", f"{s.name} ({s.size} customers, {s.share:.1%}): {s.action}"]
             for s in sorted(run.segments, key=lambda s: s.id)]
    rows += _trust_rows(run, ds)
    if cells.truncated:
        rows.append(["Truncated values",
                     f"{cells.truncated} value(s) longer than {CELL_CHAR_LIMIT:,} characters were cut "
                     f"to fit an Excel cell and end with '{TRUNCATED_NOTE.strip()}'"])
    cells.rows(ws, 0, rows, header=True)


def _trust_rows(run, ds) -> list[list[Any]]:
    """Why k, how stable, how each feature was transformed and what role each column has."""
    rows: list[list[Any]] = [
        ["Why this k", run.k_reason or "not recorded"],
        ["Stability by k", ", ".join(f"k={k}: {v:.2f}" for k, v in run.stability_by_k.items()) or "not computed"],
        ["Outlier distance threshold", run.outlier_threshold if run.outlier_threshold is not None
         else "no outlier group"],
    ]
    rows += [[f"Transform: {f}", t] for f, t in run.transforms.items()]
    rows += [[f"Role: {c}", f"{r['role']} ({r['reason']})" if r.get("reason") else r["role"]]
             for c, r in column_roles(ds).items()]
    return rows
