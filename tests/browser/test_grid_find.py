"""Finding customers and seeing filters in a real browser (issue 15 items 2, 6, 7): the quick search,
a chip's remove button, undo, and the mark on a filled cell."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from conftest import TESTS_DIR
from dashboard_page import css_id
from core.store import run_table
from layouts import ids

pytestmark = pytest.mark.browser


def sql_count(dashboard, where: str, params: list | None = None) -> int:
    """The independent count: plain SQL over the latest run's table."""
    with dashboard.store.cursor() as cur:
        run_id = cur.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()[0]
        return cur.execute(f"SELECT count(*) FROM {run_table(run_id)} WHERE {where}", params or []).fetchone()[0]


def test_search_finds_a_customer_by_id(dashboard):
    dashboard.search("117")
    dashboard.until(lambda: dashboard.summary_count() == 1, "one customer selected")
    rows = dashboard.until(lambda: [r for r in dashboard.customer_rows() if r.get("CustomerID")], "the grid row")
    assert [r["CustomerID"] for r in rows] == ["117"]
    assert dashboard.chip_texts() == ['search "117"']


def test_a_chip_removes_only_its_filter_and_undo_brings_it_back(dashboard):
    dashboard.click_profile_row(0)  # segment 1: the largest
    dashboard.until(lambda: dashboard.summary_count() == sql_count(dashboard, "__segment = 1"), "segment 1")
    dashboard.search("1")
    both = sql_count(dashboard, "__segment = 1 AND (contains(\"CustomerID\"::VARCHAR, '1') "
                                "OR contains(lower(\"Gender\"), '1') OR __row::VARCHAR = '1')")
    dashboard.until(lambda: dashboard.summary_count() == both, "segment 1 and the search")
    assert len(dashboard.chip_texts()) == 2
    dashboard.remove_chip("segments")
    everyone = sql_count(dashboard, "contains(\"CustomerID\"::VARCHAR, '1') OR __row::VARCHAR = '1'")
    dashboard.until(lambda: dashboard.summary_count() == everyone, "only the search left")
    assert dashboard.chip_texts() == ['search "1"']
    # the profile table keeps every segment while one is chosen (checked before the removal too)
    dashboard.undo()
    dashboard.until(lambda: dashboard.summary_count() == both, "undo restores both filters")
    assert len(dashboard.chip_texts()) == 2


def test_profile_row_click_keeps_the_other_rows(dashboard):
    before = dashboard.profile_names()
    dashboard.click_profile_row(1)
    dashboard.until(lambda: dashboard.summary_count() == sql_count(dashboard, "__segment = 2"), "segment 2")
    assert dashboard.profile_names() == before
    selected = dashboard.driver.find_elements(By.CSS_SELECTOR, f"{css_id(ids.PROFILE_GRID)} .ag-row.csi-row-selected")
    assert len({e.get_attribute("row-index") for e in selected}) == 1


def test_a_filled_cell_shows_its_mark(dashboard):
    dashboard.upload(TESTS_DIR / "data" / "customers_missing.csv")
    cells = dashboard.until(lambda: dashboard.filled_cells(), "a filled cell in the grid", timeout=60)
    column, _ = cells[0]
    cell = dashboard.driver.find_element(
        By.CSS_SELECTOR, f"{css_id(ids.CUSTOMER_GRID)} .ag-cell.csi-filled[col-id='{column}']")
    ActionChains(dashboard.driver).move_to_element(cell).perform()
    tip = dashboard.until(lambda: dashboard.js(
        "const t = document.querySelector('.ag-tooltip'); return t && t.innerText;"), "the tooltip")
    assert tip.startswith("filled with the ")
    # the "only rows with original values" filter is offered for this run
    assert dashboard.driver.find_elements(By.CSS_SELECTOR, css_id(ids.filter_control("original")))
