"""Data panel and segmentation callback bodies: uploads (good, bad, too large, transactions), the dataset
view, the Run button's validation, k larger than the distinct points, and the run-dependent page parts."""
from __future__ import annotations

import base64
import dataclasses
import io
import json

import dash_bootstrap_components as dbc
import pytest

from callbacks.data import clean_mapping, dataset_options, dataset_view, decode_upload, handle_upload
from callbacks.export import export_download
from callbacks.segment import run_view, start_run, validate_run_request
from core import pipeline
from core.config import PROJECT_DIR
from core.errors import InputError
from layouts import theme

from cb_helpers import text_of

MB = 1024 * 1024


def as_upload(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def small_csv(rows: int = 60) -> bytes:
    lines = ["id,spend,visits,region"]
    for i in range(rows):
        lines.append(f"{i + 1},{(i * 37) % 100 + 0.5},{(i * 11) % 17},{'north' if i % 3 else 'south'}")
    return ("\n".join(lines) + "\n").encode()


# -- dataset list and view -------------------------------------------------------------------------
def test_the_sample_is_listed_and_opens_with_its_run(sample):
    options = dataset_options(sample.store)
    assert len(options) == 1 and "200 customers" in options[0]["label"]
    view = dataset_view(sample.store, options[0]["value"])
    assert view.run_id == sample.run.run_id
    assert view.features == ["Annual Income (k$)", "Spending Score (1-100)"]
    assert {"Gender (categorical)", "Age"} <= {o["label"] for o in view.feature_options}
    assert "CustomerID" not in {o["value"] for o in view.feature_options}  # identifiers are not features
    assert view.k == 5 and view.k_auto
    assert "200 data rows read" in text_of(view.report)
    assert view.report.children.title.startswith("Data quality — 200 rows read, 200 loaded")


def test_unknown_dataset_is_an_input_error(sample):
    with pytest.raises(InputError):
        dataset_view(sample.store, "0123456789ab")
    with pytest.raises(InputError):
        dataset_view(sample.store, {"$ne": 1})


# -- uploads -----------------------------------------------------------------------------------------
def test_decode_upload_checks_name_encoding_and_size():
    name, data = decode_upload(as_upload(b"a,b\n1,2\n"), "x.csv", MB)
    assert (name, data) == ("x.csv", b"a,b\n1,2\n")
    with pytest.raises(InputError, match="upload limit"):
        decode_upload(as_upload(b"x" * 2000), "big.csv", 1000)
    with pytest.raises(InputError, match="damaged"):
        decode_upload("data:text/csv;base64,@@@@", "x.csv", MB)
    with pytest.raises(InputError):
        decode_upload(None, "x.csv", MB)
    with pytest.raises(InputError):
        decode_upload(as_upload(b"a"), None, MB)


def test_upload_creates_a_dataset_and_segments_it(fresh):
    result = handle_upload(fresh.store, as_upload(small_csv()), "shop.csv", max_bytes=MB)
    assert result.dataset_id and result.run_id, text_of(result.message)
    assert result.message.color == "success"
    assert "Loaded 'shop'" in text_of(result.message)
    run = fresh.store.get_run(result.run_id)
    assert run.dataset_id == result.dataset_id
    assert "id" not in run.features  # the identifier is never a feature
    view = run_view(fresh.store, result.run_id)
    assert len(view.segment_options) == run.k
    assert {c.children[1].id["column"] for c in view.range_filters} >= {"spend", "visits"}
    assert len(view.category_filters) == 1  # region


def test_bad_upload_shows_what_to_fix_and_keeps_every_dataset(fresh):
    before = [d.dataset_id for d in fresh.store.list_datasets()]
    for name, data in [
        ("empty.csv", b""),
        ("garbage.csv", bytes(range(256)) * 40),
        ("header_only.csv", b"a,b,c\n"),
    ]:
        result = handle_upload(fresh.store, as_upload(data), name, max_bytes=MB)
        assert result.dataset_id is None
        assert isinstance(result.message, dbc.Alert) and result.message.color == "danger"
        assert "Traceback" not in text_of(result.message)
        assert text_of(result.message)
    assert [d.dataset_id for d in fresh.store.list_datasets()] == before
    # the previous dataset is still usable
    assert dataset_view(fresh.store, before[0]).run_id == fresh.run.run_id


def test_too_large_upload_is_refused_before_loading(fresh):
    result = handle_upload(fresh.store, as_upload(small_csv(400)), "big.csv", max_bytes=1000)
    assert result.dataset_id is None and "upload limit" in text_of(result.message)


def test_transactions_upload_segments_customers_on_rfm(fresh):
    lines = ["customer,date,amount"]
    for c in range(40):
        for j in range(1 + c % 5):
            lines.append(f"C{c:03d},2024-{1 + (c + j) % 12:02d}-{1 + (c * 3 + j) % 28:02d},{10 + (c * 7 + j * 13) % 90}.50")
    data = ("\n".join(lines) + "\n").encode()
    result = handle_upload(fresh.store, as_upload(data), "orders.csv", transactions=True, max_bytes=MB)
    assert result.dataset_id and result.run_id, text_of(result.message)
    info = fresh.store.get_dataset(result.dataset_id)
    assert info.kind == "transactions" and info.rows_loaded == 40
    run = fresh.store.get_run(result.run_id)
    assert set(run.features) == {"recency_days", "frequency", "monetary"}


def test_mapping_is_optional_and_checked():
    assert clean_mapping({"customer": None, "date": "", "amount": "  "}) is None
    assert clean_mapping({"customer": "cust", "date": None, "amount": "total"}) == {"customer": "cust", "amount": "total"}
    with pytest.raises(InputError):
        clean_mapping({"customer": "x" * 500})
    with pytest.raises(InputError):
        clean_mapping({"customer": ["a"]})


# -- runs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("0123456789ab", [], "standard", "median", 5, True),
        ("0123456789ab", "Age", "standard", "median", 5, True),
        ("0123456789ab", ["Age"], "standard", "median", None, "yes"),
        ("not-an-id", ["Age"], "standard", "median", 5, True),
        ("0123456789ab", ["Age"] * 100, "standard", "median", 5, True),
    ],
)
def test_run_request_shape_is_validated(args):
    with pytest.raises(InputError):
        validate_run_request(*args)


