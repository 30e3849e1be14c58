"""The dashboard in a real browser: what a user sees after each step."""
from __future__ import annotations

import pytest

from core.store import run_table
from dashboard_page import css_id
from layouts import ids

pytestmark = pytest.mark.browser

SAMPLE_SIZES = [81, 39, 35, 23, 22]


def duckdb_count(store, run_id: str, where: str, params: list) -> int:
    with store.cursor() as cur:
        return cur.execute(f"SELECT count(*) FROM {run_table(run_id)} WHERE {where}", params).fetchone()[0]


def latest_run_id(store) -> str:
    return store.list_runs()[0].run_id


def test_start_page_shows_the_sample_in_five_segments(dashboard):
    assert dashboard.profile_sizes() == SAMPLE_SIZES
    assert dashboard.summary_text().startswith("200 of 200 customers selected")
    assert "Mall customers (sample)" in dashboard.dataset_label()
    assert set(dashboard.histogram_totals().values()) == {200}
    dashboard.until(lambda: dashboard.customer_count() == 200, "the customer grid")
    assert dashboard.severe_logs() == []


def test_no_chart_offers_to_share_it_with_an_outside_service(dashboard):
    """Issue 15 item 1: the mode bars the browser draws hold no "Share chart" (Plotly Cloud) button."""
    titles = dashboard.js(
        "return Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.getAttribute('data-title'));")
    assert titles, "the scatter's mode bar should be drawn"
    assert not [t for t in titles if t and ("Share" in t or "Cloud" in t or "Chart Studio" in t)], titles
    assert dashboard.js("return document.querySelectorAll('.modebar-btn[data-title*=\"Share\"]').length;") == 0


def test_box_selection_on_the_scatter_filters_every_view(dashboard):
    dashboard.drag_box_on_scatter(60, 100, 140, 60)  # high income, high spending corner
    dashboard.until(lambda: dashboard.summary_count() not in (None, 200), "the summary to change")
    region = dashboard.until(dashboard.scatter_region, "the region outline")
    expected = duckdb_count(
        dashboard.store, latest_run_id(dashboard.store), "__x BETWEEN ? AND ? AND __y BETWEEN ? AND ?",
        [min(region["x0"], region["x1"]), max(region["x0"], region["x1"]),
         min(region["y0"], region["y1"]), max(region["y0"], region["y1"])],
    )
    assert 0 < expected < 200
    dashboard.until(lambda: dashboard.summary_count() == expected, f"the summary to say {expected}")
    dashboard.until(lambda: set(dashboard.histogram_totals().values()) == {expected}, "histogram totals")
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == expected, "profile sizes")
    dashboard.until(lambda: dashboard.customer_count() == expected, "the customer grid count")
    assert dashboard.severe_logs() == []

    dashboard.clear_filters()
    dashboard.until(lambda: dashboard.summary_count() == 200, "the summary after clearing")
    dashboard.until(lambda: dashboard.profile_sizes() == SAMPLE_SIZES, "the profile after clearing")
    assert dashboard.scatter_region() is None
    # the same box again reaches the server again (its box, without the points, via the region store)
    dashboard.drag_box_on_scatter(60, 100, 140, 60)
    dashboard.until(lambda: dashboard.summary_count() == expected, f"the summary to say {expected} again")
    assert dashboard.severe_logs() == []


def test_dragging_across_a_histogram_filters_that_feature(dashboard):
    income = "Annual Income (k$)"
    dashboard.drag_range_on_histogram(income, 40, 70)
    dashboard.until(lambda: dashboard.summary_count() not in (None, 200), "the summary to change")
    label = dashboard.until(lambda: "all" not in dashboard.range_label(income) and dashboard.range_label(income),
                            "the slider label to show the range")
    lo, hi = (float(v.replace(",", "")) for v in label.split(" – "))
    # the brush selects whole bars (income 15-137 in 30 bars of 4.07): each end moves less than a bar
    bar = 122 / 30
    assert 40 - bar <= lo <= 40 + bar and 70 - bar <= hi <= 70 + bar
    expected = duckdb_count(dashboard.store, latest_run_id(dashboard.store),
                            '"Annual Income (k$)" BETWEEN ? AND ?', [lo, hi])
    # the label rounds to one decimal: compare with the count the page shows, within the rounding
    dashboard.until(lambda: abs(dashboard.summary_count() - expected) <= 2, f"about {expected} selected")
    shown = dashboard.summary_count()
    dashboard.until(lambda: set(dashboard.histogram_totals().values()) == {shown}, "histogram totals")
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == shown, "profile sizes")


