"""Data panel callbacks: the dataset list, choosing a dataset, uploading a file (customers or
transactions), the data-quality report."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import dash
from dash import Input, Output, State, html, no_update

from callbacks.common import alert, attempt
from core import pipeline
from core.errors import InputError
from core.models import CATEGORICAL, NUMERIC, DatasetInfo
from core.store import Store, check_id
from layouts import ids
from layouts.controls import LOG_SCALE_OPTION, SCALE_OPTIONS
from layouts.data_panel import quality_report

MAX_LISTED_DATASETS = 200
MAX_MAPPING_CHARS = 200


# -- logic (plain functions, unit-tested) ----------------------------------------------------------
def dataset_options(store: Store) -> list[dict]:
    """Dropdown options for the stored datasets, newest first."""
    out = []
    for info in store.list_datasets()[:MAX_LISTED_DATASETS]:
        kind = " · transactions (RFM)" if info.kind == "transactions" else ""
        out.append(
            {
                "label": f"{info.name} — {info.rows_loaded:,} customers{kind} ({info.created_at})",
                "value": info.dataset_id,
            }
        )
    return out


@dataclass
class DatasetView:
    """What the page shows for a chosen dataset."""

    dataset_id: str
    report: Any
    feature_options: list[dict]
    features: list[str]
    scale_options: list[dict]
    scale: str
    fill: str
    k_auto: bool
    k: int
    run_id: str | None
    notes: list[str] = field(default_factory=list)


def feature_options(info: DatasetInfo) -> list[dict]:
    opts = [{"label": c.name, "value": c.name} for c in info.columns if c.role == NUMERIC]
    opts += [{"label": f"{c.name} (categorical)", "value": c.name} for c in info.columns if c.role == CATEGORICAL]
    return opts


def dataset_view(store: Store, dataset_id: Any) -> DatasetView:
    """The quality report, the segmentation controls' defaults and the latest run of a dataset."""
    info = store.get_dataset(check_id(dataset_id, "dataset"))
    run = pipeline.latest_run(store, info.dataset_id)
    scale_options = list(SCALE_OPTIONS) + ([LOG_SCALE_OPTION] if info.kind == "transactions" else [])
    if run is not None:
        features, scale, fill, k = run.features, run.scale, run.fill, run.k
        k_auto = run.k == run.suggested_k
    else:
        features = pipeline.initial_features(info)
        scale, fill, k, k_auto = pipeline.initial_scale(info), "median", 5, True
    if scale not in {o["value"] for o in scale_options}:
        scale_options.append({"label": scale, "value": scale})
    return DatasetView(
        dataset_id=info.dataset_id,
        report=quality_report(info.quality, info.name),
        feature_options=feature_options(info),
        features=list(features),
        scale_options=scale_options,
        scale=scale,
        fill=fill,
        k_auto=k_auto,
        k=max(2, min(10, int(k))),
        run_id=run.run_id if run else None,
        notes=[] if run else ["This dataset has not been segmented yet: choose features and press Run."],
    )


def decode_upload(contents: Any, filename: Any, max_bytes: int) -> tuple[str, bytes]:
    """The file name and bytes of a dcc.Upload value ('data:<type>;base64,<data>'), size-checked."""
    if not isinstance(filename, str) or not filename.strip():
        raise InputError("the upload has no file name; choose the file again")
    if not isinstance(contents, str) or "," not in contents[:300]:
        raise InputError(f"'{pipeline.safe_filename(filename)}' could not be read by the browser; try again")
    b64 = contents.split(",", 1)[1]
    if len(b64) * 3 // 4 > max_bytes + 3:
        raise InputError(_too_large(filename, max_bytes))
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"'{pipeline.safe_filename(filename)}' arrived damaged; upload it again") from None
    if len(data) > max_bytes:
        raise InputError(_too_large(filename, max_bytes))
    return filename, data


def _too_large(filename: str, max_bytes: int) -> str:
    return (
        f"'{pipeline.safe_filename(filename)}' is larger than the upload limit of "
        f"{max_bytes / 1024 / 1024:,.0f} MB; upload a smaller file or ask the administrator to raise "
        "CSI_MAX_UPLOAD_MB"
    )


def clean_mapping(customer: Any, date: Any, amount: Any) -> dict | None:
    """The optional transactions column mapping; blanks mean 'detect'."""
    mapping = {}
    for key, value in (("customer", customer), ("date", date), ("amount", amount)):
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > MAX_MAPPING_CHARS:
            raise InputError(f"the {key} column must be a column name of at most {MAX_MAPPING_CHARS} characters")
        if value.strip():
            mapping[key] = value.strip()
    return mapping or None


@dataclass
class UploadResult:
    dataset_id: str | None  # None when nothing was loaded
    run_id: str | None
    message: Any  # an alert


