"""The server-side import folder (CSI_IMPORT_DIR): what it offers, safe names, and import jobs.

Big files never go through the browser: an operator (or `python -m core import FILE`) puts them in the
import folder, the data panel lists them, and the app imports them in its own process, so DuckDB keeps
one writer. Every name a client sends is resolved against the folder and refused unless it is a plain
entry of the folder whose real path stays inside it (no `..`, no absolute paths, no symlinks out).

Import jobs run in a background thread of the app process. Their progress is kept in this module, keyed
by a random job id: it is the server's own work queue, not a user's session state (a page only holds
the job id, in a dcc.Store), and it is lost on restart, when the published datasets are what counts.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import jobs
from core.errors import InputError
from core.jobs import Job, start_job

log = logging.getLogger("csi.imports")

IMPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab", ".dat", ".xlsx", ".parquet", ".pq")
PARTIAL_SUFFIX = ".partial"  # files still being copied in are hidden until renamed
MAX_LISTED = 200


@dataclass(frozen=True)
class ImportCandidate:
    name: str  # the entry's name inside the import folder
    kind: str  # "file" | "parquet folder"
    size: int  # bytes (a folder: the sum of its parts)
    modified: float


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve(strict=True).relative_to(folder.resolve(strict=True))
        return True
    except (OSError, ValueError):
        return False


def _parquet_parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
                  and not p.name.startswith("."))


def list_importable(import_dir: Path) -> list[ImportCandidate]:
    """Files (and folders of Parquet parts) in the import folder, newest first."""
    if not import_dir.is_dir():
        return []
    out: list[ImportCandidate] = []
    for entry in sorted(import_dir.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(PARTIAL_SUFFIX) or not _inside(import_dir, entry):
            continue
        try:
            if entry.is_file() and entry.suffix.lower() in IMPORT_SUFFIXES:
                st = entry.stat()
                out.append(ImportCandidate(entry.name, "file", st.st_size, st.st_mtime))
            elif entry.is_dir():
                parts = [p for p in _parquet_parts(entry) if _inside(import_dir, p)]
                if parts:
                    out.append(ImportCandidate(entry.name, "parquet folder", sum(p.stat().st_size for p in parts),
                                               max(p.stat().st_mtime for p in parts)))
        except OSError:
            continue
        if len(out) >= MAX_LISTED:
            break
    return sorted(out, key=lambda c: -c.modified)


def resolve_import(import_dir: Path, name: object) -> Path:
    """The path of an entry of the import folder, or InputError. `name` comes from a client."""
    if not isinstance(name, str) or not name or len(name) > 255 or "/" in name or "\\" in name \
            or name in (".", "..") or name.startswith(".") or "\x00" in name:
        raise InputError("choose a file from the import folder")
    path = import_dir / name
    if not path.exists() or not _inside(import_dir, path):
        raise InputError(f"'{name[:60]}' is not in the import folder (any more)")
    if path.is_dir():
        parts = [p for p in _parquet_parts(path) if _inside(import_dir, p)]
        if not parts:
            raise InputError(f"the folder '{name[:60]}' holds no Parquet parts")
    elif path.suffix.lower() not in IMPORT_SUFFIXES:
        raise InputError(f"'{name[:60]}' is not a CSV, Excel or Parquet file")
    return path


# -- jobs (the machinery is core/jobs.py; these names stay for the routes, the CLI and the tests) ----
ImportJob = Job


def start_import(name: str, work: Callable[[Callable[[str, float], None]], str]) -> ImportJob:
    """Run `work(progress) -> dataset_id` in a background thread; return its job at once.

    `work` does the import (the caller binds the store and the path); `progress(stage, fraction)`
    updates the job. InputError ends the job with its message; anything else with a generic one."""
    return start_job(name, work, kind="import", done_message="imported")


def job_status(job_id: object) -> ImportJob:
    return jobs.job_status(job_id, "import")
