"""The export form's hidden spec field follows filter-store in the browser (no server round trip):
the route /download/export validates it like any client-sent spec."""
from __future__ import annotations

import dash
from dash import Input, Output

from layouts import ids

SPEC_TO_FIELD = "function(spec) { return spec ? JSON.stringify(spec) : ''; }"


def register(app: dash.Dash) -> None:
    app.clientside_callback(SPEC_TO_FIELD, Output(ids.EXPORT_SPEC, "value"), Input(ids.FILTER_STORE, "data"))
