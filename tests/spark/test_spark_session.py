"""Local-mode settings of the Spark session and the engine's pass counts (a fixed number of Spark jobs
per stage, whatever the number of columns)."""
from __future__ import annotations

import os

import pytest

from core.errors import InputError
from core.spark.session import local_cores, shuffle_partitions


def test_local_cores_from_the_master_url():
    assert local_cores("local") == 1
    assert local_cores("local[3]") == 3
    assert local_cores("local[4, 2]") == 4  # local[N,F]: F is the task retries
    assert local_cores("local[*]") == os.cpu_count()
    assert local_cores("spark://master:7077") == 1


def test_shuffle_partitions_are_two_per_local_core_unless_set(monkeypatch):
    monkeypatch.delenv("SPARK_SHUFFLE_PARTITIONS", raising=False)
    assert shuffle_partitions("local[2]") == 4
    assert shuffle_partitions("local[3]") == 6
    monkeypatch.setenv("SPARK_SHUFFLE_PARTITIONS", "16")
    assert shuffle_partitions("local[2]") == 16
    monkeypatch.setenv("SPARK_SHUFFLE_PARTITIONS", "many")
    with pytest.raises(InputError, match="SPARK_SHUFFLE_PARTITIONS must be a positive whole number"):
        shuffle_partitions("local[2]")


def _profile_jobs(spark, columns: int) -> tuple[int, list]:
    """Spark jobs run by core.spark.typed.profile over `columns` number columns, a text column and an
    id column of 60 rows."""
    from core.spark.typed import profile

    names = ["CustomerID", "Gender"] + [f"amount {i}" for i in range(columns)]
    rows = [(str(r + 1), "Female" if r % 3 else "Male", *[str((r * (i + 7)) % 97) for i in range(columns)])
            for r in range(60)]
    frame = spark.createDataFrame(rows, ", ".join(f"`{n}` STRING" for n in names))
    sc = spark.sparkContext
    group = f"profile-{columns}"
    sc.setJobGroup(group, "pass count test")
    try:
        plans = profile(frame, names, dict(frame.dtypes), ",")
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group)), plans


def test_typing_profile_passes_do_not_grow_with_the_columns(spark):
    few, plans_few = _profile_jobs(spark, 2)
    many, plans_many = _profile_jobs(spark, 12)
    assert few == many
    by_name = {p.name: p for p in plans_many}
    # The figures the passes gather, against a hand count of the rows above.
    assert by_name["CustomerID"].distinct == 60 and by_name["CustomerID"].ints == 60
    assert by_name["Gender"].present == 60 and by_name["Gender"].parsed == 0
    assert by_name["amount 0"].parsed == 60 and by_name["amount 0"].whole == 60
    assert by_name["amount 0"].lo == 0 and by_name["amount 0"].hi == max((r * 7) % 97 for r in range(60))
