"""`python -m bench`: the app against the original approach at 100,000 and 1,000,000 customers.

For each size, on data from core.synth, in one run:
1. core in-process: ingest (reading, then typing + cleaning + validation), segmentation, profile,
   agreement with a full K-Means, streaming export of --export-rows rows;
2. the real app under gunicorn over HTTP: upload to a segmented dashboard, every cross-filter
   interaction --requests times, grid pages, export through the download callback, the process's RSS;
3. the original approach (bench/baseline.py) in its own process: one interaction and to_excel of the
   same export rows.
Then RFM from --rfm-rows transactions. Writes a markdown report (--out) with targets and PASS/MISS.
It measures; it never fails because a machine is slow.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import RSSSampler, cpu_snapshot, machine, other_cores_used, other_cpu_load
from bench.report import render
from core.config import PROJECT_DIR

DEFAULT_OUT = PROJECT_DIR / "bench" / "RESULTS.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated customer counts")
    ap.add_argument("--requests", type=int, default=30, help="requests per interaction (at least 30 for the report)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--skip-baseline", action="store_true", help="do not run the original approach")
    ap.add_argument("--export-rows", type=int, default=200_000)
    ap.add_argument("--rfm-rows", type=int, default=None,
                    help="transactions for RFM (default: 10 per customer of the largest size, at most "
                         "10,000,000); 0 skips it")
    ap.add_argument("--agreement-rows", type=int, default=None,
                    help="rows of the upsampled real file for the agreement check (default: the largest "
                         "size, at most 1,000,000); 0 skips it")
    ap.add_argument("--no-http-upload", action="store_true",
                    help="never upload over HTTP (files above the app's default upload limit never are)")
    ap.add_argument("--workdir", default=None, help="keep generated files here (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--note", default="", help="a line for the report (e.g. 'machine busy with other work')")
    args = ap.parse_args(argv)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error("--sizes must be numbers separated by commas")
    if not args.sizes or min(args.sizes) < 100:
        ap.error("--sizes must be at least 100 each")
    if args.agreement_rows is None:
        args.agreement_rows = min(1_000_000, max(args.sizes))
    if args.rfm_rows is None:
        args.rfm_rows = min(10_000_000, 10 * max(args.sizes))
    return args


def run_baseline(data_file: Path, folder: Path, export_rows: int, export_filter) -> dict:
    out = folder / "baseline.json"
    cmd = [sys.executable, "-m", "bench.baseline", "--csv", str(data_file), "--json", str(out),
           "--export-rows", str(export_rows)]
    if export_filter:
        col, lo, hi = export_filter
        cmd += ["--export-filter", f"{col},{lo},{hi}"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_DIR)
    sampler = RSSSampler(proc.pid).start()
    rc = proc.wait()
    sampler.stop()
    result = {"wall_s": time.perf_counter() - t0, "peak_rss": sampler.peak, "rc": rc}
    if rc == 0 and out.exists():
        result.update(json.loads(out.read_text()))
    else:
        result["error"] = f"baseline exited with {rc}"
    return result


def bench_size(size: int, args, workdir: Path) -> dict:
    from bench.app_bench import run_app
    from bench.core_bench import run_core
    from core import synth

    from bench.measure import cpu_snapshot, other_cores_used

    cpu0 = cpu_snapshot()
    folder = workdir / f"n{size}"
    folder.mkdir(parents=True, exist_ok=True)
    data_file = folder / f"customers_{size}.csv"
    print(f"[bench] {size:,} rows: generating {data_file.name}", flush=True)
    t0 = time.perf_counter()
    plan = synth.write_customers(size, data_file, seed=args.seed)
    gen_s = time.perf_counter() - t0
    export_rows = min(args.export_rows, size)

    print(f"[bench] {size:,} rows: core in-process", flush=True)
    core = run_core(data_file, size, folder / "core", export_rows)

    print(f"[bench] {size:,} rows: app over HTTP", flush=True)
    from core.config import Settings

    fits = data_file.stat().st_size <= Settings().max_upload_mb * 2**20
    app = run_app(data_file, size, folder / "app", args.requests, core.export_filter, export_rows,
                  http_upload=fits and not args.no_http_upload, seed=args.seed)

    baseline = None
    if not args.skip_baseline:
        print(f"[bench] {size:,} rows: original approach (pandas + scikit-learn)", flush=True)
        baseline = run_baseline(data_file, folder, export_rows, core.export_filter)
    data_bytes = data_file.stat().st_size
    if not args.workdir:
        shutil.rmtree(folder, ignore_errors=True)
    return {"size": size, "other_cores": other_cores_used(cpu0, cpu_snapshot()), "generate_s": gen_s, "file_bytes": data_bytes, "plan": plan.__dict__,
            "core": core, "app": app, "baseline": baseline}


def _commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=PROJECT_DIR, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "n/a"
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="csi-bench-"))
    env = machine()
    from core.config import Settings

    defaults = Settings()
    env.update(duckdb_memory=defaults.memory_limit, duckdb_threads=defaults.threads,
               upload_mb=defaults.max_upload_mb, commit=_commit())
    env["load_before"] = other_cpu_load()
    env["loadavg_before"] = os.getloadavg()
    started = time.perf_counter()
    cpu0 = cpu_snapshot()
    results = []
    try:
        for size in args.sizes:
            results.append(bench_size(size, args, workdir))
        agreement = None
        if args.agreement_rows:
            from bench.core_bench import run_upsampled_agreement

            print(f"[bench] agreement on {args.agreement_rows:,} upsampled real customers", flush=True)
            agreement = run_upsampled_agreement(args.agreement_rows, workdir / "agreement", seed=args.seed)
        rfm = None
        if args.rfm_rows:
            from bench.core_bench import run_rfm

            print(f"[bench] RFM from {args.rfm_rows:,} transactions", flush=True)
            rfm = run_rfm(args.rfm_rows, workdir / "rfm", seed=args.seed)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    env["other_cores_during"] = other_cores_used(cpu0, cpu_snapshot())
    env["load_after"] = other_cpu_load()
    env["loadavg_after"] = os.getloadavg()
    env["total_s"] = time.perf_counter() - started
    text = render(env, args, results, rfm, agreement)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"[bench] wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
