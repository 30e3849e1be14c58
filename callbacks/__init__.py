"""Callbacks: thin wiring from the page's inputs to core functions; their bodies are plain functions
(in the same modules) that the tests call with a real Store."""
from __future__ import annotations

import dash

from callbacks import data, datasets, explore, export, help, segment
from core.store import Store


def register_callbacks(app: dash.Dash, store: Store, *, default_dataset_id: str | None,
                       max_upload_bytes: int) -> None:
    data.register(app, store, default_dataset_id=default_dataset_id, max_upload_bytes=max_upload_bytes)
    segment.register(app, store)
    explore.register(app, store)
    export.register(app, store)
    datasets.register(app, store)
    help.register(app)