@pytest.mark.parametrize(
    "settings",
    [
        ("zscore", "median", 5, True),
        ("standard", "mode", 5, True),
        ("standard", "median", 0, False),
        ("standard", "median", -1, False),
        ("standard", "median", 1000, False),
        ("standard", "median", "abc", False),
        ("standard", "median", 2.5, False),
        ("standard", "median", float("inf"), False),
        ("standard", "median", float("nan"), False),
    ],
)
def test_run_settings_are_refused_by_the_core_and_change_nothing(fresh, settings):
    """Scale, fill and k are checked by core.segmentation (their one home); the button shows why."""
    runs_before = len(fresh.store.list_runs())
    run_id, message = start_run(fresh.store, fresh.run.dataset_id, ["Age"], *settings)
    assert run_id is None and message.color == "danger"
    assert "went wrong" not in text_of(message)  # the core's own message, not a generic one
    assert len(fresh.store.list_runs()) == runs_before


def test_run_button_segments_with_the_chosen_settings(fresh):
    dataset_id = fresh.run.dataset_id
    run_id, message = start_run(fresh.store, dataset_id, ["Annual Income (k$)", "Spending Score (1-100)", "Age"],
                                "minmax", "mean", 4, False)
    assert run_id, text_of(message)
    run = fresh.store.get_run(run_id)
    assert run.k == 4 and run.scale == "minmax" and run.fill == "mean"
    assert run.explained_variance  # three features: the scatter shows PCA components
    view = run_view(fresh.store, run_id)
    assert "PC1" in text_of(view.summary) or view.elbow["data"]
    assert len(view.histograms) == 3


def test_k_larger_than_the_distinct_points_is_an_alert(fresh):
    lines = ["id,x,y"] + [f"{i + 1},{i % 3},{(i % 3) * 2}" for i in range(30)]  # 3 distinct points
    up = handle_upload(fresh.store, as_upload(("\n".join(lines) + "\n").encode()), "three.csv", max_bytes=MB)
    assert up.dataset_id
    run_id, message = start_run(fresh.store, up.dataset_id, ["x", "y"], "standard", "median", 8, False)
    assert run_id is None
    assert isinstance(message, dbc.Alert) and message.color == "danger"
    assert "distinct" in text_of(message).lower() or "k" in text_of(message)


