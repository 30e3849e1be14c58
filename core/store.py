"""The DuckDB store: one database file, the catalogue of datasets and runs, and identifier quoting.

Layout (see docs/ARCHITECTURE.md):
  datasets  one row per published dataset (columns and quality report as JSON)
  rejects   every value that could not be typed: dataset, row, column, raw value, reason
  issues    every validation finding per row: dataset, row, column, rule, value, whether it excludes the row
  runs      one row per segmentation run (the Run dataclass as JSON)
  ds_<id>   a dataset's typed rows: __row plus the source columns (NULL where missing)
  run_<id>  a run's clustered rows: the dataset columns with missing values filled, __segment, __x, __y

One process opens the file read-write; each thread takes its own cursor (`Store.cursor()`).
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.config import SAMPLE_FILE, Settings
from core.errors import InputError
from core.models import ColumnInfo, DatasetInfo, QualityReport, Run

_ID_RE = re.compile(r"^[0-9a-f]{12}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    dataset_id  VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    source      VARCHAR,
    kind        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    rows_read   BIGINT,
    rows_loaded BIGINT,
    columns     JSON NOT NULL,
    id_column   VARCHAR,
    quality     JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS rejects (
    dataset_id  VARCHAR NOT NULL,
    "row"       BIGINT,
    column_name VARCHAR,
    raw_value   VARCHAR,
    reason      VARCHAR
);
CREATE TABLE IF NOT EXISTS issues (
    dataset_id  VARCHAR NOT NULL,
    "row"       BIGINT NOT NULL,
    column_name VARCHAR,
    rule        VARCHAR NOT NULL,
    value       VARCHAR,
    excludes    BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id      VARCHAR PRIMARY KEY,
    dataset_id  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    spec        JSON NOT NULL
);
"""
# Columns added after the first release: existing database files gain them at open.
MIGRATIONS = (
    "ALTER TABLE datasets ADD COLUMN IF NOT EXISTS content_hash VARCHAR",
)
MAX_DATASET_NAME = 120


def new_id() -> str:
    """A fresh 12-hex-digit id for a dataset or a run (also safe inside a table name)."""
    return uuid.uuid4().hex[:12]


def check_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InputError(f"unknown {what}")
    return value


def quote_ident(name: str, allowed: Iterable[str] | None = None) -> str:
    """The one helper that turns a column name into SQL.

    `allowed` is the list of columns of the table the name will be used against; a name not in it
    is refused. Internal callers that build names themselves (reserved columns) may pass None.
    """
    if not isinstance(name, str) or name == "":
        raise InputError("a column name must be a non-empty string")
    if allowed is not None and name not in set(allowed):
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise InputError(f"unknown column '{shown}'")
    return '"' + name.replace('"', '""') + '"'


def dataset_table(dataset_id: str) -> str:
    return f"ds_{check_id(dataset_id, 'dataset')}"


def run_table(run_id: str) -> str:
    return f"run_{check_id(run_id, 'run')}"


AGG_PARTS = ("meta", "f", "xy", "m", "j", "sample")  # a run's pre-aggregated tables (core/aggregates.py)


def agg_table(run_id: str, part: str) -> str:
    if part not in AGG_PARTS:
        raise ValueError(f"unknown aggregate table {part!r}")
    return f"agg_{check_id(run_id, 'run')}_{part}"


