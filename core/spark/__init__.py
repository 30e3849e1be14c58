"""The segmentation pipeline on Apache Spark (issue 12): same rules and results as the DuckDB engine.

Modules: session (SparkSession for local, spark:// or Spark Connect sc:// masters), reading (file,
folder of Parquet parts or glob -> text or native columns with __row), typing (core.ingest's typing
decisions from Spark statistics), validation (issues, rejects, duplicates), fitting (fill, scaling,
sample sweep, MLlib KMeans k-means||, PCA), publish (Parquet results registered in the DuckDB store)
and engine (the whole run, `segment_spark`). pyspark is an optional extra (requirements-spark.txt):
nothing here is imported by the app, and `import core.spark` works without it.
"""
from __future__ import annotations
