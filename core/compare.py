"""Compare two segmentations of the same customers: two runs, or two snapshots (exports or scored files)
linked by a customer id. Gives the transition matrix from old to new segment names, the adjusted Rand
index of the matched customers, and how many were kept, moved, new and gone.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from core.errors import InputError
from core.models import ROW, SEGMENT
from core.store import Store, quote_ident, run_table
from python_calamine import CalamineWorkbook

SEGMENT_COLUMNS = ("Segment name", "Segment")  # preferred first: exports and scored files carry both
NO_SEGMENT = "(not segmented)"  # label of a customer a file lists without a segment (an excluded row)
DUPLICATES_SHOWN = 5
_INTEGRAL = re.compile(r"^-?\d+\.0+$")


@dataclass
class Snapshot:
    """One side of a comparison: customer id -> segment name, ids unique."""

    ids: pd.Series  # str
    segments: pd.Series  # str, aligned with ids
    source: str


@dataclass
class CompareResult:
    matched: int
    only_old: int  # gone: in the old snapshot only
    only_new: int  # new: in the new snapshot only
    ari: float | None  # adjusted Rand index over the matched customers (None when fewer than 2)
    matrix: list[dict]  # [{"from": old segment, "to": new segment, "count": n}], matched customers
    kept: int  # matched, same segment name
    moved: int  # matched, another segment name
    new: int
    gone: int
    id_column: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# -- the comparison ---------------------------------------------------------------------------------
def compare_snapshots(old: Snapshot, new: Snapshot, id_column: str | None = None) -> CompareResult:
    """Match by id; count the transitions between segment names."""
    for snap in (old, new):
        dup = snap.ids[snap.ids.duplicated(keep=False)].unique()
        if len(dup):
            shown = ", ".join(repr(d) for d in dup[:DUPLICATES_SHOWN]) + (" ..." if len(dup) > DUPLICATES_SHOWN else "")
            raise InputError(f"{snap.source}: {len(dup)} customer id(s) appear more than once, e.g. {shown}; "
                             "each customer must appear once to be compared")
    a = pd.DataFrame({"id": old.ids.to_numpy(), "old": old.segments.to_numpy()})
    b = pd.DataFrame({"id": new.ids.to_numpy(), "new": new.segments.to_numpy()})
    both = a.merge(b, on="id", how="inner")
    matched = len(both)
    ari = float(adjusted_rand_score(both["old"], both["new"])) if matched >= 2 else None
    counts = both.groupby(["old", "new"], sort=True).size()
    matrix = [{"from": str(f), "to": str(t), "count": int(n)} for (f, t), n in counts.items()]
    kept = int((both["old"] == both["new"]).sum())
    only_old, only_new = len(a) - matched, len(b) - matched
    warnings = []
    if matched == 0:
        warnings.append("no customer id appears in both; check that both files use the same id column")
    return CompareResult(matched=matched, only_old=only_old, only_new=only_new, ari=ari, matrix=matrix,
                         kept=kept, moved=matched - kept, new=only_new, gone=only_old, id_column=id_column,
                         warnings=warnings)


def compare_files(old: str | os.PathLike, new: str | os.PathLike, id_column: str) -> CompareResult:
    """Compare two files carrying a segment column (exports, scored files), linked by `id_column`."""
    if not isinstance(id_column, str) or not id_column:
        raise InputError("name the customer id column shared by both files (--id COLUMN)")
    return compare_snapshots(read_snapshot(old, id_column), read_snapshot(new, id_column), id_column)


def compare_runs(store: Store, run_a: str, run_b: str, id_column: str | None = None) -> CompareResult:
    """Compare two stored runs. Runs of one dataset match on the row when no id column is given; runs of
    two datasets (two monthly snapshots) match on `id_column`, by default the datasets' shared id column."""
    ra, rb = store.get_run(run_a), store.get_run(run_b)
    if id_column is None and ra.dataset_id != rb.dataset_id:
        ida = store.get_dataset(ra.dataset_id).id_column
        idb = store.get_dataset(rb.dataset_id).id_column
        if not ida or ida != idb:
            raise InputError("these runs are on different datasets; choose the customer id column that links them")
        id_column = ida
    return compare_snapshots(_run_snapshot(store, ra, id_column), _run_snapshot(store, rb, id_column),
                             id_column)


