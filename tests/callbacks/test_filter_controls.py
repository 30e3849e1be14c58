"""Filters only where they help (issue 14): no slider or histogram for a constant column, a date-range
slider for date columns (filter kind "dates", checked against plain SQL), a yes/no choice for two-valued
columns, years without thousands separators. Real files through the real ingest and segmentation."""
from __future__ import annotations

import datetime as dt

import pytest

from cb_helpers import TESTS_DIR, text_of
from callbacks.explore import filter_outputs, filter_update
from callbacks.filter_state import Event
from callbacks.segment import run_view
from core.errors import InputError
from core.filter_values import day_number
from core.filters import FilterSpec, describe, where_clause
from core.ingest import load_file
from core.pipeline import initial_features
from core.rfm import load_transactions
from core.segmentation import run_segmentation
from core.store import run_table
from core.views import count, date_bounds, parse_spec, run_context
from layouts import ids
from layouts.filters import range_text

N = 90


def customers_csv(tmp_path):
    """Joined: dates written day first; Region: constant; Promo: a 0/1 flag; Gender: two values;
    Founded: years."""
    lines = ["CustomerID,Joined,Spend,Visits,Region,Promo,Gender,Founded"]
    first = dt.date(2013, 1, 1)
    for i in range(N):
        day = first + dt.timedelta(days=(i * 37) % 700)
        lines.append(f"{i + 1},{day:%d-%m-%Y},{20 + (i * 13) % 90},{1 + (i * 7) % 23},North,{i % 2},"
                     f"{'Female' if i % 3 else 'Male'},{1893 + (i * 11) % 104}")
    path = tmp_path / "joined.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def joined(fresh, tmp_path):
    info = load_file(fresh.store, customers_csv(tmp_path), "joined")
    run = run_segmentation(fresh.store, info.dataset_id, ["Spend", "Visits"], k=3)
    return fresh.store, run


def all_ids(component) -> list:
    """Every component id in a tree."""
    if isinstance(component, (list, tuple)):
        return [i for c in component for i in all_ids(c)]
    if not hasattr(component, "to_plotly_json"):
        return []
    own = [component.id] if getattr(component, "id", None) is not None else []
    return own + all_ids(getattr(component, "children", None))


def plain_count(store, run, where: str, params: list) -> int:
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {run_table(run.run_id)} WHERE {where}", params).fetchone()[0]


def test_run_view_offers_filters_only_where_they_help(joined):
    store, run = joined
    view = run_view(store, run.run_id)
    ranges = all_ids(view.range_filters)  # some sit under "More filters"
    assert ids.range_slider("Region") not in ranges  # constant: neither slider nor histogram
    assert ids.hist("Region") not in all_ids(view.histograms) and ids.hist("Spend") in all_ids(view.histograms)
    assert ids.date_range("Joined") in ranges  # a date range, not a value picker
    pickers = {f.children[1].id["column"]: f.children[1] for f in view.category_filters}
    assert "Joined" not in pickers
    promo, gender = pickers["Promo"], pickers["Gender"]
    assert type(promo).__name__ == "Checklist" and {o["label"] for o in promo.options} == {"Yes", "No"}
    assert type(gender).__name__ == "Checklist" and {o["value"] for o in gender.options} == {"Female", "Male"}
    flat = [f for c in view.range_filters for f in (c.children[1:] if type(c).__name__ == "Details" else [c])]
    founded = next(f for f in flat if getattr(f.children[1], "id", None) == ids.range_slider("Founded"))
    assert text_of(founded.children[0]).endswith("all (1893 – 1996)")


def test_years_never_show_thousands_separators_but_amounts_do():
    assert range_text([1893, 1996], [1893, 1996]) == "all (1893 – 1996)"
    assert range_text([1900, 1950], [1893, 1996]) == "1900 – 1950"
    assert range_text([1000, 25000], [0, 25000]) == "1,000 – 25,000"


