"""Every component id of the dashboard, in one place: layouts and callbacks import these names.

Plain strings are single components. Pattern-matching ids (one component per column) are built by the
small functions at the bottom, whose `type` keys are also constants here.
"""
from __future__ import annotations

# -- per-session state (dcc.Store: ids and the small filter spec, never rows) ------------------
URL = "url"
RUN_STORE = "run-store"  # the current run id
FILTER_STORE = "filter-store"  # FilterSpec.to_dict() of the current selection
# the scatter's box or lasso as the server needs it: Plotly's selectedData without its points (a box over
# 12,000 points would otherwise send a megabyte of them with every selection)
SCATTER_REGION = "scatter-region"
UPLOAD_GATE = "upload-gate"  # {"ok": bool, "t": timestamp}: set in the browser before a file is sent
UPLOAD_LIMIT = "upload-limit"  # the upload size limit in bytes, for the browser-side check

# -- data panel ---------------------------------------------------------------------------------
UPLOAD = "upload"
UPLOAD_STATUS = "upload-status"  # spinner + messages of the last upload
UPLOAD_ALERT = "upload-alert"
UPLOAD_CLIENT_ALERT = "upload-client-alert"  # "file too large" found in the browser
RFM_SWITCH = "rfm-switch"
RFM_MAPPING = "rfm-mapping"  # the collapsible column mapping
MAP_CUSTOMER = "map-customer"
MAP_DATE = "map-date"
MAP_AMOUNT = "map-amount"
DATASET_PICKER = "dataset-picker"
DATASET_ALERT = "dataset-alert"
QUALITY_REPORT = "quality-report"
# transactions mapping step (layouts/mapping.py, callbacks/mapping.py)
PENDING_STORE = "pending-upload"  # {token, name, columns, detected, sure, reasons}: never the file's bytes
MAPPING_PANEL = "mapping-panel"
MAPPING_TITLE = "mapping-title"
MAP_QUANTITY = "map-quantity"
MAP_PRICE = "map-price"
MAP_INVOICE = "map-invoice"
MAP_DATE_ORDER = "map-date-order"
MAPPING_NOTE = "mapping-note"  # why to check, how the dates were read
MAPPING_CONFIRM_BOX = "mapping-confirm-box"
MAPPING_CONFIRM = "mapping-confirm"
MAPPING_PREVIEW = "mapping-preview"
MAPPING_LOAD = "mapping-load"
MAPPING_STATUS = "mapping-status"
MAPPING_ALERT = "mapping-alert"

# -- segmentation controls ----------------------------------------------------------------------
FEATURES = "features"
SCALE = "scale"
FILL = "fill"
K_SLIDER = "k-slider"
K_AUTO = "k-auto"
K_NOTE = "k-note"  # "suggested k = 5"
RUN_BUTTON = "run-button"
RUN_STATUS = "run-status"  # spinner and text while a run is in progress
RUN_ALERT = "run-alert"
RUN_SUMMARY = "run-summary"

# -- charts --------------------------------------------------------------------------------------
ELBOW_GRAPH = "elbow-graph"
SCATTER_GRAPH = "scatter-graph"
SCATTER_NOTE = "scatter-note"  # "showing N of M"
HISTOGRAMS = "histograms"  # container of one graph per feature
VIEWS_ALERT = "views-alert"

# -- profile and customers ------------------------------------------------------------------------
PROFILE_GRID = "profile-grid"
CUSTOMER_GRID = "customer-grid"
CUSTOMER_TITLE = "customer-title"

# -- filters ---------------------------------------------------------------------------------------
SEGMENT_CHECKLIST = "segment-checklist"
RANGE_FILTERS = "range-filters"  # container of one range slider per numeric column
CATEGORY_FILTERS = "category-filters"  # container of one value picker per categorical column
KIND_FILTERS = "kind-filters"  # container of the controls of kinds without a column (rule, original)
CLEAR_FILTERS = "clear-filters"
SUMMARY = "summary"  # "312 of 200 customers selected"
FILTER_ALERT = "filter-alert"

