"""Every component id of the dashboard, in one place: layouts and callbacks import these names.

Plain strings are single components. Pattern-matching ids (one component per column) are built by the
small functions at the bottom, whose `type` keys are also constants here.
"""
from __future__ import annotations

# -- per-session state (dcc.Store: ids and the small filter spec, never rows) ------------------
URL = "url"
RUN_STORE = "run-store"  # the current run id
FILTER_STORE = "filter-store"  # FilterSpec.to_dict() of the current selection
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

# -- pattern-matching ids: one component per column ---------------------------------------------
HIST_TYPE = "hist"
RANGE_TYPE = "range"
RANGE_LABEL_TYPE = "range-label"
CATEGORY_TYPE = "category"
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


def filter_control(kind: str) -> dict:
    """The control of a filter kind that needs no column (core.filters.KINDS key); its `value` is
    what the kind's control_value gives and what its apply takes."""
    return {"type": FILTER_CONTROL_TYPE, "kind": kind}


# Which filter kind (core.filters.KINDS key) each filtering input changes: by component id, or by
# the `type` of a pattern-matching id (whose `column` says which column).
FILTER_INPUT_KINDS = {
    SCATTER_GRAPH: "region",  # selectedData
    PROFILE_GRID: "segments",  # cellClicked
    SEGMENT_CHECKLIST: "segments",  # value
    HIST_TYPE: "ranges",  # selectedData
    RANGE_TYPE: "ranges",  # value
    CATEGORY_TYPE: "categories",  # value
}

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
