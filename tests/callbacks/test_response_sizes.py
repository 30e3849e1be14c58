"""What the views send to the browser stays small however many customers there are (issue 4)."""
from __future__ import annotations

import json

import plotly
import pytest
from cb_helpers import Sample, open_store

from callbacks.explore import grid_response, histogram_views, scatter_view, summary_view
from callbacks.segment import run_view
from core.pipeline import initial_features, load_path
from core.segmentation import run_segmentation
from core.synth import write_customers

ROWS = 60_000
LIMIT = 300 * 1024


def size(obj) -> int:
    return len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder))


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    store = open_store(folder)
    path = folder / "customers.csv"
    write_customers(ROWS, path)
    info = load_path(store, path, "big customers")
    run = run_segmentation(store, info.dataset_id, initial_features(info), k=4)
    yield Sample(store, run)
    store.close()


def test_every_view_stays_small_on_a_large_table(big):
    assert big.run.rows_clustered > 50_000
    spec = big.spec()
    view = run_view(big.store, big.run.run_id)
    columns = [h.children.id["column"] for h in view.histograms]
    scatter = scatter_view(big.store, spec)
    summary = summary_view(big.store, spec)
    hists, err = histogram_views(big.store, spec, columns)
    page, err2 = grid_response(big.store, spec, {"startRow": 0, "endRow": 100})
    assert err is None and err2 is None and scatter.alert is None and summary.alert is None
    assert size(scatter.figure) < LIMIT
    assert size(hists) < LIMIT
    assert size(summary.profile_rows) < 50_000
    assert size(page) < LIMIT
    # everything one cross-filter interaction sends back, together
    assert size(scatter.figure) + size(hists) + size(summary.profile_rows) + size(page) < LIMIT
    assert len(page["rowData"]) == 100 and page["rowCount"] == big.run.rows_clustered
    assert "showing 12,000 of" in scatter.note
