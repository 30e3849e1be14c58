"""`python -m core import FILE`: hand a file to a running app through its import folder.

The CLI never opens the database (the app is its one writer): it copies FILE into CSI_IMPORT_DIR
(as NAME.partial, renamed when complete, so the app never lists half a file), then asks the app at
--app (default http://HOST:PORT from the environment) to import it and prints the job's progress.
When no app answers, the file stays in the folder and the data panel offers it on the next visit.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from core.config import Settings
from core.errors import InputError
from core.imports import IMPORT_SUFFIXES, PARTIAL_SUFFIX

POLL_SECONDS = 0.5


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="hand a big file to the running app (server-side import folder)")
    p.add_argument("input", help="CSV / Excel / Parquet file, or a folder of Parquet parts")
    p.add_argument("--app", metavar="URL", help="the running app (default http://HOST:PORT)")
    p.add_argument("--no-wait", action="store_true", help="do not wait for the import to finish")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait at most")


def place(src: Path, import_dir: Path) -> Path:
    """Copy `src` into the import folder atomically; return its final path there."""
    if not src.exists():
        raise InputError(f"file not found: {src}")
    if src.is_file() and src.suffix.lower() not in IMPORT_SUFFIXES:
        raise InputError(f"'{src.name}' is not a CSV, Excel or Parquet file")
    import_dir.mkdir(parents=True, exist_ok=True)
    final = import_dir / src.name
    if final.exists():
        raise InputError(f"'{src.name}' is already in the import folder {import_dir}; rename your copy")
    part = import_dir / (src.name + PARTIAL_SUFFIX)
    if src.is_dir():
        shutil.copytree(src, part, dirs_exist_ok=False)
    else:
        shutil.copyfile(src, part)
    part.rename(final)
    return final


def _call(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or str(exc)
        except ValueError:
            message = str(exc)
        raise InputError(message) from None


def run_import(args: argparse.Namespace, out=sys.stdout) -> int:
    settings = Settings()
    final = place(Path(args.input), settings.import_dir)
    print(f"placed {final.name} in the import folder {settings.import_dir}", file=out)
    base = (args.app or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        job = _call(f"{base}/api/import", {"name": final.name})
    except (urllib.error.URLError, OSError):
        print(f"no app answered at {base}; the data panel will offer the file when the app runs", file=out)
        return 0
    if args.no_wait:
        print(f"import started (job {job['job_id']})", file=out)
        return 0
    deadline = time.monotonic() + args.timeout
    last = None
    while job.get("stage") not in ("done", "failed"):
        if time.monotonic() > deadline:
            raise InputError(f"the import is still running after {args.timeout:.0f} s (job {job['job_id']})")
        state = (job.get("stage"), round(float(job.get("fraction", 0)) * 100))
        if state != last:
            print(f"{state[0]} {state[1]}%", file=out)
            last = state
        time.sleep(POLL_SECONDS)
        job = _call(f"{base}/api/import/{job['job_id']}")
    if job["stage"] == "failed":
        raise InputError(job.get("message") or "the import failed")
    print(f"imported as dataset {job['dataset_id']}", file=out)
    return 0
