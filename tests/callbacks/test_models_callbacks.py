"""Model callbacks (callbacks/models.py) with a real Store: the downloaded model loads and scores like
the run, scoring an upload creates the run core.scoring creates, a failed score leaves nothing, and the
compare view's numbers and cells match plain SQL."""
from __future__ import annotations

import base64

import pandas as pd
import pytest
from dash import no_update
from sklearn.metrics import adjusted_rand_score

from callbacks.models import compare_view, model_download, other_runs, score_upload
from core.config import PROJECT_DIR
from core.errors import InputError
from core.filters import FilterSpec
from core.ingest import load_file
from core.model_file import load_model, model_from_run
from core.scoring import score_dataset
from core.segmentation import run_segmentation
from core.views import segment_sizes

from cb_helpers import text_of

MALL = PROJECT_DIR / "data" / "mall_customers.csv"


def as_upload(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def test_the_downloaded_model_loads_and_is_the_runs_model(sample):
    data, filename = model_download(sample.store, sample.run.run_id)
    model = load_model(data)
    assert filename.endswith(f"-k{sample.run.k}-model.json") and "/" not in filename
    assert model.k == sample.run.k and model.feature_names == sample.run.features
    assert [s.name for s in model.segments] == [s.name for s in sample.run.segments]
    assert load_model(data).centroids.tolist() == load_model(
        __import__("core.model_file", fromlist=["model_json"]).model_json(model_from_run(sample.store, sample.run.run_id))
    ).centroids.tolist()
    with pytest.raises(InputError):
        model_download(sample.store, "nope")


def test_scoring_an_upload_creates_the_run_core_scoring_creates(fresh, tmp_path):
    frame = pd.read_csv(MALL)
    frame.iloc[::2].to_csv(tmp_path / "next.csv", index=False)
    view = score_upload(fresh.store, fresh.run.run_id, as_upload((tmp_path / "next.csv").read_bytes()),
                        "next.csv", max_bytes=10_000_000)
    assert "Scored 'next'" in text_of(view.alert) and view.value in {o["value"] for o in view.options}
    run = fresh.store.list_runs(view.value)[0]
    assert run.fill == "model" and run.k == fresh.run.k
    # independently: score the same file with core.scoring directly
    expected = score_dataset(fresh.store, load_model(model_download(fresh.store, fresh.run.run_id)[0]),
                             load_file(fresh.store, tmp_path / "next.csv").dataset_id)
    got = [z.total for z in segment_sizes(fresh.store, FilterSpec(run.run_id))]
    assert got == [z.total for z in segment_sizes(fresh.store, FilterSpec(expected.run_id))]
    assert sum(got) == 100


def test_a_file_that_cannot_be_scored_leaves_nothing_behind(fresh):
    before = [d.dataset_id for d in fresh.store.list_datasets()]
    view = score_upload(fresh.store, fresh.run.run_id, as_upload(b"id,colour\n1,red\n2,blue\n3,red\n"),
                        "other.csv", max_bytes=10_000_000)
    assert view.value is no_update and "lacks the model's feature column" in text_of(view.alert)
    assert [d.dataset_id for d in fresh.store.list_datasets()] == before
    view = score_upload(fresh.store, None, as_upload(b"a\n1\n"), "x.csv", max_bytes=10_000_000)
    assert "segment a dataset first" in text_of(view.alert)


def test_compare_view_matches_plain_sql_and_scikit_learn(fresh):
    other = run_segmentation(fresh.store, fresh.run.dataset_id, fresh.run.features, k=3)
    assert other.run_id in {o["value"] for o in other_runs(fresh.store, fresh.run.run_id)}
    view = compare_view(fresh.store, other.run_id, fresh.run.run_id, fresh.spec())
    heat = view.figure.data[0]
    with fresh.store.cursor() as cur:
        pairs = cur.execute(f"SELECT a.__segment, b.__segment FROM run_{other.run_id} a "
                            f"JOIN run_{fresh.run.run_id} b USING (__row)").fetchall()
    for r, row in enumerate(heat.customdata):
        for c, cell in enumerate(row):
            run_id, src, dst = cell.split(":")
            src, dst = int(src), int(dst)
            assert run_id == other.run_id
            assert heat.z[r][c] == sum(1 for p in pairs if p == (src, dst))
    ari = adjusted_rand_score([p[0] for p in pairs], [p[1] for p in pairs])
    assert f"Adjusted Rand index {ari:.3f}" in view.stats and "new 0" in view.stats and "gone 0" in view.stats
    empty = compare_view(fresh.store, None, fresh.run.run_id)
    assert empty.stats == ""


def test_a_scored_dataset_opens_with_a_fill_method_a_new_fit_can_use(fresh, tmp_path):
    from callbacks.data import dataset_view

    pd.read_csv(MALL).iloc[:50].to_csv(tmp_path / "few.csv", index=False)
    view = score_upload(fresh.store, fresh.run.run_id, as_upload((tmp_path / "few.csv").read_bytes()),
                        "few.csv", max_bytes=10_000_000)
    opened = dataset_view(fresh.store, view.value)
    assert fresh.store.get_run(opened.run_id).fill == "model" and opened.fill == "median"