def handle_upload(
    store: Store,
    contents: Any,
    filename: Any,
    *,
    transactions: bool = False,
    mapping: dict | None = None,
    max_bytes: int,
) -> UploadResult:
    """Load an uploaded file as a new dataset and segment it with the defaults.

    A file that cannot be loaded leaves nothing behind (the alert says what to fix). A file that loads
    but cannot be segmented with the defaults is kept and selected, with a warning."""
    decoded, err = attempt("reading the upload", decode_upload, contents, filename, max_bytes)
    if err is not None:
        return UploadResult(None, None, err)
    name, data = decoded
    info, err = attempt(
        f"loading '{pipeline.safe_filename(name)}'",
        pipeline.ingest_upload,
        store,
        name,
        data,
        transactions=bool(transactions),
        mapping=mapping,
    )
    if err is not None:
        return UploadResult(None, None, err)
    from core.segmentation import run_segmentation

    run, err = attempt(
        f"segmenting '{info.name}'",
        run_segmentation,
        store,
        info.dataset_id,
        pipeline.initial_features(info),
        k="auto",
        scale=pipeline.initial_scale(info),
    )
    if err is not None:
        return UploadResult(
            info.dataset_id,
            None,
            alert(
                [
                    html.Strong(f"Loaded '{info.name}' ({info.rows_loaded:,} rows) but could not segment it "
                                "with the default features: "),
                    err.children if hasattr(err, "children") else "",
                    html.Div("Choose features in Segmentation and press Run."),
                ],
                color="warning",
            ),
        )
    kind = "transactions summarised per customer (RFM), " if info.kind == "transactions" else ""
    return UploadResult(
        info.dataset_id,
        run.run_id,
        alert(
            f"Loaded '{info.name}': {kind}{info.rows_loaded:,} customers; "
            f"{run.k} segments (suggested k = {run.suggested_k}).",
            color="success",
            duration=8000,
        ),
    )


# -- wiring -----------------------------------------------------------------------------------------
def register(app: dash.Dash, store: Store, *, default_dataset_id: str | None, max_upload_bytes: int) -> None:
    @app.callback(
        Output(ids.DATASET_PICKER, "options"),
        Output(ids.DATASET_PICKER, "value"),
        Output(ids.DATASET_ALERT, "children"),
        Input(ids.URL, "pathname"),
    )
    def load_page(_pathname):
        options, err = attempt("listing the datasets", dataset_options, store)
        if err is not None:
            return [], None, err
        values = {o["value"] for o in options}
        value = default_dataset_id if default_dataset_id in values else (options[0]["value"] if options else None)
        return options, value, None

    @app.callback(
        Output(ids.QUALITY_REPORT, "children"),
        Output(ids.FEATURES, "options"),
        Output(ids.FEATURES, "value"),
        Output(ids.SCALE, "options"),
        Output(ids.SCALE, "value"),
        Output(ids.FILL, "value"),
        Output(ids.K_AUTO, "value"),
        Output(ids.K_SLIDER, "value"),
        Output(ids.RUN_STORE, "data", allow_duplicate=True),
        Output(ids.DATASET_ALERT, "children", allow_duplicate=True),
        Input(ids.DATASET_PICKER, "value"),
        prevent_initial_call=True,
    )
    def choose_dataset(dataset_id):
        if dataset_id is None:
            return (no_update,) * 10
        view, err = attempt("opening the dataset", dataset_view, store, dataset_id)
        if err is not None:
            return (no_update,) * 9 + (err,)
        note = alert(view.notes[0], color="info") if view.notes else None
        return (
            view.report,
            view.feature_options,
            view.features,
            view.scale_options,
            view.scale,
            view.fill,
            view.k_auto,
            view.k,
            view.run_id,
            note,
        )

    # The browser checks the size before sending anything (the server enforces it again).
    app.clientside_callback(
        """
        function(contents, filename, limit) {
            const nu = window.dash_clientside.no_update;
            if (!contents) { return [nu, "", ""]; }
            const comma = contents.indexOf(",");
            const bytes = Math.floor((contents.length - comma - 1) * 3 / 4);
            if (limit && bytes > limit) {
                const mb = Math.round(limit / 1048576);
                return [nu, "'" + filename + "' is larger than the upload limit of " + mb +
                        " MB; upload a smaller file.", "alert alert-danger csi-alert py-2 px-3 mt-2 mb-0"];
            }
            return [{"ok": true, "t": Date.now()}, "", ""];
        }
        """,
        Output(ids.UPLOAD_GATE, "data"),
        Output(ids.UPLOAD_CLIENT_ALERT, "children"),
        Output(ids.UPLOAD_CLIENT_ALERT, "className"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"),
        prevent_initial_call=True,
    )

    app.clientside_callback(
        "function(on) { return !!on; }",
        Output(ids.RFM_MAPPING, "is_open"),
        Input(ids.RFM_SWITCH, "value"),
    )

    @app.callback(
        Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
        Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
        Output(ids.UPLOAD_ALERT, "children"),
        Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD_GATE, "data"),
        State(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.RFM_SWITCH, "value"),
        State(ids.MAP_CUSTOMER, "value"),
        State(ids.MAP_DATE, "value"),
        State(ids.MAP_AMOUNT, "value"),
        running=[
            (Output(ids.UPLOAD, "disabled"), True, False),
            (Output(ids.UPLOAD_STATUS, "style"), {"display": "flex"}, {"display": "none"}),
        ],
        prevent_initial_call=True,
    )
    def upload(gate, contents, filename, transactions, customer, date, amount):
        if not contents:
            return no_update, no_update, no_update, no_update
        mapping, err = attempt("reading the column mapping", clean_mapping, customer, date, amount)
        if err is not None:
            return no_update, no_update, err, None
        result = handle_upload(
            store, contents, filename, transactions=bool(transactions), mapping=mapping,
            max_bytes=max_upload_bytes,
        )
        if result.dataset_id is None:
            # Nothing was loaded: the previous dataset stays selected and usable.
            return no_update, no_update, result.message, None
        options, _ = attempt("listing the datasets", dataset_options, store)
        return options or no_update, result.dataset_id, result.message, None
