"""The scatter's points picked in memory (core/sample_index.py) equal the SQL over the sample table and
the rows: random brushes of every kind the cube answers, on a run whose sample holds only part of each
segment (so the hash cut-offs and quotas decide), with NULL, NaN and infinite values."""
from __future__ import annotations

import numpy as np
import pytest

import core.aggregates_build as aggregates_build
from core import aggregates, lru, sample_index, scatter, views
from core.aggregates_build import build
from core.models import ROW, SEGMENT
from core.sampling import HASH_KEY
from tests.core.test_aggregates import _random_specs, _selected, awkward  # noqa: F401 - the shared fixture


@pytest.fixture
def partial(store, awkward, monkeypatch):  # noqa: F811
    run, _ = awkward
    monkeypatch.setattr(aggregates_build, "SAMPLE_PER_SEGMENT", 400)
    cube = build(store, run.run_id)
    aggregates.forget(store)
    views.clear_caches()
    assert not cube.sample_complete(1) and cube.sample_complete(4)  # a partial and a complete segment
    return run, cube


def _scatters(store, specs, sizes=(300, 120)):
    out = []
    for spec in specs:
        views.clear_caches()
        out.append(scatter.scatter_sample(store, spec, *sizes).to_dict())
    return out


def test_in_memory_points_equal_the_sample_tables_sql(store, partial, monkeypatch):
    run, cube = partial
    specs = _random_specs(store, run, cube, seed=7)
    assert all(aggregates.brush_of(cube, s) is not None for s in specs)
    fast = _scatters(store, specs)
    monkeypatch.setattr(aggregates, "brush_of", lambda cube, spec: None)  # the SQL over the sample table
    slow = _scatters(store, specs)
    assert len(fast) == len(specs) and fast == slow
    assert sum(f["shown"] for f in fast) > 0 and sum(f["background_shown"] for f in fast) > 0


def test_mask_selects_the_rows_the_spec_selects(store, partial):
    """On the sample's own rows the mask selects what pandas selects by the spec's bounds."""
    run, cube = partial
    index = sample_index.index_of(store, cube, None, [], False)
    assert len(index.seg) == sum(cube.sample_rows.values())
    assert np.all(np.diff(index.seg) >= 0)  # sorted by segment, then hash
    with store.cursor() as cur:
        rows = cur.execute(f"SELECT * FROM {cube.table('sample')} ORDER BY {SEGMENT}, {HASH_KEY}, {ROW}").fetchdf()
    assert np.array_equal(rows[ROW].to_numpy(), index.row)
    chosen = 0
    for spec in _random_specs(store, run, cube, seed=8):
        m = sample_index.mask(index, aggregates.brush_of(cube, spec))
        assert np.array_equal(m, _selected(rows, spec, cube).to_numpy()), spec
        chosen += int(m.sum())
    assert 0 < chosen


def test_the_index_is_built_once_per_run_and_identifier(store, partial):
    run, cube = partial
    a = sample_index.index_of(store, cube, None, [], False)
    assert sample_index.index_of(store, cube, None, [], False) is a
    assert sample_index.index_of(store, cube, "id", ["id"], True) is not a
    lru.clear("sample_index")
    assert sample_index.index_of(store, cube, None, [], False) is not a