def test_bad_run_request_is_an_alert_and_changes_nothing(fresh):
    runs_before = len(fresh.store.list_runs())
    run_id, message = start_run(fresh.store, fresh.run.dataset_id, ["Nope"], "standard", "median", 5, False)
    assert run_id is None and message.color == "danger"
    assert len(fresh.store.list_runs()) == runs_before


def test_run_view_of_the_sample(sample):
    view = run_view(sample.store, sample.run.run_id)
    assert view.spec == {"run_id": sample.run.run_id, "segments": [], "ranges": {}, "categories": {},
                         "region": None}
    assert len(view.segment_options) == 5
    assert "suggested k = 5" in text_of(view.k_note)
    names = [t["name"] for t in view.elbow["data"]]
    assert "inertia" in names and "silhouette" in names and "suggested k = 5" in names
    assert view.elbow["layout"]["shapes"][0]["x0"] == 5  # the chosen k
    hist_columns = [h.children.id["column"] for h in view.histograms]
    assert hist_columns[:2] == ["Annual Income (k$)", "Spending Score (1-100)"]
    assert [f.children[1].id["column"] for f in view.category_filters] == ["Gender"]
    fields = [c.get("field") for c in view.grid_columns]
    assert fields[:2] == ["CustomerID", "__segment_name"]
    assert set(fields[2:]) == {"Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"}


def test_no_run_view_has_messages(sample):
    view = run_view(sample.store, None)
    assert view.spec is None
    assert theme.NO_RUN_MESSAGE in str(view.elbow)


# -- export --------------------------------------------------------------------------------------------
def test_export_writes_exactly_the_filtered_rows(sample):
    openpyxl = pytest.importorskip("openpyxl")
    spec = sample.spec(segments=[2])
    data, err = export_download(sample.store, spec)
    assert err is None and data["filename"].endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])), read_only=True)
    customers = book["Customers"]
    assert customers.max_row - 1 == 39


def test_export_of_a_bad_spec_is_an_alert(sample):
    data, err = export_download(sample.store, sample.spec(ranges={"Nope": [0, 1]}))
    assert data is None and err.color == "danger"


# -- presets: a sidecar file in data/, not a special case by name -----------------------------------
def test_the_samples_preset_comes_from_its_sidecar_file(sample):
    info = sample.store.get_dataset(sample.run.dataset_id)
    preset = json.loads((PROJECT_DIR / "data" / "mall_customers.preset.json").read_text())
    assert pipeline.initial_features(info) == preset["features"]
    assert sample.run.features == preset["features"]  # the sample's first run used it
    # the CLI's documented default stays every usable numeric column
    assert set(pipeline.initial_features(info, presets=False)) == {
        "Age", "Annual Income (k$)", "Spending Score (1-100)"}


def test_a_preset_applies_to_any_dataset_from_its_source_file(sample, tmp_path):
    info = sample.store.get_dataset(sample.run.dataset_id)
    renamed = dataclasses.replace(info, name="Renamed by the user")  # the name plays no part
    assert pipeline.initial_features(renamed) == ["Annual Income (k$)", "Spending Score (1-100)"]
    other = dataclasses.replace(info, source="other.csv")
    assert pipeline.find_preset(other) is None
    (tmp_path / "other.preset.json").write_text(json.dumps(
        {"source": "other.csv", "features": ["Age"], "scale": "minmax"}))
    assert pipeline.find_preset(other, tmp_path) == pipeline.Preset("other.csv", ["Age"], "minmax")
    (tmp_path / "other.preset.json").write_text(json.dumps({"source": "other.csv", "features": ["Nope"]}))
    assert pipeline.find_preset(other, tmp_path) is None  # a preset naming missing columns is ignored
    (tmp_path / "other.preset.json").write_text("{not json")
    assert pipeline.find_preset(other, tmp_path) is None
