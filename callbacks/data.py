"""Data panel callbacks: the dataset list, choosing a dataset, uploading a file (customers or
transactions), the data-quality report."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, fields
from typing import Any

import dash
from dash import Input, Output, State, ctx, html, no_update

from callbacks import url
from callbacks.common import as_outputs, error_alert, error_boundary, outputs
from core import pipeline
from core.errors import InputError
from core.pending import discard_pending, pending_path, save_pending
from core.rfm import inspect_transactions
from core.models import CATEGORICAL, NUMERIC, DatasetInfo
from core.segmentation import K_MAX, K_MIN, run_segmentation
from core.store import Store, check_id
from layouts import ids
from layouts.controls import DEFAULT_K, FILL_OPTIONS, LOG_SCALE_OPTION, SCALE_OPTIONS
from layouts.data_panel import quality_report
from layouts.datasets import duplicate_text
from layouts.feedback import alert

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
    """What the page shows for a chosen dataset; one field per output of choose_dataset."""

    report: Any
    feature_options: list[dict]
    features: list[str]
    scale_options: list[dict]
    scale: str
    fill: str
    k_auto: bool
    k: int
    run_id: str | None
    alert: Any = None  # "not segmented yet", or what went wrong


def feature_options(info: DatasetInfo) -> list[dict]:
    opts = [{"label": c.name, "value": c.name} for c in info.columns if c.role == NUMERIC]
    opts += [{"label": f"{c.name} (categorical)", "value": c.name} for c in info.columns if c.role == CATEGORICAL]
    return opts


def dataset_view(store: Store, dataset_id: Any, run_id: str | None = None) -> DatasetView:
    """The quality report, the segmentation controls' defaults and the latest run of a dataset (or the
    run `run_id` of it, e.g. an opened link's)."""
    info = store.get_dataset(check_id(dataset_id, "dataset"))
    run = store.get_run(run_id) if run_id else pipeline.latest_run(store, info.dataset_id)
    scale_options = list(SCALE_OPTIONS) + ([LOG_SCALE_OPTION] if info.kind == "transactions" else [])
    if run is not None:
        features, scale, fill, k = run.features, run.scale, run.fill, run.k
        k_auto = run.k == run.suggested_k
        if fill not in {o["value"] for o in FILL_OPTIONS}:
            fill = "median"  # a scored run's fill is the model's ("model"): a new fit starts from the default
    else:
        features = pipeline.initial_features(info)
        scale, fill, k, k_auto = pipeline.initial_scale(info), "median", DEFAULT_K, True
    if scale not in {o["value"] for o in scale_options}:
        scale_options.append({"label": scale, "value": scale})
    return DatasetView(
        report=quality_report(info.quality, info.name),
        feature_options=feature_options(info),
        features=list(features),
        scale_options=scale_options,
        scale=scale,
        fill=fill,
        k_auto=k_auto,
        k=max(K_MIN, min(K_MAX, int(k))),
        run_id=run.run_id if run else None,
        alert=None if run else alert(
            "This dataset has not been segmented yet: choose features and press Run.", color="info"),
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


def clean_mapping(values: dict[str, Any]) -> dict | None:
    """The transactions column mapping the form sent ({role: column}); blanks are left out."""
    mapping = {}
    for key, value in values.items():
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
    duplicate: DatasetInfo | None = None  # the same bytes are already loaded as this dataset


@error_boundary("loading the upload", lambda err, *_, **__: UploadResult(None, None, err))
def handle_upload(
    store: Store,
    contents: Any,
    filename: Any,
    *,
    transactions: bool = False,
    mapping: dict | None = None,
    max_bytes: int,
    force: bool = True,
) -> UploadResult:
    """Load an uploaded file as a new dataset and segment it with the defaults.

    A file that cannot be loaded leaves nothing behind (the alert says what to fix). A file that loads
    but cannot be segmented with the defaults is kept and selected, with a warning."""
    name, data = decode_upload(contents, filename, max_bytes)
    existing = None if force else pipeline.already_loaded(store, data)
    if existing is not None:
        # Nothing is loaded: the person chooses between the loaded copy and a second one.
        return UploadResult(None, None, alert(f"This file is already loaded as '{existing.name}'.", color="info"),
                            duplicate=existing)
    info = pipeline.ingest_upload(store, name, data, transactions=bool(transactions), mapping=mapping)
    return segment_loaded(store, info)


def segment_loaded(store: Store, info: DatasetInfo) -> UploadResult:
    """Segment a dataset just loaded with the defaults; a failure keeps the dataset, with a warning."""
    try:
        run = run_segmentation(store, info.dataset_id, pipeline.initial_features(info), k="auto",
                               scale=pipeline.initial_scale(info))
    except Exception as exc:  # noqa: BLE001 - the dataset is loaded: keep it, say why it is not segmented
        err = error_alert(exc, f"segmenting '{info.name}'")
        return UploadResult(info.dataset_id, None, alert(
            [
                html.Strong(f"Loaded '{info.name}' ({info.rows_loaded:,} rows) but could not segment it "
                            "with the default features: "),
                err.children,
                html.Div("Choose features in Segmentation and press Run."),
            ],
            color="warning",
        ))
    kind = "transactions summarised per customer (RFM), " if info.kind == "transactions" else ""
    return UploadResult(info.dataset_id, run.run_id, alert(
        f"Loaded '{info.name}': {kind}{info.rows_loaded:,} customers; "
        f"{run.k} segments (suggested k = {run.suggested_k}).",
        color="success",
        duration=8000,
    ))


def start_mapping(store: Store, contents: Any, filename: Any, max_bytes: int, previous: Any) -> dict:
    """A transactions upload: keep the bytes server-side under a token (dropping the previous pending
    file), detect the columns; the returned dict (token, name, columns, detection) is what the
    browser holds until the user loads."""
    name, data = decode_upload(contents, filename, max_bytes)
    if isinstance(previous, dict):
        discard_pending(store, previous.get("token"))
    token = save_pending(store, name, data)
    try:
        columns, detected = inspect_transactions(store, pending_path(store, token),
                                                 source_name=pipeline.safe_filename(name))
    except Exception:
        discard_pending(store, token)  # an unreadable file is not kept
        raise
    return {"token": token, "name": pipeline.safe_filename(name), "columns": list(columns),
            "detected": detected.roles(), "sure": bool(detected.sure), "reasons": list(detected.reasons)}


@dataclass
class UploadView:
    """What an upload changes: the dataset picker (when something loaded), the alert, and the upload
    component's contents (cleared, so the same file can be chosen again)."""

    options: Any
    value: Any
    alert: Any
    contents: Any = None
    pending: Any = no_update  # a transactions file waiting for its mapping (PENDING_STORE)
    offer_open: bool = False  # "already loaded as ...: open it / load again"
    offer_text: Any = ""
    duplicate: Any = None  # the dataset id the offer opens


@error_boundary("reading the upload", lambda err, *_, **__: UploadView(no_update, no_update, err))
def upload_view(store: Store, contents: Any, filename: Any, transactions: Any, max_bytes: int,
                previous: Any = None, *, force: bool = False) -> UploadView:
    """A customer table loads and segments at once (unless the same bytes are loaded already: the page
    offers to open that copy or load again); a transactions file waits for its mapping."""
    if transactions:
        pending = start_mapping(store, contents, filename, max_bytes, previous)
        return UploadView(no_update, no_update, None, pending=pending)
    result = handle_upload(store, contents, filename, max_bytes=max_bytes, force=force)
    if result.duplicate is not None:
        # The file's contents stay in the upload component, so "Load again" can still load them.
        return UploadView(no_update, no_update, None, contents=no_update, offer_open=True,
                          offer_text=duplicate_text(result.duplicate.name),
                          duplicate=result.duplicate.dataset_id)
    dropped = no_update
    if isinstance(previous, dict):  # a transactions file left waiting is replaced by this upload
        discard_pending(store, previous.get("token"))
        dropped = None
    if result.dataset_id is None:
        # Nothing was loaded: the previous dataset stays selected and usable.
        return UploadView(no_update, no_update, result.message, pending=dropped)
    return UploadView(dataset_options(store), result.dataset_id, result.message, pending=dropped)


# -- wiring -----------------------------------------------------------------------------------------
@dataclass
class PageView:
    """The dataset picker when the page opens."""

    options: list[dict]
    value: str | None
    alert: Any = None
    pending: Any = None  # callbacks/url.py: the opened link's {dataset, run, spec}
    link_alert: Any = None  # what the link could not restore


@error_boundary("listing the datasets", lambda err, *_: PageView([], None, err))
def page_view(store: Store, default_dataset_id: str | None) -> PageView:
    options = dataset_options(store)
    values = {o["value"] for o in options}
    value = default_dataset_id if default_dataset_id in values else (options[0]["value"] if options else None)
    return PageView(options, value)


def linked_page(store: Store, default_dataset_id: str | None, search: Any, last: Any) -> PageView:
    """The page as the URL's view (or the last view) asks: its dataset chosen, its run and filter pending."""
    view = page_view(store, default_dataset_id)
    link = url.opened_link(store, search, last)
    if link.dataset_id is not None and any(o["value"] == link.dataset_id for o in view.options):
        view.value, view.pending = link.dataset_id, link.pending
    view.link_alert = link.alert
    return view


# The callback's boundary around dataset_view (which raises, for its tests): on failure only the alert.
shown_dataset = error_boundary(
    "opening the dataset",
    lambda err, *_: DatasetView(*[no_update] * (len(fields(DatasetView)) - 1), alert=err),
)(dataset_view)


def register(app: dash.Dash, store: Store, *, default_dataset_id: str | None, max_upload_bytes: int) -> None:
    @app.callback(
        output=outputs(PageView, dict(
            options=Output(ids.DATASET_PICKER, "options"),
            value=Output(ids.DATASET_PICKER, "value"),
            alert=Output(ids.DATASET_ALERT, "children"),
            pending=Output(ids.URL_PENDING, "data"),
            link_alert=Output(ids.URL_ALERT, "children"),
        )),
        inputs=dict(_pathname=Input(ids.URL, "pathname")),
        state=dict(search=State(ids.URL, "search"), last=State(ids.LAST_VIEW, "data")),
    )
    def load_page(_pathname, search, last):
        return as_outputs(linked_page(store, default_dataset_id, search, last))

    @app.callback(
        output=outputs(DatasetView, dict(
            report=Output(ids.QUALITY_REPORT, "children"),
            feature_options=Output(ids.FEATURES, "options"),
            features=Output(ids.FEATURES, "value"),
            scale_options=Output(ids.SCALE, "options"),
            scale=Output(ids.SCALE, "value"),
            fill=Output(ids.FILL, "value"),
            k_auto=Output(ids.K_AUTO, "value"),
            k=Output(ids.K_SLIDER, "value"),
            run_id=Output(ids.RUN_STORE, "data", allow_duplicate=True),
            alert=Output(ids.DATASET_ALERT, "children", allow_duplicate=True),
        )),
        inputs=dict(dataset_id=Input(ids.DATASET_PICKER, "value")),
        state=dict(pending=State(ids.URL_PENDING, "data")),
        prevent_initial_call=True,
    )
    def choose_dataset(dataset_id, pending):
        if dataset_id is None:
            return {f.name: no_update for f in fields(DatasetView)}
        # a link's run instead of the latest (opened_link checked that it belongs to this dataset)
        return as_outputs(shown_dataset(store, dataset_id, url.pending_run(pending, dataset_id)))

    _register_upload(app, store, max_upload_bytes)


def _register_upload(app: dash.Dash, store: Store, max_upload_bytes: int) -> None:
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
        output=outputs(UploadView, dict(
            options=Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
            value=Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
            alert=Output(ids.UPLOAD_ALERT, "children"),
            contents=Output(ids.UPLOAD, "contents"),
            pending=Output(ids.PENDING_STORE, "data"),
            offer_open=Output(ids.DUPLICATE_OFFER, "is_open"),
            offer_text=Output(ids.DUPLICATE_TEXT, "children"),
            duplicate=Output(ids.DUPLICATE_STORE, "data"),
        )),
        inputs=dict(gate=Input(ids.UPLOAD_GATE, "data"), again=Input(ids.DUPLICATE_AGAIN, "n_clicks")),
        state=dict(contents=State(ids.UPLOAD, "contents"), filename=State(ids.UPLOAD, "filename"),
                   transactions=State(ids.RFM_SWITCH, "value"), previous=State(ids.PENDING_STORE, "data")),
        running=[
            (Output(ids.UPLOAD, "disabled"), True, False),
            (Output(ids.UPLOAD_STATUS, "style"), {"display": "flex"}, {"display": "none"}),
        ],
        prevent_initial_call=True,
    )
    def upload(gate, again, contents, filename, transactions, previous):
        if not contents:
            return {f.name: no_update for f in fields(UploadView)}
        force = ctx.triggered_id == ids.DUPLICATE_AGAIN
        return as_outputs(upload_view(store, contents, filename, transactions, max_upload_bytes, previous,
                                      force=force))
