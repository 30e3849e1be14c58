"""Measure the Spark engine beside the DuckDB engine on generated customers (core.synth).

`python -m core.spark.bench --rows 100000 [--format csv|parquet] [--master local[2]] [--repeat 3] [--out FILE]`
prints (and appends to --out) the time per stage of both engines, the peak memory of the Python
driver and of the Spark JVM (sampled every 0.2 s with psutil), and the adjusted Rand index between the
two engines' segment assignments (same rows, same k), the Spark jobs per stage, the shuffle
partitions and driver memory, and the load average before and after the Spark run; with --repeat N,
the medians of N runs last.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
from sklearn.metrics import adjusted_rand_score

from core.config import Settings
from core.models import ROW, SEGMENT
from core.pipeline import segment_path
from core.spark.engine import segment_spark
from core.spark.session import spark_session
from core.store import Store, run_table
from core.synth import write_customers

SAMPLE_SECONDS = 0.2


class PeakMemory:
    """Peak resident memory of this process and of its child processes (the Spark JVM)."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.peak_driver = self.peak_jvm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_driver = max(self.peak_driver, self.me.memory_info().rss)
            jvm = sum(c.memory_info().rss for c in self.me.children(recursive=True) if _alive(c))
            self.peak_jvm = max(self.peak_jvm, jvm)
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running()
    except psutil.Error:
        return False


def run(rows: int, fmt: str, master: str, k: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="csi-spark-bench-") as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / f"customers.{fmt}"
        write_customers(rows, src, fmt=fmt)
        store = Store(tmp_path / "bench.duckdb", Settings(data_dir=tmp_path))
        t = time.perf_counter()
        duck = segment_path(store, src, k=k)
        duck_seconds = time.perf_counter() - t
        load_start = os.getloadavg()
        t = time.perf_counter()
        spark = spark_session(master)
        spark.sparkContext.setLogLevel("ERROR")
        start_seconds = time.perf_counter() - t
        with PeakMemory() as mem:
            t = time.perf_counter()
            sp = segment_spark(store, str(src), k=k, spark=spark)
            spark_seconds = time.perf_counter() - t
        with store.cursor() as cur:  # numpy columns: 10M Python tuples would dwarf the figures
            pairs = cur.execute(
                f"SELECT d.{SEGMENT} AS a, s.{SEGMENT} AS b FROM {run_table(duck.run.run_id)} d "
                f"JOIN {run_table(sp.run.run_id)} s USING ({ROW}) ORDER BY {ROW}"
            ).fetchnumpy()
        parquet_bytes = sum(f.stat().st_size for f in sp.output.rglob("*.parquet"))
        settings = {"shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
                    "driver_memory": spark.conf.get("spark.driver.memory", None)}
        store.close()
        spark.stop()
    return {
        "rows": rows, "format": fmt, "master": master, "k": k,
        "duckdb_seconds": round(duck_seconds, 2),
        "spark_session_seconds": round(start_seconds, 2),
        "spark_seconds": round(spark_seconds, 2),
        "spark_stages": sp.timings,
        "spark_jobs": sp.jobs,
        **settings,
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "peak_driver_mb": round(mem.peak_driver / 2**20),
        "peak_jvm_mb": round(mem.peak_jvm / 2**20),
        "rows_compared": len(pairs["a"]),
        "ari_vs_duckdb": round(float(adjusted_rand_score(pairs["a"], pairs["b"])), 4),
        "sizes_duckdb": [s.size for s in duck.run.segments],
        "sizes_spark": [s.size for s in sp.run.segments],
        "result_parquet_mb": round(parquet_bytes / 2**20, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.spark.bench")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--out", type=Path)
    p.add_argument("--repeat", type=int, default=1, help="runs; the medians are printed last")
    args = p.parse_args(argv)
    results = []
    for _ in range(max(1, args.repeat)):
        results.append(run(args.rows, args.format, args.master, args.k))
        _emit(results[-1], args.out)
    if len(results) > 1:
        _emit({"median_of": len(results), **medians(results)}, args.out)
    return 0


def medians(results: list[dict]) -> dict:
    """The median of every timing and memory figure over repeated runs (stages by name)."""
    keys = ["duckdb_seconds", "spark_session_seconds", "spark_seconds", "peak_driver_mb", "peak_jvm_mb"]
    out = {k: statistics.median(r[k] for r in results) for k in keys}
    out["spark_stages"] = {s: statistics.median(r["spark_stages"][s] for r in results)
                           for s in results[0]["spark_stages"]}
    out["ari_vs_duckdb"] = [r["ari_vs_duckdb"] for r in results]
    return out


def _emit(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=2)
    print(text, flush=True)
    if out:
        with open(out, "a") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
