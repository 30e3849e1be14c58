"""Measuring helpers: a background RSS sampler for a process (tree), timers, percentiles, machine facts."""
from __future__ import annotations

import os
import platform
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import psutil

PACKAGES = ("dash", "duckdb", "pandas", "numpy", "scikit-learn", "pyarrow", "xlsxwriter", "plotly",
            "dash-ag-grid", "gunicorn")


class RSSSampler:
    """Samples the resident memory of a process and its children every `interval` seconds.

    `window(t0, t1)` gives the peak between two perf_counter times, so one sampler serves every phase.
    """

    def __init__(self, pid: int, interval: float = 0.02, children: bool = True) -> None:
        self.pid = pid
        self.interval = interval
        self.children = children
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"rss-{pid}", daemon=True)

    def start(self) -> "RSSSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _loop(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        procs = [root]
        refreshed = 0.0
        while not self._stop.is_set():
            now = time.perf_counter()
            if self.children and now - refreshed > 0.5:
                try:
                    procs = [root] + root.children(recursive=True)
                except psutil.Error:
                    return
                refreshed = now
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            if total:
                self.samples.append((now, total))
            self._stop.wait(self.interval)

    def now(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def window(self, t0: float, t1: float | None = None) -> tuple[int, int]:
        """(rss just before t0, peak rss in [t0, t1])."""
        t1 = t1 if t1 is not None else time.perf_counter()
        before = [r for t, r in self.samples if t <= t0]
        inside = [r for t, r in self.samples if t0 <= t <= t1]
        base = before[-1] if before else (inside[0] if inside else 0)
        return base, max(inside + [base]) if (inside or base) else 0

    @property
    def peak(self) -> int:
        return max((r for _, r in self.samples), default=0)


@dataclass
class Timed:
    seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def rss_delta(self) -> int:
        return max(0, self.rss_peak - self.rss_before)


@contextmanager
def timed(sampler: RSSSampler | None = None):
    """with timed(sampler) as t: ...  -> t.seconds, t.rss_before, t.rss_peak."""
    t = Timed()
    time.sleep(0.03 if sampler else 0)  # let the sampler see the "before" level
    t0 = time.perf_counter()
    try:
        yield t
    finally:
        t1 = time.perf_counter()
        t.seconds = t1 - t0
        if sampler:
            time.sleep(sampler.interval * 2)
            t.rss_before, t.rss_peak = sampler.window(t0, time.perf_counter())


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def machine() -> dict:
    vm = psutil.virtual_memory()
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cores": os.cpu_count() or 1,
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": vm.total / 2**30,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": versions,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def other_cpu_load(interval: float = 1.0) -> float:
    """CPU percent (of all cores) used by processes other than this one and its children."""
    me = psutil.Process()
    mine = {me.pid} | {c.pid for c in me.children(recursive=True)}
    procs = []
    for p in psutil.process_iter():
        if p.pid in mine:
            continue
        try:
            p.cpu_percent(None)
            procs.append(p)
        except psutil.Error:
            pass
    time.sleep(interval)
    total = 0.0
    for p in procs:
        try:
            total += p.cpu_percent(None)
        except psutil.Error:
            pass
    return total / (os.cpu_count() or 1)


def mb(n: int | float | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.0f} MB"


def cpu_snapshot() -> tuple[float, float, float]:
    """(wall, busy CPU seconds of the whole machine, CPU seconds of this process and its reaped children)."""
    t = psutil.cpu_times()
    busy = sum(getattr(t, f) for f in ("user", "nice", "system", "irq", "softirq", "steal") if hasattr(t, f))
    own = os.times()
    return time.perf_counter(), busy, own.user + own.system + own.children_user + own.children_system


def other_cores_used(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Average cores used by other processes between two snapshots (children must have been waited for)."""
    wall = max(1e-9, b[0] - a[0])
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / wall)
