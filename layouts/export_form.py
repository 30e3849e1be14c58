"""Export in a chosen format (Excel, CSV, Parquet): a plain HTML form posted to the streamed export
route (/download/export, callbacks/routes.py), so the browser downloads the file itself; the current
filter spec travels in a hidden field that a clientside callback keeps equal to filter-store."""
from __future__ import annotations

from dash import dcc, html

from core.downloads import FORMATS
from layouts import ids

EXPORT_ROUTE = "/download/export"
FORMAT_LABELS = {"xlsx": "Excel (.xlsx)", "csv": "CSV (.csv)", "parquet": "Parquet (.parquet)"}
# The names the route reads (request.form): keep them equal to callbacks/routes._spec_and_format.
SPEC_FIELD, FORMAT_FIELD = "spec", "format"


def export_form() -> html.Form:
    return html.Form(
        [
            dcc.Input(id=ids.EXPORT_SPEC, type="hidden", name=SPEC_FIELD, value=""),
            html.Select(
                [html.Option(FORMAT_LABELS.get(f, f), value=f) for f in FORMATS],
                id=ids.EXPORT_FORMAT,
                name=FORMAT_FIELD,
                **{"aria-label": "Export format"},
                className="form-select form-select-sm csi-export-format",
            ),
            html.Button("Download", id=ids.EXPORT_SUBMIT, type="submit",
                        className="btn btn-outline-secondary btn-sm"),
        ],
        id=ids.EXPORT_FORM,
        action=EXPORT_ROUTE,
        method="POST",
        className="csi-export-form",
    )
