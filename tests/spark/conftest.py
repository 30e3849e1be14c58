"""Spark tests: one local[2] SparkSession for the whole session, skipped without Java or pyspark
except in CI (CI=true), where a missing Spark must fail the run."""
from __future__ import annotations

import importlib.util
import os

import pytest

from core.spark.session import java_available


def spark_available() -> bool:
    return java_available() and importlib.util.find_spec("pyspark") is not None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.spark)
            if not spark_available() and not _in_ci():
                item.add_marker(pytest.mark.skip(reason="no Java 17 or pyspark here (make test installs them)"))


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession: 2 cores, 4 shuffle partitions, no UI, quiet logs."""
    from core.spark.session import spark_session

    session = spark_session("local[2]", app_name="csi-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
