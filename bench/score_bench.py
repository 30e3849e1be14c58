"""Scoring benchmark: `python -m bench.score_bench --rows N [--format csv|parquet|both]`.

Reproducible and assert-free (it measures, it never fails because a machine is slow):
1. untimed setup: N customers from core.synth (seed 7, the stated dirt) as CSV and/or Parquet, and a
   model: a 100,000-row synth table of *other* customers (seed 8) loaded and segmented with the
   DuckDB engine (k = 5, default features), saved with core.model_file.save_model;
2. in process, per stage, on a fresh DuckDB file each run: reading the file into the staging table
   (core.ingest.stage_file), typing + cleaning + validation + publishing (publish_staged, committed),
   scoring (core.scoring.score_rows) and writing the output (write_scored to .parquet and .csv);
3. end to end: `python -m core score MODEL INPUT [--out FILE] --json` as a subprocess (imports,
   model validation, temporary database and all): wall time, the child's CPU time and peak RSS.
Every figure is the median of --runs runs (default 3); the load average is read before and after the
timed part. `--cpu-lock /tmp/cpu.lock` holds that lock only while timing (the setup runs outside it;
do not also wrap the command in `flock` on the same file). Writes a markdown report (--md).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import RSSSampler
from core.config import PROJECT_DIR, Settings
from core.store import Store, new_id

DEFAULT_MD = PROJECT_DIR / "bench" / "SCORING.md"
DEFAULT_FOLDER = PROJECT_DIR / "bench" / "out" / "score"
SCORE_SEED = 7  # the customers to score (core.synth's default seed)
TRAIN_SEED = 8  # the model's training customers: another draw of the same population
TRAIN_ROWS = 100_000
MODEL_K = 5
OUTPUTS = (None, ".parquet", ".csv")  # no output file, then each output format


STAGES = ("read", "clean", "score", "write .parquet", "write .csv")
TOTAL = ("read", "clean", "score", "write .parquet")  # the stages of one score_file(..., out=.parquet)


@dataclass
class StageTimes:
    """Per-stage seconds of every run (in process) for one input format: wall time, and the process's
    CPU time (time.process_time: every thread, DuckDB's included)."""

    wall: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    rows_scored: int = 0
    rows_loaded: int = 0

    def lap(self, stage: str, since: tuple[float, float]) -> tuple[float, float]:
        """Record the time from `since` (a previous lap's or clock()'s value) and return now."""
        now = clock()
        self.wall[stage].append(now[0] - since[0])
        self.cpu[stage].append(now[1] - since[1])
        return now


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


@dataclass
class CliTimes:
    """End-to-end `python -m core score` runs for one input format and output."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)  # bytes
    rows_scored: int = 0
    error: str = ""


# -- setup (untimed) ------------------------------------------------------------------------------
def make_inputs(rows: int, formats: list[str], folder: Path) -> dict[str, Path]:
    from core.synth import write_customers

    paths = {}
    for fmt in formats:
        paths[fmt] = folder / f"customers_{rows}.{fmt}"
        write_customers(rows, paths[fmt], SCORE_SEED, fmt)
    return paths


def make_model(folder: Path, train_rows: int) -> Path:
    """Segment `train_rows` other customers with the DuckDB engine and save the model (untimed)."""
    from core.ingest import load_file
    from core.model_file import save_model
    from core.segmentation import run_segmentation
    from core.synth import write_customers

    train = folder / f"train_{train_rows}.parquet"
    write_customers(train_rows, train, TRAIN_SEED, "parquet")
    model = folder / "model.json"
    with tempfile.TemporaryDirectory(prefix="csi-bench-") as tmp:
        store = _store(Path(tmp), folder)
        try:
            info = load_file(store, train)
            run = run_segmentation(store, info.dataset_id, k=MODEL_K, explain=False)
            save_model(store, run.run_id, model)
        finally:
            store.close()
    return model


def _store(tmp: Path, data_folder: Path) -> Store:
    return Store(tmp / "bench.duckdb", Settings(data_dir=tmp), allowed_dirs=[data_folder])


# -- timing ---------------------------------------------------------------------------------------
def time_stages(model_path: Path, path: Path, runs: int) -> StageTimes:
    """The steps of core.scoring.score_file, each timed, on a fresh database per run."""
    from core.ingest import publish_staged, stage_file
    from core.model_file import load_model
    from core.scoring import score_rows, write_scored

    model = load_model(model_path)
    times = StageTimes()
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="csi-bench-") as tmp:
            store = _store(Path(tmp), path.parent)
            try:
                t = clock()
                with store.transaction() as cur:  # what load_file does, in its two halves
                    staged = stage_file(cur, path, f"stage_{new_id()}")
                    t = times.lap("read", t)
                    info = publish_staged(store, cur, staged, path.stem, path.name)
                    cur.execute(f"DROP TABLE IF EXISTS {staged.table}")
                t = times.lap("clean", t)
                scored = score_rows(store, model, info)
                t = times.lap("score", t)
                for suffix in (".parquet", ".csv"):
                    write_scored(store, model, info, scored, Path(tmp) / f"scored{suffix}")
                    t = times.lap(f"write {suffix}", t)
                times.rows_scored, times.rows_loaded = len(scored.segment), info.rows_loaded
            finally:
                store.close()
    return times


def time_cli(model_path: Path, path: Path, suffix: str | None, runs: int) -> CliTimes:
    """`python -m core score` end to end in a child process: wall, CPU (user + system), peak RSS."""
    times = CliTimes()
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="csi-bench-") as tmp:
            cmd = [sys.executable, "-m", "core", "score", str(model_path), str(path), "--json"]
            if suffix:
                cmd += ["--out", str(Path(tmp) / f"scored{suffix}")]
            with open(Path(tmp) / "stdout", "w+") as out, open(Path(tmp) / "stderr", "w+") as err:
                t0 = time.perf_counter()
                proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, stdout=out, stderr=err)
                hwm = HighWaterMark(proc.pid).start()
                _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time
                hwm.stop()
                wall = time.perf_counter() - t0
                proc.returncode = os.waitstatus_to_exitcode(status)
                out.seek(0)
                err.seek(0)
                if proc.returncode != 0:
                    times.error = err.read().strip()[-300:] or f"exit code {proc.returncode}"
                    return times
                times.rows_scored = int(json.loads(out.read())["rows_scored"])
        times.wall.append(wall)
        times.cpu.append(usage.ru_utime + usage.ru_stime)
        times.peak_rss.append(hwm.peak)
    return times


class HighWaterMark(RSSSampler):
    """Peak resident memory of a child process: its VmHWM, read every 20 ms until it exits (`peak`).
    (The child's ru_maxrss would not do: Linux carries the forking parent's peak across exec.)"""

    def _loop(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.samples.append((time.perf_counter(), int(line.split()[1]) * 1024))
            except (OSError, ValueError):
                pass  # not started yet, or gone (a zombie has no memory lines)
            self._stop.wait(self.interval)


@contextmanager
def cpu_lock(path: str | None):
    """Hold an advisory lock shared with other timed jobs while timing (None: no lock)."""
    if not path:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# -- report ---------------------------------------------------------------------------------------
def _med(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "n/a"


def _cell(t: StageTimes, stages: tuple[str, ...]) -> str:
    """Median wall (median CPU) seconds of one stage or, for several, of their per-run sum."""
    wall = [sum(v) for v in zip(*(t.wall[s] for s in stages))]
    cpu = [sum(v) for v in zip(*(t.cpu[s] for s in stages))]
    return f"{_med(wall)} ({_med(cpu)})"


def _mb(values: list[int]) -> str:
    return f"{statistics.median(values) / 2**20:,.0f}" if values else "n/a"


def render(rows: int, runs: int, stages: dict[str, StageTimes], cli: dict[tuple[str, str | None], CliTimes],
           load: tuple[str, str], machine: str, train_rows: int = TRAIN_ROWS) -> str:
    lines = [
        f"# Scoring benchmark: {rows:,} customers",
        "",
        f"`python -m bench.score_bench --rows {rows} --runs {runs} --cpu-lock /tmp/cpu.lock`; median of {runs} "
        f"runs, seconds of wall time. Machine: {machine}. Load average (1, 5, 15 min) before timing {load[0]}, "
        f"after {load[1]}.",
        "",
        f"Input: core.synth customers (seed {SCORE_SEED}: duplicates, missing values, invalid rows). Model: "
        f"k = {MODEL_K} on the default features (Age, Annual Income, Spending Score), fitted on "
        f"{train_rows:,} other synth customers (seed {TRAIN_SEED}) with the DuckDB engine.",
        "",
        "## In process, per stage",
        "",
        "read = core.ingest.stage_file (sniffing, reading into the staging table); clean = publish_staged "
        "(typing, duplicates, validation rules, publishing, commit); score = core.scoring.score_rows (fill, "
        "encode, scale, nearest centroid); write = write_scored (every input column + 4). Each cell: wall "
        "seconds (CPU seconds of the process, DuckDB's threads included, in brackets).",
        "",
        "| input | rows loaded | rows scored | " + " | ".join(STAGES) + " | total, .parquet out |",
        "|---|---|---|" + "---|" * (len(STAGES) + 1),
    ]
    for fmt, t in stages.items():
        cells = [_cell(t, (s,)) for s in STAGES] + [_cell(t, TOTAL)]
        lines.append(f"| {fmt} | {t.rows_loaded:,} | {t.rows_scored:,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## End to end: `python -m core score MODEL INPUT [--out FILE] --json`",
        "",
        "A new Python process each run: imports, model validation, a temporary DuckDB file, ingest, "
        "scoring, output. CPU = the child's user + system time; peak RSS = its high-water mark of resident "
        "memory (VmHWM).",
        "",
        "| input | --out | wall s | CPU s | peak RSS MB | rows scored | under 5 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (fmt, suffix), t in cli.items():
        out = f"scored{suffix}" if suffix else "(none)"
        if t.error:
            lines.append(f"| {fmt} | {out} | error: {t.error} | | | | |")
            continue
        met = "yes" if t.wall and statistics.median(t.wall) < 5 else "no"
        lines.append(f"| {fmt} | {out} | {_med(t.wall)} | {_med(t.cpu)} | {_mb(t.peak_rss)} | "
                     f"{t.rows_scored:,} | {met} |")
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + cpu if cpu else ''}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.score_bench", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="customers in the file to score")
    ap.add_argument("--format", choices=("csv", "parquet", "both"), default="both")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported)")
    ap.add_argument("--train-rows", type=int, default=TRAIN_ROWS, help="customers the model is fitted on")
    ap.add_argument("--folder", default=str(DEFAULT_FOLDER), help="where the generated files go")
    ap.add_argument("--md", default=str(DEFAULT_MD), help="markdown report to write")
    ap.add_argument("--cpu-lock", metavar="FILE", help="flock this file while timing (e.g. /tmp/cpu.lock)")
    ap.add_argument("--no-cli", action="store_true", help="only the in-process stages")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rows < 1 or args.runs < 1:
        print("error: --rows and --runs must be at least 1", file=sys.stderr)
        return 2
    folder = Path(args.folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    formats = ["csv", "parquet"] if args.format == "both" else [args.format]
    inputs = make_inputs(args.rows, formats, folder)
    train_rows = min(args.train_rows, max(args.rows, 1000))
    model = make_model(folder, train_rows)
    stages: dict[str, StageTimes] = {}
    cli: dict[tuple[str, str | None], CliTimes] = {}
    with cpu_lock(args.cpu_lock):
        before = loadavg()
        for fmt, path in inputs.items():
            stages[fmt] = time_stages(model, path, args.runs)
            if not args.no_cli:
                for suffix in OUTPUTS:
                    cli[(fmt, suffix)] = time_cli(model, path, suffix, args.runs)
        after = loadavg()
    report = render(args.rows, args.runs, stages, cli, (before, after), _machine(), train_rows)
    print(report)
    md = Path(args.md)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
