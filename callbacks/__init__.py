"""Callbacks: thin wiring from the page's inputs to core functions; their bodies are plain functions
(in the same modules) that the tests call with a real Store."""
from __future__ import annotations

import dash

from pathlib import Path

from callbacks import (chips, data, datasets, explore, export, export_form, help, mapping, models, progress,
                       segment, url, why)
from core.config import Settings
from core.store import Store


def register_callbacks(app: dash.Dash, store: Store, *, default_dataset_id: str | None,
                       max_upload_bytes: int, import_dir: Path | None = None) -> None:
    data.register(app, store, default_dataset_id=default_dataset_id, max_upload_bytes=max_upload_bytes)
    segment.register(app, store)
    explore.register(app, store)
    export.register(app, store)
    mapping.register(app, store)
    why.register(app, store)
    models.register(app, store, max_upload_bytes=max_upload_bytes)
    url.register(app, store)
    chips.register(app, store)
    datasets.register(app, store)
    help.register(app)
    export_form.register(app)
    progress.register(app, store, import_dir or Settings().import_dir)
