"""The transactions mapping step in a real browser (issue 14): a header-less Online Retail copy is
uploaded, its columns are mapped with the dropdowns, the guess is confirmed, and the RFM segments
cover exactly the customers plain SQL finds in the file."""
from __future__ import annotations

import duckdb
import pytest

from layouts import ids

from conftest import TESTS_DIR

pytestmark = pytest.mark.browser

RETAIL = TESTS_DIR / "data" / "online_retail_excerpt.csv"


def plain_sql_customers() -> int:
    """Customers with a purchase, straight from the file: complete lines (4 of the public copy lost a
    field), a customer id, a positive quantity on a non-cancelled invoice."""
    return duckdb.connect().execute(
        f"""
        SELECT count(DISTINCT CustomerID) FROM read_csv('{RETAIL}', all_varchar = true, ignore_errors = true,
                                                         null_padding = false)
        WHERE Country IS NOT NULL AND CustomerID IS NOT NULL AND NOT starts_with(InvoiceNo, 'C')
          AND TRY_CAST(Quantity AS DOUBLE) > 0
        """
    ).fetchone()[0]


def test_headerless_transactions_are_mapped_confirmed_and_segmented(dashboard, tmp_path):
    path = tmp_path / "retail_no_header.csv"
    path.write_bytes(RETAIL.read_bytes().split(b"\n", 1)[1])
    expected = plain_sql_customers()
    assert expected == 14

    dashboard.toggle_transactions()
    dashboard.upload(path)
    dashboard.until(lambda: "Please confirm" in dashboard.mapping_text(), "the request to confirm the guess")
    text = dashboard.mapping_text()
    assert "column_5" in text and "--" not in text and "date_order" not in text
    dashboard.until(lambda: len(dashboard.mapping_preview_rows()) == 10, "the preview of the guessed mapping")

    # monetary from quantity x price: the amount column detection picked (column_6, the unit price) goes
    dashboard.clear_mapping(ids.MAP_AMOUNT)
    dashboard.map_column(ids.MAP_CUSTOMER, "column_7")
    dashboard.map_column(ids.MAP_QUANTITY, "column_4")
    dashboard.map_column(ids.MAP_PRICE, "column_6")
    dashboard.map_column(ids.MAP_INVOICE, "column_1")
    dashboard.map_column(ids.MAP_DATE_ORDER, "Month first (12/31/2010)")
    # customer 17850: last bought on the file's only day, 6 invoices, 725.44 spent (pandas, in the
    # callback tests)
    dashboard.until(lambda: dashboard.mapping_preview_rows()[0][:4] == ["17850", "1", "6", "725.44"],
                    "the preview with customer 17850 first")
    assert "14 customers" in dashboard.mapping_text()

    dashboard.load_mapping()
    dashboard.until(lambda: "Please confirm the columns" in dashboard.alert_text(ids.MAPPING_ALERT),
                    "the refusal to load an unconfirmed guess")
    dashboard.confirm_mapping()
    dashboard.load_mapping()
    dashboard.until(lambda: "Loaded 'retail_no_header'" in dashboard.alert_text(ids.UPLOAD_ALERT),
                    "the load message", timeout=90)
    dashboard.until(lambda: sum(dashboard.profile_sizes()) == expected, "the RFM segments of every customer")
    assert dashboard.summary_total() == expected
    assert not dashboard.duo.find_element(f"#{ids.MAPPING_PANEL}").is_displayed()
    dataset = dashboard.store.list_datasets()[0]
    assert dataset.kind == "transactions" and dataset.rows_loaded == expected
