"""The SparkSession: local[N], a spark:// cluster or a Spark Connect (sc://) server, from one URL."""
from __future__ import annotations

import os
import re
import shutil

from core.errors import InputError

DEFAULT_MASTER = "local[2]"
# Local mode: shuffle partitions = 2 x the local cores instead of Spark's 200 (each partition is a
# task; at 200 tasks per shuffle the scheduling, not the data, is what a local run pays for).
# SPARK_SHUFFLE_PARTITIONS overrides it; on a cluster spark-submit's --conf (or the server's) applies.
PARTITIONS_PER_CORE = 2
DEFAULT_DRIVER_MEMORY = "2g"  # local mode: the JVM is driver and executor at once (SPARK_DRIVER_MEMORY)


def local_cores(master: str) -> int:
    """The cores of a local master: local -> 1, local[N] / local[N,F] -> N, local[*] -> all."""
    m = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if m is None or m.group(1) is None:
        return 1
    if m.group(1) == "*":
        return os.cpu_count() or 1
    return max(1, int(m.group(1)))


def shuffle_partitions(master: str) -> int:
    """spark.sql.shuffle.partitions for a local master: $SPARK_SHUFFLE_PARTITIONS, else 2 x cores."""
    given = os.environ.get("SPARK_SHUFFLE_PARTITIONS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise InputError(f"SPARK_SHUFFLE_PARTITIONS must be a positive whole number, not '{given}'")
        return int(given)
    return PARTITIONS_PER_CORE * local_cores(master)


def default_master() -> str:
    """SPARK_MASTER from the environment, else local[2]."""
    return os.environ.get("SPARK_MASTER") or DEFAULT_MASTER


def java_available() -> bool:
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


def under_spark_submit() -> bool:
    """spark-submit started this Python process: it has already chosen the master."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def is_connect(spark) -> bool:
    """A Spark Connect client session (sc://): it has no SparkContext, and its gRPC channel stays open
    until stop(), so a process that made one must stop it to exit."""
    # By module, not isinstance: importing pyspark.sql.connect needs the Connect client's packages,
    # which a local-mode install may lack.
    return type(spark).__module__.startswith("pyspark.sql.connect.")


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
            builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions(master)))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", DEFAULT_DRIVER_MEMORY))
        )
    return builder.getOrCreate()