def test_clicking_a_profile_row_lists_that_segments_customers(dashboard):
    name = dashboard.click_profile_row(1)  # the second-largest segment: 39 customers
    dashboard.until(lambda: dashboard.summary_count() == 39, "the summary to show the segment")
    dashboard.until(lambda: dashboard.customer_count() == 39, "the grid to hold the segment")
    assert name in dashboard.customer_title() and "39" in dashboard.customer_title()
    rows = dashboard.until(dashboard.customer_rows, "grid rows")
    segments = {r.get("__segment_name") for r in rows}
    assert segments == {name}
    # issue 15 item 7: the profile keeps every segment's row; the chosen one is highlighted
    dashboard.until(lambda: len(dashboard.profile_names()) > 1 and name in dashboard.profile_names(),
                    "the profile to keep every segment")
    assert dashboard.js("return [...document.querySelectorAll(arguments[0])].map(r => r.innerText).join(' ');",
                        "#profile-grid .ag-row.csi-row-selected").count(name) >= 1


def test_running_with_a_chosen_k_resegments_the_page(dashboard):
    dashboard.choose_k(3)
    dashboard.run()
    dashboard.until(lambda: len(dashboard.profile_sizes()) == 3, "three segments", timeout=60)
    assert sum(dashboard.profile_sizes()) == 200
    assert "this run uses k = 3" in dashboard.duo.find_element(f"#{ids.K_NOTE}").text
    assert dashboard.store.list_runs()[0].k == 3
    assert dashboard.severe_logs() == []


def test_export_after_filtering_downloads_exactly_the_rows_on_screen(dashboard):
    openpyxl = pytest.importorskip("openpyxl")
    dashboard.click_profile_row(3)
    dashboard.until(lambda: dashboard.summary_count() == 23, "the filter")
    on_screen = dashboard.summary_count()
    path = dashboard.export()
    book = openpyxl.load_workbook(path, read_only=True)
    assert book["Customers"].max_row - 1 == on_screen


def test_uploading_a_csv_creates_a_dataset_and_segments_it(dashboard, tmp_path):
    lines = ["id,spend,visits,region"]
    for i in range(120):
        group = i % 3
        lines.append(f"{i + 1},{20 + group * 40 + (i * 7) % 9},{2 + group * 5 + (i * 3) % 4},"
                     f"{['north', 'south', 'east'][i % 3]}")
    path = tmp_path / "shop.csv"
    path.write_text("\n".join(lines) + "\n")
    dashboard.upload(path)
    dashboard.until(lambda: "Loaded 'shop'" in dashboard.alert_text(ids.UPLOAD_ALERT), "the upload message",
                    timeout=60)
    dashboard.until(lambda: "shop" in dashboard.dataset_label(), "the new dataset to be chosen")
    dashboard.until(lambda: dashboard.summary_total() == 120, "the summary of the new dataset")
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == 120, "the new profile")
    assert len(dashboard.store.list_datasets()) == 2


def test_a_bad_upload_shows_an_alert_and_the_previous_dataset_stays_usable(dashboard, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(bytes(range(256)) * 50)
    dashboard.upload(path)
    text = dashboard.until(lambda: dashboard.alert_text(ids.UPLOAD_ALERT), "the error alert", timeout=60)
    assert "broken" in text
    assert "Traceback" not in text
    assert "Mall customers (sample)" in dashboard.dataset_label()
    assert len(dashboard.store.list_datasets()) == 1
    # still usable
    dashboard.click_profile_row(0)
    dashboard.until(lambda: dashboard.summary_count() == 81, "a filter on the previous dataset")


def test_a_transactions_upload_segments_customers_on_rfm(dashboard, tmp_path):
    lines = ["customer,date,amount"]
    for c in range(60):
        for j in range(1 + c % 6):
            lines.append(f"C{c:03d},2024-{1 + (c + 3 * j) % 12:02d}-{1 + (c * 5 + j) % 28:02d},"
                         f"{5 + (c * 13 + j * 7) % 120}.25")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    dashboard.toggle_transactions()
    dashboard.upload(path)
    # the mapping step: named columns and ISO dates need no confirmation; the preview comes first
    dashboard.until(lambda: len(dashboard.mapping_preview_rows()) == 10, "the preview of the first customers")
    dashboard.load_mapping()
    dashboard.until(lambda: "Loaded 'orders'" in dashboard.alert_text(ids.UPLOAD_ALERT), "the upload message",
                    timeout=90)
    dashboard.until(lambda: dashboard.summary_total() == 60, "60 customers")
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == 60, "the RFM profile")
    dataset = dashboard.store.list_datasets()[0]
    assert dataset.kind == "transactions"