def _run_snapshot(store: Store, run, id_column: str | None) -> Snapshot:
    table = run_table(run.run_id)
    allowed = store.table_columns(table)
    if id_column is not None and id_column not in allowed:
        raise InputError(f"run {run.run_id} has no column '{_short(id_column)}' to link customers by")
    key = ROW if id_column is None else quote_ident(id_column, allowed)
    with store.cursor() as cur:
        res = cur.execute(f"SELECT {key}::VARCHAR AS id, {SEGMENT} AS s FROM {table}").fetchnumpy()
    names = {s.id: s.name for s in run.segments}
    ids = _normalise_ids(pd.Series(np.asarray(res["id"], dtype=object)))
    segs = pd.Series(np.asarray(res["s"])).map(names).fillna(NO_SEGMENT).astype(str)
    keep = ids.notna().to_numpy()
    return Snapshot(ids[keep].reset_index(drop=True), segs[keep].reset_index(drop=True), f"run {run.run_id}")


# -- reading files ----------------------------------------------------------------------------------
def read_snapshot(path: str | os.PathLike, id_column: str) -> Snapshot:
    """(id, segment name) of every customer of an export (.xlsx Customers sheets), a scored file or any
    csv/parquet/xlsx with the id column and a 'Segment name' or 'Segment' column."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"PK":
        frame = _read_xlsx(path)
    else:
        frame = _read_with_duckdb(path, parquet=head == b"PAR1")
    columns = [str(c) for c in frame.columns]
    if id_column not in columns:
        raise InputError(f"'{path.name}' has no column '{_short(id_column)}'; its columns: "
                         + ", ".join(_short(c, 30) for c in columns[:12]))
    seg_col = next((c for c in SEGMENT_COLUMNS if c in columns), None)
    if seg_col is None:
        raise InputError(f"'{path.name}' has no 'Segment name' or 'Segment' column; compare an export or a scored file")
    ids = _normalise_ids(frame[id_column])
    missing = int(ids.isna().sum())
    segs = frame[seg_col].map(_label)
    keep = ids.notna().to_numpy()
    snap = Snapshot(ids[keep].reset_index(drop=True), segs[keep].reset_index(drop=True), f"'{path.name}'")
    if missing:
        snap.source += f" ({missing} rows without an id left out)"
    return snap


def _read_with_duckdb(path: Path, parquet: bool) -> pd.DataFrame:
    """CSV or Parquet with every value as text (ids keep their exact spelling)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        if parquet:
            rel = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        else:
            rel = con.execute("SELECT * FROM read_csv(?, all_varchar = true, header = true)", [str(path)])
        frame = rel.fetchdf()
    except duckdb.Error as e:
        raise InputError(f"cannot read '{path.name}': {str(e).splitlines()[0][:200]}") from None
    finally:
        con.close()
    return frame


def _read_xlsx(path: Path) -> pd.DataFrame:
    """An export's "Customers", "Customers (2)", ... sheets, a scored file's sheet, else the first sheet."""

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        wanted = [n for n in names if n == "Customers" or re.fullmatch(r"Customers \(\d+\)", n)]
        wanted = wanted or [n for n in names if n == "Scored customers"] or names[:1]
        frames = []
        for n in wanted:
            rows = wb.get_sheet_by_name(n).to_python()
            if rows:
                frames.append(pd.DataFrame(rows[1:], columns=[str(c) for c in rows[0]], dtype=object))
    except Exception as e:  # calamine raises its own error types for damaged workbooks
        raise InputError(f"cannot read '{path.name}' as an Excel workbook ({type(e).__name__})") from None
    if not frames:
        raise InputError(f"'{path.name}' has no rows")
    return pd.concat(frames, ignore_index=True)


def _normalise_ids(values: pd.Series) -> pd.Series:
    """Ids as text, so 1 (Excel number), 1.0 and "1" are one customer; empty ids become missing."""
    def one(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        s = str(v).strip()
        if not s:
            return None
        return s[: s.index(".")] if _INTEGRAL.match(s) else s
    return values.map(one).astype(object)


def _label(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)) or (isinstance(v, str) and not v.strip()):
        return NO_SEGMENT
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
