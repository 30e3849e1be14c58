"""A Spark run opened in the real dashboard (headless Chromium): the page shows the Spark engine's
segments and every view reads them through DuckDB, unchanged."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.pipeline import SAMPLE_NAME
from core.spark.engine import segment_spark
from core.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))
from dashboard_page import Dashboard  # noqa: E402  (the browser tests' page object)

pytestmark = [pytest.mark.spark, pytest.mark.browser]
MALL_CSV = PROJECT_DIR / "data" / "mall_customers.csv"


def test_dashboard_opens_a_spark_run(spark, dash_duo, tmp_path):
    from app import create_app

    settings = Settings(data_dir=tmp_path, db_file=str(tmp_path / "app.duckdb"), memory_limit="1GB", threads=2)
    store = Store(settings.db_path, settings, allowed_dirs=[tmp_path, PROJECT_DIR / "data"])
    try:
        # Registered under the sample's name, the Spark run is the run the app opens on start.
        result = segment_spark(store, str(MALL_CSV), features=["Annual Income (k$)", "Spending Score (1-100)"], k=5, spark=spark,
                               name=SAMPLE_NAME)
        assert store.list_runs()[0].engine == "spark"
        app = create_app(store, settings)
        dash_duo.driver.set_window_size(1280, 1000)
        dash_duo.start_server(app)
        page = Dashboard(dash_duo, store).wait_loaded()
        assert page.profile_sizes() == [81, 39, 35, 23, 22]
        assert page.profile_names() == [s.name for s in result.run.segments]
        assert page.summary_text().startswith("200 of 200 customers selected")
        assert set(page.histogram_totals().values()) == {200}
        page.until(lambda: page.customer_count() == 200, "the customer grid")
        assert page.severe_logs() == []
    finally:
        store.close()