def test_date_range_kind_counts_like_plain_sql(joined):
    store, run = joined
    ctx = run_context(store, run.run_id)
    assert ctx.date_columns == ["Joined"]
    first, last = date_bounds(store, run)["Joined"]
    assert (first, last) == (dt.date(2013, 1, 1), dt.date(2013, 1, 1) + dt.timedelta(days=max((i * 37) % 700 for i in range(N))))
    spec = parse_spec(store, {"run_id": run.run_id, "dates": {"Joined": ["2013-03-01", "2013-12-31"]}})
    expected = plain_count(store, run, "\"Joined\" BETWEEN DATE '2013-03-01' AND DATE '2013-12-31'", [])
    by_hand = sum(dt.date(2013, 3, 1) <= dt.date(2013, 1, 1) + dt.timedelta(days=(i * 37) % 700)
                  <= dt.date(2013, 12, 31) for i in range(N))
    assert count(store, spec)[0] == expected == by_hand
    sql, params = where_clause(spec, ctx.numeric, ctx.categorical)
    assert "2013-03-01" not in sql and params == ["2013-03-01", "2013-12-31"]  # bound, never inlined
    open_end = parse_spec(store, {"run_id": run.run_id, "dates": {"Joined": ["2014-01-01", None]}})
    assert count(store, open_end)[0] == plain_count(store, run, "\"Joined\" >= DATE '2014-01-01'", [])
    assert describe(open_end) == "Joined 2014-01-01 to any date"


@pytest.mark.parametrize("dates", [{"Spend": ["2013-01-01", "2013-02-01"]}, {"Joined": ["yesterday", None]},
                                   {"Joined; DROP TABLE x": ["2013-01-01", None]}, {"Joined": "2013"},
                                   {"Joined": [1, 2]}])
def test_bad_date_ranges_are_refused(joined, dates):
    store, run = joined
    with pytest.raises(InputError):
        parse_spec(store, {"run_id": run.run_id, "dates": dates})


def test_the_date_slider_filters_and_clear_resets_it(joined):
    store, run = joined
    lo, hi = (day_number(d) for d in date_bounds(store, run)["Joined"])
    bounds = {"Joined": (lo, hi)}
    current = FilterSpec(run.run_id).to_dict()
    moved = [day_number("2013-06-01"), day_number("2013-09-30")]
    update, err = filter_update(store, current, [Event("dates", moved, "Joined")], bounds, [], [], [], ["Joined"])
    assert err is None and update.spec.to_dict()["dates"] == {"Joined": ["2013-06-01", "2013-09-30"]}
    assert count(store, update.spec)[0] == plain_count(
        store, run, "\"Joined\" BETWEEN DATE '2013-06-01' AND DATE '2013-09-30'", [])
    slots = {"ranges": [], "categories": [], "kinds": [], "range_labels": [{"column": "Joined"}],
             "dates": [{"column": "Joined"}]}
    out = filter_outputs(update, None, slots, bounds)
    assert out.dates == [moved] and out.range_labels == ["2013-06-01 – 2013-09-30"]
    full, _ = filter_update(store, update.spec.to_dict(), [Event("dates", [lo, hi], "Joined")], bounds, [], [],
                            [], ["Joined"])
    assert "dates" not in full.spec.to_dict() and count(store, full.spec)[0] == N  # full extent: no filter
    cleared, _ = filter_update(store, update.spec.to_dict(), [Event("clear")], bounds, [], [], [], ["Joined"])
    assert filter_outputs(cleared, None, slots, bounds).dates == [[lo, hi]]


def test_rfm_purchase_dates_get_date_ranges_not_pickers(fresh):
    store = fresh.store
    info = load_transactions(store, TESTS_DIR / "data" / "cdnow_sample.txt")
    run = run_segmentation(store, info.dataset_id, initial_features(info), k=3, scale="log")
    view = run_view(store, run.run_id)
    pickers = [f.children[1].id["column"] for f in view.category_filters]
    assert "first_purchase" not in pickers and "last_purchase" not in pickers
    ranges = all_ids(view.range_filters)  # some sit under "More filters"
    assert ids.date_range("first_purchase") in ranges and ids.range_slider("returns") not in ranges
    spec = parse_spec(store, {"run_id": run.run_id, "dates": {"last_purchase": ["1997-01-01", "1997-03-31"]}})
    assert count(store, spec)[0] == plain_count(
        store, run, "CAST(last_purchase AS DATE) BETWEEN DATE '1997-01-01' AND DATE '1997-03-31'", [])
