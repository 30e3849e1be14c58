"""Export: the engine's workbook for exactly the customers the current filter selects."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output, State, dcc, no_update

from callbacks.common import error_boundary
from core.export import export_workbook
from core.store import Store
from core.views import parse_spec, run_context
from layouts import ids
from layouts.feedback import alert

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def export_filename(dataset_name: str, selected: int | None = None) -> str:
    base = _UNSAFE.sub("_", dataset_name).strip(" ._")[:60] or "customers"
    suffix = f" - {selected} customers" if selected is not None else ""
    return f"{base} segments{suffix}.xlsx"


@error_boundary("writing the Excel file", lambda err, *_: (None, err))
def export_download(store: Store, spec_data: Any) -> tuple[dict | None, Any]:
    """(dcc.Download data, None) or (None, alert)."""
    if spec_data is None:
        return None, alert("Nothing to export yet: segment a dataset first.", color="warning")
    spec = parse_spec(store, spec_data)
    name = run_context(store, spec.run_id).dataset.name
    with tempfile.TemporaryDirectory(dir=store.path.parent / "tmp") as folder:
        out = Path(folder) / "export.xlsx"
        result = export_workbook(store, spec, out)
        data = dcc.send_file(str(out), filename=export_filename(name, getattr(result, "rows", None)))
    return data, None


def register(app: dash.Dash, store: Store) -> None:
    @app.callback(
        output=dict(download=Output(ids.EXPORT_DOWNLOAD, "data"), alert=Output(ids.EXPORT_ALERT, "children")),
        inputs=dict(n_clicks=Input(ids.EXPORT_BUTTON, "n_clicks")),
        state=dict(spec_data=State(ids.FILTER_STORE, "data")),
        running=[(Output(ids.EXPORT_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def export(n_clicks, spec_data):
        if not n_clicks:
            return {"download": no_update, "alert": no_update}
        data, err = export_download(store, spec_data)
        return {"download": data if data is not None else no_update, "alert": err}