# -- export --------------------------------------------------------------------------------------
EXPORT_BUTTON = "export-button"
EXPORT_DOWNLOAD = "export-download"
EXPORT_ALERT = "export-alert"

# -- models, scoring, compare (layouts/models.py, callbacks/models.py) ------------------------------
MODEL_DOWNLOAD_BUTTON = "model-download-button"
MODEL_DOWNLOAD = "model-download"
SCORE_UPLOAD = "score-upload"  # "Score a file with this run"
SCORE_STATUS = "score-status"
MODELS_ALERT = "models-alert"
COMPARE_RUN = "compare-run"  # the other run to compare the current one with
COMPARE_GRAPH = "compare-graph"  # the transition heatmap; a cell click sets the "transition" filter
COMPARE_STATS = "compare-stats"  # ARI, kept / moved / new / gone
COMPARE_KEY = "compare-key"  # {run_id, transition} of the filter: the heatmap redraws only when it changes

# -- a view you can share (callbacks/url.py) --------------------------------------------------------
LAST_VIEW = "last-view"  # dcc.Store(local): the last view's query string, restored without a link
URL_PENDING = "url-pending"  # {dataset, run, spec} of an opened link, until its filter is restored
URL_ARRIVED = "url-arrived"  # the fresh spec of the pending link's run: the link's filter goes in place
URL_ALERT = "url-alert"  # "this link's run no longer exists", ...

# -- pattern-matching ids: one component per column ---------------------------------------------
HIST_TYPE = "hist"
RANGE_TYPE = "range"
RANGE_LABEL_TYPE = "range-label"
CATEGORY_TYPE = "category"
DATE_RANGE_TYPE = "date-range"  # one date-range slider per date column (filter kind "dates")
FILTER_CONTROL_TYPE = "filter-control"  # one control per filter kind: {"type": ..., "kind": key}


def hist(column: str) -> dict:
    return {"type": HIST_TYPE, "column": column}


def range_slider(column: str) -> dict:
    return {"type": RANGE_TYPE, "column": column}


def range_label(column: str) -> dict:
    """The text beside a range slider that shows its current values."""
    return {"type": RANGE_LABEL_TYPE, "column": column}


def category_picker(column: str) -> dict:
    return {"type": CATEGORY_TYPE, "column": column}


def date_range(column: str) -> dict:
    """A date column's range slider (days since 1970-01-01); its label is range_label(column)."""
    return {"type": DATE_RANGE_TYPE, "column": column}


def filter_control(kind: str) -> dict:
    """The control of a filter kind that needs no column (core.filters.KINDS key); its `value` is
    what the kind's control_value gives and what its apply takes."""
    return {"type": FILTER_CONTROL_TYPE, "kind": kind}


# Which filter kind (core.filters.KINDS key) each filtering input changes: by component id, or by
# the `type` of a pattern-matching id (whose `column` says which column).
FILTER_INPUT_KINDS = {
    SCATTER_REGION: "region",  # data: the scatter's selectedData without its points
    PROFILE_GRID: "segments",  # cellClicked
    SEGMENT_CHECKLIST: "segments",  # value
    HIST_TYPE: "ranges",  # selectedData
    RANGE_TYPE: "ranges",  # value
    CATEGORY_TYPE: "categories",  # value
    DATE_RANGE_TYPE: "dates",  # value
    COMPARE_GRAPH: "transition",  # clickData (core/model_filters.py)
}

# -- why this segment (layouts/why.py, callbacks/why.py) -------------------------------------------
SCALE_HELP = "scale-help"  # the chosen scale's one-sentence explanation
K_HELP = "k-help"  # what elbow, silhouette and stability mean
SEGMENTS_MODE = "segments-mode"  # transactions: "kmeans" | "rfm-groups"
SEGMENTS_MODE_ROW = "segments-mode-row"  # shown for transactions datasets only
WHY_CARD = "why-card"
WHY_SEGMENT = "why-segment"  # which segment the why view explains
WHY_BODY = "why-body"
WHY_DRIVERS = "why-drivers"  # the drivers' bar chart
ROLES_TABLE = "roles-table"  # column, role, reason under the quality report
WHY_RULE_TYPE = "why-rule"  # "Show customers matching this rule": {"type": WHY_RULE_TYPE, "value": segment id}
# Buttons whose pattern id carries the filter value under "value" (a click applies it): id type -> kind.
FILTER_BUTTON_KINDS = {WHY_RULE_TYPE: "rule"}


