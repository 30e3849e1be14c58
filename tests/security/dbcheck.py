"""Read a closed DuckDB file and say what is in it: a snapshot to compare, and the catalogue's invariants.

Opened read-only with plain duckdb (not core.store.Store, which would create the schema): the file must
open as it is after a forged request, a crash or a restart.
"""
from __future__ import annotations

import json

from core.store import AGG_PARTS
from pathlib import Path

import duckdb

CATALOGUE = ("datasets", "rejects", "issues", "runs")


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True, config={"threads": 1, "memory_limit": "1GB"})


def tables(con) -> list[str]:
    return sorted(r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database()"
    ).fetchall())


def snapshot(path: Path) -> dict:
    """Tables, their row counts and content checksums, and the catalogue rows."""
    con = connect(path)
    try:
        return snapshot_of(con)
    finally:
        con.close()


def snapshot_of(con) -> dict:
    names = tables(con)
    content = {}
    for t in names:
        n, h = con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{t}" t').fetchone()
        content[t] = (int(n), int(h or 0))
    return {
        "tables": names,
        "content": content,
        "datasets": con.execute(
            "SELECT dataset_id, name, rows_loaded FROM datasets ORDER BY dataset_id").fetchall(),
        "runs": con.execute("SELECT run_id, dataset_id FROM runs ORDER BY run_id").fetchall(),
    }


def problems(path: Path) -> list[str]:
    """Every way the file breaks the rule 'a dataset or run is all there or not there at all'."""
    con = connect(path)
    try:
        return problems_of(con)
    finally:
        con.close()


def problems_of(con) -> list[str]:
    """problems() on an open connection (e.g. a cursor of the Store that holds the file)."""
    out: list[str] = []
    names = set(tables(con))
    for t in CATALOGUE:
        if t not in names:
            out.append(f"catalogue table {t} is missing")
    if any(t not in names for t in CATALOGUE):
        return out
    datasets = {r[0]: r for r in con.execute(
        "SELECT dataset_id, name, rows_loaded FROM datasets").fetchall()}
    runs = {r[0]: json.loads(r[2]) | {"dataset_id": r[1]} for r in con.execute(
        "SELECT run_id, dataset_id, spec FROM runs").fetchall()}
    for t in sorted(names - set(CATALOGUE)):
        if t.startswith("ds_") and t[3:] in datasets:
            continue
        if t.startswith("run_") and t[4:] in runs:
            continue
        if t.startswith("agg_") and t[4:16] in runs and t[16:] in {f"_{p}" for p in AGG_PARTS}:
            continue  # a run's pre-aggregated tables (core/aggregates.py)
        out.append(f"table {t} is not a registered dataset or run (half-written or stray staging table)")
    for run_id in runs:
        parts = [p for p in AGG_PARTS if f"agg_{run_id}_{p}" in names]
        needed = [p for p in AGG_PARTS if p != "j"]  # the joint table is optional (kept when small)
        if parts and not set(needed) <= set(parts):
            out.append(f"run {run_id} has only some of its pre-aggregated tables: {parts}")
    for ds_id, (_, name, rows_loaded) in datasets.items():
        t = f"ds_{ds_id}"
        if t not in names:
            out.append(f"dataset {ds_id} ({name}) is registered but its table {t} is missing")
            continue
        n = con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        if rows_loaded is not None and n != rows_loaded:
            out.append(f"dataset {ds_id}: {n} rows in {t}, {rows_loaded} registered")
    for run_id, spec in runs.items():
        t = f"run_{run_id}"
        if spec["dataset_id"] not in datasets:
            out.append(f"run {run_id} belongs to unknown dataset {spec['dataset_id']}")
        if t not in names:
            out.append(f"run {run_id} is registered but its table {t} is missing")
            continue
        n = con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        if spec.get("rows_clustered") is not None and n != spec["rows_clustered"]:
            out.append(f"run {run_id}: {n} rows in {t}, {spec['rows_clustered']} registered")
    for t in ("rejects", "issues"):
        orphans = con.execute(
            f"SELECT count(*) FROM {t} WHERE dataset_id NOT IN (SELECT dataset_id FROM datasets)"
        ).fetchone()[0]
        if orphans:
            out.append(f"{orphans} {t} rows belong to no registered dataset")
    return out
