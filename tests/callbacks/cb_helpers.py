"""Small helpers shared by the callback tests."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from dash import no_update

from core.config import PROJECT_DIR, Settings
from core.models import Run
from core.store import Store, run_table

TESTS_DIR = Path(__file__).resolve().parent.parent


def text_of(component) -> str:
    """All the text a component tree shows."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return "".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def values(array) -> list:
    """A trace array as a list: plain, or Plotly's base64 typed array."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


@dataclass
class Sample:
    store: Store
    run: Run

    def spec(self, **fields) -> dict:
        return {"run_id": self.run.run_id, **fields}

    def sql_count(self, where: str = "TRUE", params: list | None = None) -> int:
        """An independent count straight from the run table, to check what the views say."""
        with self.store.cursor() as cur:
            return cur.execute(
                f"SELECT count(*) FROM {run_table(self.run.run_id)} WHERE {where}", params or []
            ).fetchone()[0]


def open_store(folder: Path) -> Store:
    settings = Settings(data_dir=folder, memory_limit="1GB", threads=2)
    return Store(folder / "callbacks.duckdb", settings, allowed_dirs=[folder, TESTS_DIR, PROJECT_DIR / "data"])


def find(component, wanted_id):
    """The component with id `wanted_id` in a layout tree, or None."""
    if getattr(component, "id", None) == wanted_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            hit = find(child, wanted_id)
            if hit is not None:
                return hit
    return None
