"""Issue 10 in a real browser: score an uploaded file with the current run and filter its poor fits;
compare two runs and click a transition cell (the grid's count equals plain SQL)."""
from __future__ import annotations

import pandas as pd
import pytest

from core.config import PROJECT_DIR
from core.store import run_table
from layouts import ids

pytestmark = pytest.mark.browser


def sql_count(store, query: str, params: list) -> int:
    with store.cursor() as cur:
        return cur.execute(query, params).fetchone()[0]


def test_score_an_upload_and_filter_its_poor_fits(dashboard, tmp_path):
    frame = pd.read_csv(PROJECT_DIR / "data" / "mall_customers.csv")
    extreme = pd.DataFrame({"CustomerID": [901, 902, 903], "Gender": ["Male"] * 3, "Age": [30, 40, 50],
                            "Annual Income (k$)": [900, 1200, 1500], "Spending Score (1-100)": [50, 60, 70]})
    path = tmp_path / "february.csv"
    pd.concat([frame, extreme]).to_csv(path, index=False)
    dashboard.score_file(path)
    dashboard.until(lambda: "february" in dashboard.dataset_label(), "the scored dataset chosen")
    dashboard.until(lambda: dashboard.summary_total() == 203, "the scored run's customers")
    assert "Scored 'february'" in dashboard.alert_text(ids.MODELS_ALERT)
    run = dashboard.store.list_runs()[0]
    assert run.fill == "model"
    expected = sql_count(dashboard.store, f"SELECT count(*) FROM {run_table(run.run_id)} WHERE __poor_fit", [])
    assert expected == 3  # by hand: the three customers with incomes far beyond the training file's
    dashboard.until(lambda: dashboard.driver.find_elements("css selector", "[id*='poor_fit']"), "the poor-fit switch")
    dashboard.toggle_kind("poor_fit")
    dashboard.until(lambda: dashboard.summary_count() == expected, "the poor fits")
    dashboard.until(lambda: dashboard.customer_count() == expected, "the grid's poor fits")
    ids_shown = sorted(r.get("CustomerID") for r in dashboard.customer_rows())
    assert ids_shown == ["901", "902", "903"]
    assert dashboard.severe_logs() == []


def test_compare_two_runs_and_click_a_matrix_cell(dashboard):
    store = dashboard.store
    first = store.list_runs()[0]
    dashboard.choose_k(3)
    dashboard.run()
    dashboard.until(lambda: len(dashboard.profile_sizes()) == 3, "the k = 3 run")
    current = store.list_runs()[0]
    assert current.run_id != first.run_id
    dashboard.choose_compare_run("k = 5")
    matrix = dashboard.until(dashboard.matrix, "the transition matrix")
    z, custom = matrix["z"], matrix["customdata"]
    row, col = max(((r, c) for r in range(len(z)) for c in range(len(z[0]))), key=lambda rc: z[rc[0]][rc[1]])
    other, src, dst = custom[row][col].split(":")
    src, dst = int(src), int(dst)
    assert other == first.run_id
    expected = sql_count(store, f"SELECT count(*) FROM {run_table(first.run_id)} a JOIN {run_table(current.run_id)} b "
                                "USING (__row) WHERE a.__segment = ? AND b.__segment = ?", [src, dst])
    assert expected == z[row][col] > 0
    dashboard.click_matrix_cell(row, col)
    dashboard.until(lambda: dashboard.summary_count() == expected, "the movers' count")
    dashboard.until(lambda: dashboard.customer_count() == expected, "the grid's movers")
    assert dashboard.severe_logs() == []