def test_original_values_switch_keeps_only_rows_without_filled_features(dashboard, tmp_path):
    """A filter kind added through core.filters + layouts.filters only (issue 13): its control appears
    for a run that filled values and filters every view through the same spec."""
    lines = ["id,spend,visits"]
    for i in range(60):
        spend = "" if i % 5 == 0 else str(20 + (i * 7) % 50)
        visits = "" if i % 7 == 0 else str(1 + (i * 3) % 9)
        lines.append(f"{i + 1},{spend},{visits}")
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join(lines) + "\n")
    expected = sum(1 for i in range(60) if i % 5 and i % 7)  # rows with both values in the file: 41
    dashboard.upload(path)
    dashboard.until(lambda: "Loaded 'gaps'" in dashboard.alert_text(ids.UPLOAD_ALERT), "the upload message",
                    timeout=60)
    dashboard.until(lambda: dashboard.summary_total() == 60, "the summary of the new dataset")
    switch = dashboard.until(lambda: dashboard.duo.find_element(css_id(ids.filter_control("original"))),
                             "the original-values switch")
    dashboard.js("arguments[0].click();", switch)
    dashboard.until(lambda: dashboard.summary_count() == expected, f"{expected} rows with original values")
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == expected, "the profile of those rows")
    dashboard.until(lambda: dashboard.customer_count() == expected, "the customer grid")
    run_id = latest_run_id(dashboard.store)
    ds = dashboard.store.get_run(run_id).dataset_id
    assert duckdb_count(dashboard.store, run_id,
                        f"__row IN (SELECT __row FROM ds_{ds} WHERE spend IS NOT NULL AND visits IS NOT NULL)",
                        []) == expected
    assert dashboard.severe_logs() == []


def test_a_lasso_selects_the_grid_cells_whose_centre_it_encloses(dashboard):
    import numpy as np

    from core import aggregates
    from core.view_link import decode_view

    dashboard.draw_lasso_on_scatter([(40, 20), (120, 25), (130, 80), (70, 95), (30, 60)])
    dashboard.until(lambda: dashboard.summary_count() not in (None, 200), "the summary to change")
    # the lasso as the server received it: the spec the URL now carries
    link = dashboard.until(lambda: decode_view(dashboard.search_of_url()), "the view in the URL")
    dashboard.until(lambda: (decode_view(dashboard.search_of_url()).spec or {}).get("region"), "the lasso in the URL")
    points = decode_view(dashboard.search_of_url()).spec["region"]["points"]
    run_id = link.run_id
    cube = aggregates.load(dashboard.store, run_id)
    # expected, independently: numpy bins of every row on the run's grid, and even-odd ray casting of the
    # cells' centres against the lasso
    with dashboard.store.cursor() as cur:
        x, y = (np.asarray(v, dtype=float) for v in zip(*cur.execute(
            f"SELECT __x, __y FROM {run_table(run_id)}").fetchall()))
    xe, ye = np.asarray(cube.x_edges), np.asarray(cube.y_edges)
    bx = np.minimum(np.searchsorted(xe, x, side="right") - 1, len(xe) - 2)
    by = np.minimum(np.searchsorted(ye, y, side="right") - 1, len(ye) - 2)
    cx, cy = ((xe[bx] + xe[bx + 1]) / 2, (ye[by] + ye[by + 1]) / 2)
    inside = np.zeros(len(x), dtype=bool)
    for (xi, yi), (xj, yj) in zip(points, points[1:] + points[:1]):
        if yi != yj:
            inside ^= (cy >= min(yi, yj)) & (cy < max(yi, yj)) & (cx < xi + (xj - xi) / (yj - yi) * (cy - yi))
    expected = int(inside.sum())
    assert 0 < expected < 200
    dashboard.until(lambda: dashboard.summary_count() == expected, f"the summary to say {expected}")
    dashboard.until(lambda: set(dashboard.histogram_totals().values()) == {expected}, "histogram totals")
    dashboard.until(lambda: dashboard.customer_count() == expected, "the customer grid count")
    outline = dashboard.until(dashboard.scatter_outline, "the cells outlined")
    assert outline.count("M ") >= 4  # the border of whole cells: straight pieces, not the drawn path
    assert dashboard.severe_logs() == []
