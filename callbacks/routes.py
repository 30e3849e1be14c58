"""Plain Flask routes beside the Dash callbacks: streamed exports and the server-side import folder.

- POST /download/export: the filter spec the page holds (form field or JSON "spec") and a format
  (xlsx | csv | parquet). The spec is validated like any callback input; the file is written by core into
  a private temporary folder (mode 0700) beside the database, streamed from disk, and deleted when the
  response closes, so nothing is left where another session could read it and no file passes through
  a callback response (base64 in JSON: dash#1874).
- GET /api/datasets: the catalogue (ids, names, runs) for tools; GET /api/imports: the import folder's files. POST /api/import {"name"}: import one in the background
  (JSON only, like the callbacks). GET /api/import/<job_id>: the job's stage and fraction.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from flask import Flask, jsonify, request, send_file

from core.config import Settings
from core.downloads import FORMATS, export_flat
from core.errors import InputError
from core.export import export_workbook
from core.imports import job_status, list_importable, resolve_import, start_import
from core.pipeline import load_path
from core.store import Store
from core.views import parse_spec, run_context

MAX_SPEC_BYTES = 256 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}


def download_name(dataset_name: str, rows: int | None, fmt: str) -> str:
    base = _UNSAFE.sub("_", dataset_name).strip(" ._")[:60] or "customers"
    suffix = f" - {rows} customers" if rows is not None else ""
    return f"{base} segments{suffix}.{fmt}"


def _spec_and_format() -> tuple[object, str]:
    if request.is_json:
        body = request.get_json(silent=True) or {}
        raw_spec, fmt = body.get("spec"), body.get("format", "xlsx")
    else:
        text = request.form.get("spec", "")
        if len(text) > MAX_SPEC_BYTES:
            raise InputError("the filter is too large")
        try:
            raw_spec = json.loads(text) if text else None
        except ValueError:
            raise InputError("the filter could not be read") from None
        fmt = request.form.get("format", "xlsx")
    if fmt not in FORMATS:
        raise InputError(f"export format must be one of {', '.join(FORMATS)}")
    return raw_spec, fmt


def export_response(store: Store):
    raw_spec, fmt = _spec_and_format()
    if raw_spec is None:
        raise InputError("nothing to export yet: segment a dataset first")
    spec = parse_spec(store, raw_spec)
    name = run_context(store, spec.run_id).dataset.name
    tmp_root = store.path.parent / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=tmp_root))  # mode 0700
    try:
        out = folder / f"export.{fmt}"
        if fmt == "xlsx":
            rows = export_workbook(store, spec, out).rows
        else:
            rows = export_flat(store, spec, out, fmt).rows
        handle = open(out, "rb")
        os.unlink(out)  # the open handle keeps the data; nothing stays on disk by name
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    response = send_file(handle, mimetype=_MIMETYPES[fmt], as_attachment=True,
                         download_name=download_name(name, rows, fmt), max_age=0)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Rows"] = str(rows)
    response.call_on_close(handle.close)
    return response


def _refused(exc: InputError, status: int = 400):
    return jsonify(error=str(exc)), status


def register_routes(server: Flask, store: Store, settings: Settings) -> None:
    import_dir = settings.import_dir

    @server.post("/download/export")
    def download_export():
        try:
            return export_response(store)
        except InputError as exc:
            return _refused(exc)

    @server.get("/api/datasets")
    def datasets_list():
        return jsonify(datasets=[
            {"dataset_id": d.dataset_id, "name": d.name, "kind": d.kind, "rows": d.rows_loaded,
             "runs": [{"run_id": r.run_id, "k": r.k, "created_at": r.created_at}
                      for r in store.list_runs(d.dataset_id)]}
            for d in store.list_datasets()
        ])

    @server.get("/api/imports")
    def imports_list():
        return jsonify(files=[c.__dict__ for c in list_importable(import_dir)])

    @server.post("/api/import")
    def import_start():
        if not request.is_json:
            return jsonify(error="send JSON"), 415
        try:
            name = (request.get_json(silent=True) or {}).get("name")
            path = resolve_import(import_dir, name)
        except InputError as exc:
            return _refused(exc)
        job = start_import(path.name, lambda progress: import_path(store, path, progress))
        return jsonify(job.to_dict()), 202

    @server.get("/api/import/<job_id>")
    def import_job(job_id: str):
        try:
            return jsonify(job_status(job_id).to_dict())
        except InputError as exc:
            return _refused(exc, 404)


def import_path(store: Store, path: Path, progress) -> str:
    """Load a file of the import folder into the store (the app's one writer); return the dataset id."""
    progress("reading", 0.05)
    info = load_path(store, path, path.stem, source_name=path.name)
    return info.dataset_id
