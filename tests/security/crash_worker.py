"""A process the crash tests SIGKILL in the middle of a write (run by tests/security/test_crash.py).

    python tests/security/crash_worker.py setup  DB BIGFILE   # sample + BIGFILE loaded and segmented
    python tests/security/crash_worker.py ingest DB FILE      # load FILE (killed mid-way)
    python tests/security/crash_worker.py run    DB DATASET   # segment DATASET (killed mid-write)

Prints one JSON line per event with a monotonic timestamp (CLOCK_MONOTONIC is shared by all processes):
{"event": "start"|"progress"|"done", "t": ..., ...}, flushed at once so the parent can time its kill.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.config import SAMPLE_FILE, Settings  # noqa: E402
from core.store import Store  # noqa: E402

K = 4
FEATURES = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


def say(event: str, **data) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **data}), flush=True)


def main(argv: list[str]) -> int:
    op, db = argv[0], Path(argv[1])
    store = Store(db, Settings(data_dir=db.parent, threads=2, memory_limit="2GB"),
                  allowed_dirs=[db.parent, SAMPLE_FILE.parent])
    from core.ingest import load_file
    from core.pipeline import ensure_sample
    from core.segmentation import run_segmentation

    def progress(stage: str, fraction: float) -> None:
        say("progress", stage=stage, fraction=fraction)

    if op == "setup":
        sample = ensure_sample(store)
        t0 = time.monotonic()
        info = load_file(store, Path(argv[2]))
        t1 = time.monotonic()
        stages = {}

        def timed(stage: str, fraction: float) -> None:
            stages.setdefault(stage, time.monotonic())

        run = run_segmentation(store, info.dataset_id, FEATURES, k=K, progress=timed)
        t2 = time.monotonic()
        say("done", sample_run=sample.run_id, dataset=info.dataset_id, run=run.run_id, rows=info.rows_loaded,
            # the run's write: from its "store" stage to the "tables" stage (the pre-aggregated tables
            # are built after it, in their own transaction)
            ingest_s=t1 - t0, run_s=t2 - t1, store_s=stages.get("tables", t2) - stages.get("store", t2),
            to_store_s=stages.get("store", t2) - t1)
    elif op == "ingest":
        say("start")
        info = load_file(store, Path(argv[2]), "crash-ingest")
        say("done", dataset=info.dataset_id)
    elif op == "run":
        say("start")
        run = run_segmentation(store, argv[2], FEATURES, k=K, progress=progress)
        say("done", run=run.run_id)
    else:
        raise SystemExit(f"unknown operation {op}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
