"""Uploads waiting for a decision (the transactions mapping step): the bytes stay on the server, in the
private upload folder beside the database, under a random token; the browser holds only the token."""
from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

from core.errors import InputError
from core.pipeline import safe_filename
from core.store import Store

UPLOADS = "uploads"  # the same private folder core.pipeline.ingest_upload uses (emptied at start-up)
_TOKEN = re.compile(r"^pending-[A-Za-z0-9_-]{22}$")
GONE = "the uploaded file is no longer on the server (the server restarted or it was loaded); upload it again"


def _root(store: Store) -> Path:
    return store.path.parent / UPLOADS


def save_pending(store: Store, filename: str, data: bytes) -> str:
    """Keep uploaded bytes under a new random token; the token is all the browser gets back."""
    if not data:
        raise InputError(f"'{safe_filename(filename)}' is empty (0 bytes); nothing to load")
    token = "pending-" + secrets.token_urlsafe(16)
    folder = _root(store) / token
    folder.mkdir(parents=True)
    (folder / safe_filename(filename)).write_bytes(data)
    return token


def pending_path(store: Store, token: object) -> Path:
    """The file kept under `token`; InputError for a malformed token or one whose file is gone."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise InputError("the upload reference is not valid; upload the file again")
    files = [p for p in (_root(store) / token).glob("*") if p.is_file()]
    if len(files) != 1:
        raise InputError(GONE)
    return files[0]


def discard_pending(store: Store, token: object) -> None:
    """Delete a pending upload (after it was loaded, or when a new file replaces it); unknown tokens
    are ignored."""
    if isinstance(token, str) and _TOKEN.match(token):
        shutil.rmtree(_root(store) / token, ignore_errors=True)