def why_rule_button(segment: int) -> dict:
    return {"type": WHY_RULE_TYPE, "value": int(segment)}


def why_rule_button_all() -> dict:
    """Every "Show customers matching this rule" button (Dash's ALL wildcard), for the filter callback."""
    from dash import ALL  # ids stay importable without Dash for everything else

    return {"type": WHY_RULE_TYPE, "value": ALL}
# -- the count bar's chips and the filter history (layouts/chips.py, callbacks/chips.py) ------------
FILTER_HISTORY = "filter-history"  # {"past": [specs], "future": [specs]}: undo and redo
FILTER_CHIPS = "filter-chips"  # one chip per active filter part
UNDO_FILTER = "undo-filter"
REDO_FILTER = "redo-filter"
CHIP_REMOVE_TYPE = "chip-remove"


def chip_remove(kind: str, column: str) -> dict:
    """The remove button of one chip: a filter kind (core.filters.KINDS key) and its column ('' for none)."""
    return {"type": CHIP_REMOVE_TYPE, "kind": kind, "column": column}

# -- datasets kept: rename, delete (with a confirmation), runs, duplicate uploads (layouts/datasets.py)
DATASET_NAME = "dataset-name"  # the rename input
DATASET_RENAME = "dataset-rename"
DATASET_DELETE = "dataset-delete"  # opens the confirmation
DELETE_MODAL = "delete-modal"
DELETE_CONFIRM = "delete-confirm"
DELETE_CANCEL = "delete-cancel"
DELETE_TEXT = "delete-text"
DATASET_ACTION_ALERT = "dataset-action-alert"  # what a rename or delete did
RUNS_LIST = "runs-list"  # one button per stored run of the chosen dataset
RUN_OPEN_TYPE = "run-open"
DUPLICATE_OFFER = "duplicate-offer"  # "this file is already loaded as ...: open it / load again"
DUPLICATE_OPEN = "duplicate-open"
DUPLICATE_AGAIN = "duplicate-again"
DUPLICATE_STORE = "duplicate-store"  # the dataset id the duplicate offer points to
DUPLICATE_TEXT = "duplicate-text"

# -- help (layouts/help.py) --------------------------------------------------------------------
HELP_BUTTON = "help-button"
HELP_PANEL = "help-panel"  # the "how to read this" card (open on a first visit)
HELP_CLOSE = "help-close"
HELP_SEEN = "help-seen"  # dcc.Store (local): the "how to read this" was shown once


def run_open(run_id: str) -> dict:
    """The button of a stored run in the runs list."""
    return {"type": RUN_OPEN_TYPE, "run": run_id}

# -- progress of long work and the import folder (layouts/progress.py) -------------------------
JOB_STORE = "job-store"  # {"job_id", "kind"} of the job this page follows
JOB_POLL = "job-poll"  # dcc.Interval asking for the job's progress while one runs
JOB_PROGRESS = "job-progress"  # the stage and percentage
IMPORT_PICKER = "import-picker"  # files of the server's import folder
IMPORT_REFRESH = "import-refresh"
IMPORT_BUTTON = "import-button"
IMPORT_ALERT = "import-alert"

# -- export in another format: a plain HTML form posted to /download/export (layouts/export_form.py)
EXPORT_FORM = "export-form"
EXPORT_SPEC = "export-spec"  # hidden input: the filter spec as JSON, filled in the browser
EXPORT_FORMAT = "export-format"
EXPORT_SUBMIT = "export-submit"
DATASET_MANAGE = "dataset-manage"  # the summary that unfolds rename/delete/runs
IMPORT_OPEN = "import-open"  # the summary that unfolds the import-folder panel
