"""Measure the Spark engine beside the DuckDB engine on generated customers (core.synth).

`python -m core.spark.bench --rows 100000 [--format csv|parquet] [--master local[2]] [--out FILE.md]`
prints (and appends to --out) the time per stage of both engines, the peak memory of the Python
driver and of the Spark JVM (sampled every 0.2 s with psutil), and the adjusted Rand index between the
two engines' segment assignments (same rows, same k).
"""
from __future__ import annotations

import argparse
import json
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
        t = time.perf_counter()
        spark = spark_session(master)
        spark.sparkContext.setLogLevel("ERROR")
        start_seconds = time.perf_counter() - t
        with PeakMemory() as mem:
            t = time.perf_counter()
            sp = segment_spark(store, str(src), k=k, spark=spark)
            spark_seconds = time.perf_counter() - t
        with store.cursor() as cur:
            pairs = cur.execute(
                f"SELECT d.{SEGMENT}, s.{SEGMENT} FROM {run_table(duck.run.run_id)} d "
                f"JOIN {run_table(sp.run.run_id)} s USING ({ROW}) ORDER BY {ROW}"
            ).fetchall()
        parquet_bytes = sum(f.stat().st_size for f in sp.output.rglob("*.parquet"))
        store.close()
        spark.stop()
    return {
        "rows": rows, "format": fmt, "master": master, "k": k,
        "duckdb_seconds": round(duck_seconds, 2),
        "spark_session_seconds": round(start_seconds, 2),
        "spark_seconds": round(spark_seconds, 2),
        "spark_stages": sp.timings,
        "peak_driver_mb": round(mem.peak_driver / 2**20),
        "peak_jvm_mb": round(mem.peak_jvm / 2**20),
        "rows_compared": len(pairs),
        "ari_vs_duckdb": round(float(adjusted_rand_score([p[0] for p in pairs], [p[1] for p in pairs])), 4),
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
    args = p.parse_args(argv)
    result = run(args.rows, args.format, args.master, args.k)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
