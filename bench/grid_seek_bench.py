"""Deep customer-grid pages before (ORDER BY ... LIMIT ... OFFSET) and after the bin seek (core/grid_seek.py).

    flock /tmp/cpu.lock .venv/bin/python -m bench.grid_seek_bench --rows 1000000 --folder /tmp/gridseek-1m

Builds (once per folder, reused after) a run as the app makes it: core.synth customers written as Parquet,
loaded by core.ingest.load_file and segmented by core.segmentation.run_segmentation (DuckDB engine, k = 5,
explanations off: they do not change the run table the grid reads). The store uses the app's settings
(core.config.Settings: its memory_limit, threads = 2).

Then it times `views.grid_page` on the same random pages in both modes: random depth (a 100-row block
anywhere in the selection), a random grid column as the first sort key (or none: the default __row order),
random direction, sometimes a second key; half the pages unfiltered, half under a random Income range.
Two cache policies, each page timed alone:
- cold: every cache cleared before each page (run context, the selection's count, the seek's bounds and
  histograms): a page of a filter the process has never seen;
- sort change: the selection's count is cached (the summary counted it in the same cascade), the seek's
  caches are cleared: a new sort or a jump to a new depth.
Each series is run --repeats times; the report quotes the median over repeats of p50 and p95.
The pages of both modes are compared row for row (same __row lists) as a sanity check.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from core import grid_seek, synth, views
from core.config import Settings
from core.store import Store

PAGE = 100  # the grid's cacheBlockSize (layouts/tables.py)


def build(folder: Path, rows: int) -> tuple[Store, str, dict]:
    """The store and run id, building them when the folder has none yet (build times returned)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "bench.duckdb", Settings(data_dir=folder, threads=2), allowed_dirs=[folder])
    marker = folder / "run.json"
    if marker.exists():
        return store, json.loads(marker.read_text())["run_id"], {}
    from core.ingest import load_file
    from core.segmentation import run_segmentation

    data = folder / "customers.parquet"
    t0 = time.perf_counter()
    synth.write_customers(rows, data, fmt="parquet")
    t1 = time.perf_counter()
    info = load_file(store, data, "customers", source_name=data.name)
    t2 = time.perf_counter()
    run = run_segmentation(store, info.dataset_id, k=5, seed=42, explain=False)
    t3 = time.perf_counter()
    times = {"synth_s": t1 - t0, "ingest_s": t2 - t1, "segmentation_s": t3 - t2}
    marker.write_text(json.dumps({"run_id": run.run_id, "rows": rows, **times}))
    return store, run.run_id, times


def pages(store: Store, run_id: str, n: int, seed: int) -> list[tuple[dict, int, list]]:
    """n random (filter, start, sortModel) requests."""
    rng = np.random.default_rng(seed)
    fields = views.grid_columns(store, run_id)
    income = next(c for c in fields if c.startswith("Annual Income"))
    lo_b, hi_b = views.feature_bounds(store, run_id)[income]
    out = []
    for i in range(n):
        spec: dict = {"run_id": run_id}
        if i % 2:
            lo = float(rng.uniform(lo_b, hi_b))
            spec["ranges"] = {income: [lo, float(rng.uniform(lo, hi_b))]}
        total = views.count(store, views.parse_spec(store, spec))[0]
        start = int(rng.integers(0, max(1, total // PAGE))) * PAGE
        first = [None, *fields][int(rng.integers(0, len(fields) + 1))]
        sort = [] if first is None else [{"colId": first, "sort": str(rng.choice(["asc", "desc"]))}]
        if sort and rng.random() < 0.3:
            second = str(rng.choice([f for f in fields if f != first]))
            sort.append({"colId": second, "sort": str(rng.choice(["asc", "desc"]))})
        out.append((spec, start, sort))
    return out


def series(store: Store, requests: list, policy: str) -> tuple[list[float], list[list[int]]]:
    times, rows = [], []
    for spec_json, start, sort in requests:
        views.clear_caches()
        grid_seek.clear_cache()
        spec = views.parse_spec(store, spec_json)
        if policy == "sort change":
            views.count(store, spec)
            grid_seek.clear_cache()
        t0 = time.perf_counter()
        page, _ = views.grid_page(store, spec, start, start + PAGE, sort)
        times.append(time.perf_counter() - t0)
        rows.append([r["__row"] for r in page])
    return times, rows


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def measure(store: Store, requests: list, repeats: int, max_read: int) -> dict:
    out: dict = {}
    seen: dict = {}
    for mode in ("before", "after"):
        # "before": every selection counts as small, so page_rows takes the plain ORDER BY ... OFFSET query
        grid_seek.MAX_READ_ROWS = 10**15 if mode == "before" else max_read
        for policy in ("cold", "sort change"):
            p50s, p95s, maxes = [], [], []
            for _ in range(repeats):
                t, rows = series(store, requests, policy)
                p50s.append(pct(t, 50))
                p95s.append(pct(t, 95))
                maxes.append(max(t))
                seen.setdefault(mode, rows)
            out[f"{mode}, {policy}"] = {"p50_ms": 1000 * statistics.median(p50s),
                                        "p95_ms": 1000 * statistics.median(p95s),
                                        "max_ms": 1000 * statistics.median(maxes),
                                        "p95_runs_ms": [round(1000 * p, 1) for p in p95s]}
    grid_seek.MAX_READ_ROWS = MAX_READ
    out["identical_pages"] = seen["before"] == seen["after"]
    return out


MAX_READ = grid_seek.MAX_READ_ROWS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--build-only", action="store_true", help="build (or find) the run and stop")
    ap.add_argument("--max-read", type=int, default=MAX_READ, help="grid_seek.MAX_READ_ROWS for 'after'")
    args = ap.parse_args(argv)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    store, run_id, build_times = build(args.folder, args.rows)
    if args.build_only:
        store.close()
        print(json.dumps({"run_id": run_id, **build_times}))
        return 0
    try:
        total = views.count(store, views.parse_spec(store, {"run_id": run_id}))[1]
        requests = pages(store, run_id, args.pages, args.seed)
        results = measure(store, requests, args.repeats, args.max_read)
    finally:
        store.close()
    report = {
        "rows": total, "pages": args.pages, "repeats": args.repeats, "max_read": args.max_read,
        "settings": {"memory_limit": Settings().memory_limit, "threads": 2}, "build": build_times,
        "loadavg_before": load_before, "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "requests": [[s.get("ranges"), st, so] for s, st, so in requests], "results": results,
    }
    (args.folder / "grid_seek_results.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: v for k, v in report.items() if k != "requests"}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