class Store:
    """A DuckDB database file with resource caps and no file access outside allowed folders."""

    def __init__(
        self,
        path: str | Path,
        settings: Settings | None = None,
        allowed_dirs: Iterable[str | Path] = (),
    ) -> None:
        settings = settings or Settings()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.parent / "tmp"
        tmp.mkdir(exist_ok=True)
        self._con = duckdb.connect(
            str(self.path),
            config={
                "memory_limit": settings.memory_limit,
                "threads": max(1, int(settings.threads)),
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        dirs = {str(self.path.parent.resolve()) + "/"}
        dirs |= {str(Path(d).resolve()) + "/" for d in allowed_dirs}
        self._con.execute("SET temp_directory = ?", [str(tmp)])
        self._con.execute("SET allowed_directories = ?", [sorted(dirs)])
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")
        self._write_lock = threading.Lock()
        with self.transaction() as cur:
            cur.execute(SCHEMA)
            for statement in MIGRATIONS:
                cur.execute(statement)

    # -- connections -------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread; close it (or use `with`) when done."""
        return self._con.cursor()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic unit of writes: everything or nothing becomes visible (also after a crash).
        Writers are serialised so two uploads never conflict on the catalogue."""
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.begin()
                yield cur
                cur.commit()
            except BaseException:
                try:
                    cur.rollback()
                except duckdb.Error:
                    pass
                raise
            finally:
                cur.close()

    def close(self) -> None:
        self._con.close()

    # -- catalogue ---------------------------------------------------------------------------
    def list_datasets(self) -> list[DatasetInfo]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT dataset_id FROM datasets ORDER BY created_at DESC, dataset_id"
            ).fetchall()
        return [self.get_dataset(r[0]) for r in rows]

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        check_id(dataset_id, "dataset")
        with self.cursor() as cur:
            row = cur.execute(
                """
                SELECT dataset_id, name, source, kind, strftime(created_at, '%Y-%m-%d %H:%M:%S'),
                       rows_read, rows_loaded, columns, id_column, quality
                FROM datasets WHERE dataset_id = ?
                """,
                [dataset_id],
            ).fetchone()
        if row is None:
            raise InputError("unknown dataset")
        return DatasetInfo(
            dataset_id=row[0],
            name=row[1],
            source=row[2],
            kind=row[3],
            created_at=row[4],
            rows_read=row[5],
            rows_loaded=row[6],
            columns=[ColumnInfo.from_dict(c) for c in json.loads(row[7])],
            id_column=row[8],
            quality=QualityReport.from_dict(json.loads(row[9])),
        )

    def find_dataset(self, name: str) -> DatasetInfo | None:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT dataset_id FROM datasets WHERE name = ? ORDER BY created_at DESC LIMIT 1",
                [name],
            ).fetchone()
        return self.get_dataset(row[0]) if row else None

    def insert_dataset(self, cur: duckdb.DuckDBPyConnection, info: DatasetInfo) -> None:
        """Register a dataset whose ds_<id> table `cur` has created, inside the same transaction."""
        cur.execute(
            """
            INSERT INTO datasets (dataset_id, name, source, kind, rows_read, rows_loaded,
                                  columns, id_column, quality)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                info.dataset_id,
                info.name,
                info.source,
                info.kind,
                info.rows_read,
                info.rows_loaded,
                json.dumps([c.__dict__ for c in info.columns]),
                info.id_column,
                json.dumps(info.quality.to_dict(), default=_json_default),
            ],
        )

    def set_content_hash(self, cur: duckdb.DuckDBPyConnection, dataset_id: str, digest: str) -> None:
        """Record the SHA-256 of the file a dataset came from (inside the publishing transaction)."""
        cur.execute("UPDATE datasets SET content_hash = ? WHERE dataset_id = ?",
                    [digest, check_id(dataset_id, "dataset")])

    def find_by_hash(self, digest: str) -> DatasetInfo | None:
        """The newest dataset loaded from a file with this SHA-256, if any."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT dataset_id FROM datasets WHERE content_hash = ? ORDER BY created_at DESC LIMIT 1",
                [digest],
            ).fetchone()
        return self.get_dataset(row[0]) if row else None

    def rename_dataset(self, dataset_id: str, name: object) -> DatasetInfo:
        if not isinstance(name, str) or not name.strip():
            raise InputError("a dataset needs a name")
        clean = " ".join(name.split())[:MAX_DATASET_NAME]
        self.get_dataset(dataset_id)  # unknown ids are refused before any write
        with self.transaction() as cur:
            cur.execute("UPDATE datasets SET name = ? WHERE dataset_id = ?", [clean, dataset_id])
        return self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> list[str]:
        """Drop a dataset, its runs and their tables in ONE transaction; return the run ids removed."""
        self.get_dataset(dataset_id)
        run_ids = [r.run_id for r in self.list_runs(dataset_id)]
        with self.transaction() as cur:
            for run_id in run_ids:
                cur.execute(f"DROP TABLE IF EXISTS {run_table(run_id)}")
                for part in AGG_PARTS:
                    cur.execute(f"DROP TABLE IF EXISTS {agg_table(run_id, part)}")
            cur.execute(f"DROP TABLE IF EXISTS {dataset_table(dataset_id)}")
            for table in ("runs", "issues", "rejects", "datasets"):
                cur.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [dataset_id])
        return run_ids

    def list_runs(self, dataset_id: str | None = None) -> list[Run]:
        sql = "SELECT spec FROM runs"
        params: list = []
        if dataset_id is not None:
            sql += " WHERE dataset_id = ?"
            params.append(check_id(dataset_id, "dataset"))
        sql += " ORDER BY created_at DESC, run_id"
        with self.cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [Run.from_dict(json.loads(r[0])) for r in rows]

    def get_run(self, run_id: str) -> Run:
        check_id(run_id, "run")
        with self.cursor() as cur:
            row = cur.execute("SELECT spec FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row is None:
            raise InputError("unknown run")
        return Run.from_dict(json.loads(row[0]))

    def insert_run(self, cur: duckdb.DuckDBPyConnection, run: Run) -> None:
        """Register a run whose run_<id> table `cur` has created, inside the same transaction."""
        cur.execute(
            "INSERT INTO runs (run_id, dataset_id, spec) VALUES (?, ?, ?)",
            [run.run_id, run.dataset_id, json.dumps(run.to_dict(), default=_json_default)],
        )

    def table_columns(self, table: str) -> list[str]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
        return [r[0] for r in rows]


def _json_default(o):
    # numpy scalars and other number-likes
    try:
        return o.item()
    except AttributeError:
        return str(o)


def open_default_store(settings: Settings | None = None) -> Store:
    """The app's store: its data folder, plus the bundled sample's folder so CSI_DATA_DIR may point
    anywhere and the sample still loads."""

    settings = settings or Settings()
    settings.import_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.db_path, settings,
                 allowed_dirs=[settings.data_dir, SAMPLE_FILE.parent, settings.import_dir])
