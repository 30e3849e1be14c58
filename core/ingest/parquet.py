"""Ingest, Parquet: numeric columns stay numeric, nested ones become text, binary ones are dropped."""
from __future__ import annotations

from pathlib import Path

from core.errors import InputError
from core.ingest.base import _FLOAT_TYPES, _INT_TYPES, StagedFile, _finish_staging, _reading, _short, _trim_sql, sanitize_names
from core.models import ROW
from core.store import quote_ident

FILE_ROW = "file_row_number"  # DuckDB's read_parquet(file_row_number = true) column


def _stage_parquet(cur, path: Path, table: str, source: str) -> StagedFile:
    with _reading(source, "Parquet"):
        desc = cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    raw_names = [d[0] for d in desc]
    names, repairs = sanitize_names(raw_names, True)
    selects, kept = [], []
    for i, (nm, typ) in enumerate(zip(names, (d[1] for d in desc))):
        src = quote_ident(raw_names[i])
        base = typ.split("(")[0].upper()
        if "[" in typ or base in ("STRUCT", "MAP", "UNION", "LIST", "ARRAY"):
            repairs.append(f"nested column '{_short(nm)}' ({_short(typ, 40)}) converted to text")
            expr = _trim_sql(f"{src}::VARCHAR")
        elif base in ("BLOB", "BIT", "BYTEA", "VARBINARY"):
            repairs.append(f"binary column '{_short(nm)}' ({typ}) dropped: it holds no readable values")
            continue
        elif base in _INT_TYPES:
            expr = f"{src}::BIGINT"
        elif base in _FLOAT_TYPES or base == "DECIMAL":
            expr = f"{src}::DOUBLE"
        else:
            expr = _trim_sql(f"{src}::VARCHAR")
        selects.append(f"{expr} AS {quote_ident(nm)}")
        kept.append(nm)
    if not kept:
        raise InputError(f"'{source}' has no columns that can be read")
    with _reading(source, "Parquet"):
        if any(n.lower() == FILE_ROW for n in raw_names):  # the reader's position column would clash
            raw = f"{table}__raw"
            cur.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_parquet(?)", [str(path)])
            cur.execute(
                f"""
                CREATE TEMP TABLE {table} AS
                SELECT row_number() OVER (ORDER BY rowid) AS {ROW}, {', '.join(selects)} FROM {raw}
                """
            )
            cur.execute(f"DROP TABLE {raw}")
        else:  # one pass, no copy: the row's position in the file numbers it (0-based), as rowid did
            cur.execute(
                f"""
                CREATE TEMP TABLE {table} AS
                SELECT {FILE_ROW} + 1 AS {ROW}, {', '.join(selects)}
                FROM read_parquet(?, file_row_number = true)
                """,
                [str(path)],
            )
    staged = StagedFile(table, kept, file_format="parquet", header=True, repairs=repairs, trimmed=True)
    _finish_staging(cur, staged, [])
    return staged

