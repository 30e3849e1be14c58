"""The SparkSession: local[N], a spark:// cluster or a Spark Connect (sc://) server, from one URL."""
from __future__ import annotations

import os
import shutil

from core.errors import InputError

DEFAULT_MASTER = "local[2]"
# Small inputs and 2-core test machines: a few shuffle partitions instead of Spark's 200.
LOCAL_SHUFFLE_PARTITIONS = 4


def default_master() -> str:
    """SPARK_MASTER from the environment, else local[2]."""
    return os.environ.get("SPARK_MASTER") or DEFAULT_MASTER


def java_available() -> bool:
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


def under_spark_submit() -> bool:
    """spark-submit started this Python process: it has already chosen the master."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_session(master: str | None = None, app_name: str = "customer-segmentation"):
    """A SparkSession for `master`: `local[*]`/`local[N]`, `spark://host:7077`, `yarn`, `k8s://...`,
    or a Spark Connect URL `sc://host:15002`. None: $SPARK_MASTER, else spark-submit's master, else
    local[2]. An existing session is reused (getOrCreate)."""
    try:
        from pyspark.sql import SparkSession  # pyspark is an optional extra: loaded only when a Spark run starts
    except ImportError:
        raise InputError(
            "the Spark engine needs pyspark: pip install -r requirements-spark.txt (and Java 17)"
        ) from None
    if master is None and not os.environ.get("SPARK_MASTER") and under_spark_submit():
        return SparkSession.builder.appName(app_name).getOrCreate()
    master = master or default_master()
    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    if not java_available():
        raise InputError("the Spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)")
    builder = SparkSession.builder.master(master).appName(app_name)
    if master.startswith("local"):
        builder = (
            builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "2g"))
        )
    return builder.getOrCreate()
