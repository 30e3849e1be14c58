"""The HTTP half of the benchmark: the real app under `gunicorn app:server` (one worker, threads, as in
production) on a fresh DuckDB file, driven through `/_dash-update-component` by bench.dash_client like a browser.

Every interaction is a prop change a user makes (a box drawn on the scatter, a range dragged on a
histogram, a segment ticked, "Clear all filters"); the client sends the callback that turns it into
the filter spec and then every callback that the spec store feeds, in parallel as the browser does,
and times the whole cascade until the page has settled (loopback round trips measured on the client).
"""
from __future__ import annotations

import base64
import os
import socket
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from bench.dash_client import Cascade, DashClient, decode_array, id_key
from bench.measure import RSSSampler, percentile
from core.config import PROJECT_DIR

try:  # component ids live in one module; the benchmark uses them, never its own strings
    from layouts import ids
except ImportError:  # pragma: no cover - before the layouts land
    ids = None

INTERACTIONS = ("scatter box select", "scatter lasso", "histogram range", "segment click", "clear filters")


@dataclass
class Series:
    """One kind of request, repeated."""

    name: str
    seconds: list[float] = field(default_factory=list)  # cascade wall time per interaction
    slowest: list[float] = field(default_factory=list)  # slowest single request per interaction
    bytes: list[int] = field(default_factory=list)  # response bytes per interaction (all requests, as sent)
    decoded: list[int] = field(default_factory=list)  # the same after decompression (= bytes if uncompressed)
    requests: list[int] = field(default_factory=list)  # requests per interaction
    per_callback: dict = field(default_factory=dict)  # callback -> list of seconds
    per_callback_bytes: dict = field(default_factory=dict)  # callback -> list of response bytes
    errors: list = field(default_factory=list)

    def add(self, c: Cascade) -> None:
        self.seconds.append(c.seconds)
        self.slowest.append(max((r.seconds for r in c.requests), default=0.0))
        self.bytes.append(c.bytes)
        self.decoded.append(sum(r.decoded_bytes or r.bytes for r in c.requests))
        self.requests.append(len(c.requests))
        for r in c.requests:
            self.per_callback.setdefault(r.callback, []).append(r.seconds)
            self.per_callback_bytes.setdefault(r.callback, []).append(r.bytes)
        for r in c.errors:
            self.errors.append(f"{r.callback}: HTTP {r.status} {r.error or ''}"[:300])

    def summary(self) -> dict:
        return {
            "n": len(self.seconds),
            "p50": percentile(self.seconds, 50),
            "p95": percentile(self.seconds, 95),
            "slowest_p95": percentile(self.slowest, 95),
            "bytes_p50": percentile(self.bytes, 50),
            "bytes_max": max(self.bytes, default=None),
            "decoded_max": max(self.decoded, default=None),
            "requests": int(np.median(self.requests)) if self.requests else 0,
        }


@dataclass
class AppResult:
    rows: int
    server: str = ""
    startup_s: float | None = None
    page_load_s: float | None = None
    page_load_bytes: int | None = None
    upload_s: float | None = None  # median of upload_runs
    upload_runs: list = field(default_factory=list)  # seconds per upload (each a different file)
    upload_requests: list = field(default_factory=list)
    upload_bytes_sent: int | None = None
    upload_note: str = ""
    preload_s: float | None = None  # core ingest + segmentation before the server started (no HTTP upload)
    dashboard_s: float | None = None  # choosing the preloaded dataset -> dashboard drawn (HTTP)
    series: dict = field(default_factory=dict)  # name -> Series
    export_http_s: float | None = None  # median of export_http_runs
    export_http_runs: list = field(default_factory=list)
    export_http_rows: int | None = None
    export_http_bytes: int | None = None
    export_http_rss_delta: int | None = None
    rss_idle: int | None = None
    rss_peak: int | None = None
    rss_peak_phase: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`gunicorn app:server` (the production command) in a subprocess, with CSI_DB in a private folder
(werkzeug's threaded server if gunicorn is missing)."""

    def __init__(self, data_dir: Path, threads: int = 8) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.threads = threads
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "server.log"
        self.kind = ""

    def start(self, timeout: float = 300.0) -> float:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("CSI_DATA_DIR", None)  # the bundled sample stays readable; the database and uploads go here
        env.update(
            CSI_DB=str(self.data_dir / "app.duckdb"),
            CSI_MAX_UPLOAD_MB=env.get("CSI_MAX_UPLOAD_MB", "1024"),
            PYTHONPATH=str(PROJECT_DIR) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        try:
            import gunicorn  # noqa: F401

            cmd = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", str(self.threads),
                   "--bind", f"127.0.0.1:{self.port}", "--timeout", "900", "--graceful-timeout", "5",
                   "--limit-request-line", "0", "app:server"]
            self.kind = f"gunicorn, 1 worker, {self.threads} threads"
        except ImportError:
            cmd = [sys.executable, "-c",
                   "from werkzeug.serving import run_simple; from app import server; "
                   f"run_simple('127.0.0.1', {self.port}, server, threaded=True)"]
            self.kind = "werkzeug threaded"
        t0 = time.perf_counter()
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=self._logf, stderr=subprocess.STDOUT)
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} (log below)")
            try:
                if requests.get(self.base + "/_dash-layout", timeout=5).status_code == 200:
                    return time.perf_counter() - t0
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start in {timeout:.0f} s (log below)")

    def tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_logf", None):
            self._logf.close()


def run_app(
    data_file: Path,
    rows: int,
    folder: Path,
    n_requests: int,
    export_filter: tuple | None,
    export_rows: int,
    http_upload: bool = True,
    seed: int = 0,
) -> AppResult:
    res = AppResult(rows=rows)
    if ids is None:
        res.errors.append("layouts.ids is missing: the app is not there yet")
        return res
    server = Server(folder)
    sampler = None
    client = None
    preloaded = None
    try:
        if not http_upload:
            preloaded = _preload(data_file, folder, res)
        res.startup_s = server.start()
        res.server = server.kind
        sampler = RSSSampler(server.proc.pid).start()
        client = DashClient(server.base)
        _emulate_browser(client)
        t0 = time.perf_counter()
        page = client.load()
        res.page_load_s = time.perf_counter() - t0
        res.page_load_bytes = client.layout_bytes + page.bytes
        _phase(res, sampler, "page load", t0)
        res.rss_idle = sampler.now()

        t0 = time.perf_counter()
        if preloaded:
            _choose_dataset(client, preloaded, res)
            _phase(res, sampler, "dataset chosen", t0)
            if res.dashboard_s is None:
                return res
        else:
            # three uploads of three different files (the same customers drawn with other seeds): a
            # file the app has seen would be recognised by its content hash and not loaded again
            for i, upload_file in enumerate(_upload_files(data_file, rows, UPLOADS)):
                _upload(client, upload_file, res, server)
                if i == 0:
                    _phase(res, sampler, "upload + segmentation", t0)
                if res.upload_s is None:
                    return res
                res.upload_runs.append(res.upload_s)
            res.upload_s = statistics.median(res.upload_runs)

        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        _interactions(client, res, n_requests, rng)
        _phase(res, sampler, "interactions", t0)

        t0 = time.perf_counter()
        _grid(client, res, n_requests, rng)
        _phase(res, sampler, "grid pages", t0)

        t0 = time.perf_counter()
        _export(client, res, export_filter, sampler)
        _phase(res, sampler, "export", t0)
    except Exception as e:  # noqa: BLE001 - report, never crash the whole benchmark
        res.errors.append(f"{type(e).__name__}: {e}")
        traceback.print_exc()
        tail = server.tail()
        if tail:
            res.errors.append("server log tail: " + tail[-800:])
    finally:
        if client:
            client.close()
        if sampler:
            sampler.stop()
            res.rss_peak = sampler.peak
        server.stop()
    return res


def _phase(res: AppResult, sampler: RSSSampler, name: str, t0: float) -> None:
    time.sleep(0.05)
    res.rss_peak_phase[name] = sampler.window(t0)[1]


PAGE_ROWS = 100  # the customer grid's cacheBlockSize (layouts/tables.py)


def _emulate_browser(client: DashClient) -> None:
    """What the page's clientside callbacks and components do in a browser."""
    # dcc.Upload -> the size check in the browser opens the upload gate (callbacks/data.py)
    client.emulate(ids.UPLOAD, "contents",
                   lambda v: [(ids.UPLOAD_GATE, {"data": {"ok": True, "t": int(time.time() * 1000)}})] if v else [])
    # a new filter spec or new columns purge the infinite grid, which asks for its first block again
    first_block = lambda _v: [(ids.CUSTOMER_GRID, {"getRowsRequest": {  # noqa: E731
        "startRow": 0, "endRow": PAGE_ROWS, "sortModel": [], "filterModel": {}}})]
    client.emulate(ids.FILTER_STORE, "data", first_block)
    # the scatter's selection reaches the server as its box or lasso, without the points
    # (callbacks/explore.py's clientside callback; unchanged values are not sent)
    client.emulate(ids.SCATTER_GRAPH, "selectedData", lambda v: _scatter_region(client, v))
    client.emulate(ids.CUSTOMER_GRID, "columnDefs", first_block)


def _scatter_region(client: DashClient, selected) -> list:
    region = None
    if selected:
        region = {k: selected[k] for k in ("range", "lassoPoints") if selected.get(k) is not None}
    return [] if region == client.get(ids.SCATTER_REGION, "data") else [(ids.SCATTER_REGION, {"data": region})]


# -- upload -------------------------------------------------------------------------------------
def _current_run(client: DashClient) -> str | None:
    data = client.get(ids.RUN_STORE, "data")
    if isinstance(data, dict):
        return data.get("run_id")
    return data if isinstance(data, str) else None


def _preload(data_file: Path, folder: Path, res: AppResult) -> str:
    """Files above the app's upload limit: load and segment them into the app's database file with
    the same core calls the upload callback makes, before the server opens it (DuckDB has one writer)."""
    from core import pipeline
    from core.config import Settings
    from core.ingest import load_file
    from core.segmentation import run_segmentation
    from core.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "app.duckdb", Settings(data_dir=folder), allowed_dirs=[folder, data_file.parent])
    try:
        t0 = time.perf_counter()
        info = load_file(store, data_file, data_file.stem, source_name=data_file.name)
        run_segmentation(store, info.dataset_id, pipeline.initial_features(info), k="auto",
                         scale=pipeline.initial_scale(info))
        res.preload_s = time.perf_counter() - t0
    finally:
        store.close()
    res.upload_note = (f"the {data_file.stat().st_size / 2**20:,.0f} MB file was not uploaded over HTTP (above the "
                       "app's default upload limit, or --no-http-upload): loaded and segmented with the upload "
                       "callback's core calls before the server started, then chosen in the dataset picker")
    return info.dataset_id


def _choose_dataset(client: DashClient, dataset_id: str, res: AppResult) -> None:
    t0 = time.perf_counter()
    cascade = client.act(ids.DATASET_PICKER, value=dataset_id)
    res.dashboard_s = time.perf_counter() - t0
    res.upload_requests = [(r.callback, round(r.seconds, 3), r.bytes, r.status) for r in cascade.requests]
    for r in cascade.errors:
        res.errors.append(f"dataset picker: {r.callback}: HTTP {r.status} {r.error or ''}"[:400])
    if _current_run(client) is None:
        res.errors.append("choosing the preloaded dataset did not show its run")
        res.dashboard_s = None


UPLOADS = 3  # uploads timed (median quoted)
EXPORTS = 3  # HTTP exports timed (median quoted)


def _upload_files(data_file: Path, rows: int, n: int) -> list[Path]:
    """The benchmark's file, then n - 1 more of the same size and shape from core.synth (other seeds)."""
    from core import synth

    files = [data_file]
    for i in range(1, n):
        other = data_file.with_name(f"{data_file.stem}_upload{i}{data_file.suffix}")
        if not other.exists():
            synth.write_customers(rows, other, seed=1000 + i)
        files.append(other)
    return files


def _upload(client: DashClient, data_file: Path, res: AppResult, server: Server) -> None:
    before = _current_run(client)
    raw = data_file.read_bytes()
    mime = "text/csv" if data_file.suffix == ".csv" else "application/octet-stream"
    contents = f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")
    res.upload_bytes_sent = len(contents)
    if not any(cb for cb in client.callbacks if any(d.id == ids.UPLOAD and d.prop == "contents" for d in cb.inputs)):
        res.errors.append("no callback listens to the upload's contents")
        return
    client.set(ids.UPLOAD, filename=data_file.name, last_modified=int(time.time()))
    t0 = time.perf_counter()
    cascade = client.act(ids.UPLOAD, contents=contents)
    after = _current_run(client)
    if after == before and client.has(ids.RUN_BUTTON):
        # the upload only loaded the data: the user presses "Run"
        clicks = (client.get(ids.RUN_BUTTON, "n_clicks") or 0) + 1
        more = client.act(ids.RUN_BUTTON, n_clicks=clicks)
        cascade.requests += more.requests
        after = _current_run(client)
        res.upload_note = "upload, then Run pressed"
    res.upload_s = time.perf_counter() - t0
    res.upload_requests = [(r.callback, round(r.seconds, 3), r.bytes, r.status) for r in cascade.requests]
    for r in cascade.errors:
        res.errors.append(f"upload: {r.callback}: HTTP {r.status} {r.error or ''}"[:400])
    if after is None or after == before:
        res.errors.append("the upload did not lead to a new segmentation run; alerts: "
                          + str(client.get(ids.UPLOAD_ALERT, "children"))[:400])
        res.upload_s = None


# -- cross-filter interactions ----------------------------------------------------------------------
def _clear(client: DashClient) -> Cascade:
    n = (client.get(ids.CLEAR_FILTERS, "n_clicks") or 0) + 1
    return client.act(ids.CLEAR_FILTERS, n_clicks=n)


def _scatter_points(client: DashClient) -> tuple[np.ndarray, np.ndarray, list]:
    fig = client.get(ids.SCATTER_GRAPH, "figure") or {}
    xs, ys, traces = [], [], []
    for i, tr in enumerate(fig.get("data", [])):
        x, y = decode_array(tr.get("x")), decode_array(tr.get("y"))
        if len(x) and len(x) == len(y):
            xs.append(x)
            ys.append(y)
            traces.append((i, len(x)))
    if not xs:
        return np.empty(0), np.empty(0), []
    return np.concatenate(xs).astype(float), np.concatenate(ys).astype(float), traces


def _box(client: DashClient, rng: np.random.Generator) -> dict:
    """selectedData for a box drawn around the middle of the point cloud (jittered per request),
    with the points inside it, as plotly sends it."""
    x, y, traces = _scatter_points(client)
    if len(x) == 0:
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    else:
        lo, hi = rng.uniform(20, 35), rng.uniform(65, 80)
        x0, x1 = np.nanpercentile(x, [lo, hi])
        y0, y1 = np.nanpercentile(y, [rng.uniform(20, 35), rng.uniform(65, 80)])
    points = []
    offset = 0
    fig = client.get(ids.SCATTER_GRAPH, "figure") or {}
    for curve, n in traces:
        tx, ty = x[offset : offset + n], y[offset : offset + n]
        inside = np.flatnonzero((tx >= x0) & (tx <= x1) & (ty >= y0) & (ty <= y1))
        points += [{"curveNumber": curve, "pointNumber": int(i), "pointIndex": int(i),
                    "x": float(tx[i]), "y": float(ty[i])} for i in inside]
        offset += n
    del fig
    return {"points": points, "range": {"x": [float(x0), float(x1)], "y": [float(y0), float(y1)]}}


def _lasso(client: DashClient, rng: np.random.Generator) -> dict:
    """selectedData for a lasso (a jittered 12-gon around the middle of the point cloud) with the points
    inside it, as plotly sends it."""
    x, y, traces = _scatter_points(client)
    if len(x) == 0:
        cx, cy, rx, ry = 0.0, 0.0, 1.0, 1.0
    else:
        cx, cy = float(np.nanmedian(x)), float(np.nanmedian(y))
        rx = float(np.nanpercentile(x, 85) - np.nanpercentile(x, 15)) * rng.uniform(0.25, 0.45)
        ry = float(np.nanpercentile(y, 85) - np.nanpercentile(y, 15)) * rng.uniform(0.25, 0.45)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
    radius = rng.uniform(0.7, 1.0, 12)
    px, py = cx + rx * radius * np.cos(angles), cy + ry * radius * np.sin(angles)
    inside = _inside(x, y, px, py) if len(x) else np.zeros(0, dtype=bool)
    points, offset = [], 0
    for curve, n in traces:
        for i in np.flatnonzero(inside[offset : offset + n])[:2000]:
            points.append({"curveNumber": curve, "pointNumber": int(i), "pointIndex": int(i),
                           "x": float(x[offset + i]), "y": float(y[offset + i])})
        offset += n
    return {"points": points, "lassoPoints": {"x": px.tolist(), "y": py.tolist()}}


def _inside(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule: points (x, y) inside the polygon (px, py)."""
    out = np.zeros(len(x), dtype=bool)
    j = len(px) - 1
    for i in range(len(px)):
        crosses = ((py[i] > y) != (py[j] > y)) & (
            x < (px[j] - px[i]) * (y - py[i]) / np.where(py[j] == py[i], 1e-300, py[j] - py[i]) + px[i])
        out ^= crosses
        j = i
    return out


def _hist_ids(client: DashClient) -> list:
    return client.find(lambda cid, t, p: isinstance(cid, dict) and cid.get("type") == ids.HIST_TYPE)


def _hist_range(client: DashClient, hid, rng: np.random.Generator) -> dict:
    fig = client.get(hid, "figure") or {}
    xs = []
    for tr in fig.get("data", []):
        xs.append(decode_array(tr.get("x")))
    x = np.concatenate(xs).astype(float) if xs else np.empty(0)
    if len(x) == 0:
        lo, hi = 0.0, 1.0
    else:
        a, b = float(np.nanmin(x)), float(np.nanmax(x))
        lo = a + (b - a) * rng.uniform(0.2, 0.35)
        hi = a + (b - a) * rng.uniform(0.65, 0.8)
    points = []
    for curve, tr in enumerate(fig.get("data", [])):
        tx, ty = decode_array(tr.get("x")), decode_array(tr.get("y"))
        for i in np.flatnonzero((tx >= lo) & (tx <= hi))[:200]:
            points.append({"curveNumber": curve, "pointNumber": int(i), "x": float(tx[i]),
                           "y": float(ty[i]) if i < len(ty) else None})
    return {"points": points, "range": {"x": [lo, hi]}}


def _interactions(client: DashClient, res: AppResult, n: int, rng: np.random.Generator) -> None:
    # Each box and lasso is drawn on the whole point cloud (an untimed clear first): drawn on the
    # previous selection's points, boxes shrink until two in a row snap to the same grid cells.
    box = res.series.setdefault("scatter box select", Series("scatter box select"))
    for _ in range(n):
        _clear(client)
        box.add(client.act(ids.SCATTER_GRAPH, selectedData=_box(client, rng)))

    lasso = res.series.setdefault("scatter lasso", Series("scatter lasso"))
    for _ in range(n):
        _clear(client)
        lasso.add(client.act(ids.SCATTER_GRAPH, selectedData=_lasso(client, rng)))

    hist = res.series.setdefault("histogram range", Series("histogram range"))
    _clear(client)
    hids = _hist_ids(client)
    if not hids:
        hist.errors.append("no histogram graphs on the page")
    for i in range(n if hids else 0):
        hid = hids[i % len(hids)]
        hist.add(client.act(hid, selectedData=_hist_range(client, hid, rng)))

    seg = res.series.setdefault("segment click", Series("segment click"))
    _clear(client)
    rows = client.get(ids.PROFILE_GRID, "rowData") or []
    row_ids = [r.get("row_id") for r in rows if isinstance(r, dict) and r.get("row_id") is not None]
    if not row_ids:
        seg.errors.append("the profile grid has no rows to click")
    hids = _hist_ids(client)
    for i in range(n if row_ids else 0):
        # A fresh random range first (untimed), so every timed click makes a filter the server has not
        # seen: clicking the same k rows again would otherwise repeat earlier filters.
        if hids:
            hid = hids[i % len(hids)]
            client.act(hid, selectedData=_hist_range(client, hid, rng))
        rid = row_ids[i % len(row_ids)]
        cell = {"value": rid, "colId": "name", "rowIndex": i % len(row_ids), "rowId": str(rid),
                "timestamp": int(time.time() * 1000)}
        seg.add(client.act(ids.PROFILE_GRID, cellClicked=cell))

    clear = res.series.setdefault("clear filters", Series("clear filters"))
    for _ in range(n):
        client.act(ids.SCATTER_GRAPH, selectedData=_box(client, rng))  # something to clear (untimed)
        clear.add(_clear(client))


# -- grid pages -------------------------------------------------------------------------------------
def _grid(client: DashClient, res: AppResult, n: int, rng: np.random.Generator) -> None:
    s = res.series.setdefault("grid page", Series("grid page"))
    if not client.listeners(ids.CUSTOMER_GRID, "getRowsRequest"):
        s.errors.append("no callback listens to the grid's getRowsRequest")
        return
    _clear(client)
    cols = [c.get("field") for c in (client.get(ids.CUSTOMER_GRID, "columnDefs") or []) if isinstance(c, dict)]
    cols = [c for c in cols if c]
    page = 100
    total = None
    for i in range(n):
        start = 0 if i == 0 or total is None else int(rng.integers(0, max(1, total // page))) * page
        sort = []
        if cols and i % 3 == 1:
            sort = [{"colId": cols[i % len(cols)], "sort": "desc" if i % 2 else "asc"}]
        req = {"startRow": start, "endRow": start + page, "sortModel": sort, "filterModel": {}}
        c = client.act(ids.CUSTOMER_GRID, getRowsRequest=req)
        s.add(c)
        resp = client.get(ids.CUSTOMER_GRID, "getRowsResponse") or {}
        if isinstance(resp, dict) and isinstance(resp.get("rowCount"), int):
            total = resp["rowCount"]


# -- export through the download callback ---------------------------------------------------------------
def _export(client: DashClient, res: AppResult, export_filter: tuple | None, sampler: RSSSampler) -> None:
    _clear(client)
    if export_filter:
        col, lo, hi = export_filter
        rid = ids.range_slider(col)
        if client.has(rid):
            client.act(rid, value=[lo, hi])
        else:
            res.errors.append(f"export: no range slider for {col}; exporting the whole run")
    if not client.listeners(ids.EXPORT_BUTTON, "n_clicks"):
        res.errors.append("export: no callback listens to the export button")
        return
    # the same selection exported EXPORTS times (new clicks; the app caches no export), median quoted
    for _ in range(EXPORTS):
        n = (client.get(ids.EXPORT_BUTTON, "n_clicks") or 0) + 1
        time.sleep(0.1)
        t0 = time.perf_counter()
        c = client.act(ids.EXPORT_BUTTON, n_clicks=n)
        t1 = time.perf_counter()
        time.sleep(0.1)
        before, peak = sampler.window(t0, t1 + 0.05)
        res.export_http_runs.append(c.seconds)
        res.export_http_bytes = c.bytes
        res.export_http_rss_delta = max(res.export_http_rss_delta or 0, peak - before)
        for r in c.errors:
            res.errors.append(f"export: {r.callback}: HTTP {r.status} {r.error or ''}"[:300])
    res.export_http_s = statistics.median(res.export_http_runs)
    summary = client.get(ids.SUMMARY, "children")
    res.export_http_rows = _first_int(summary)
    if not client.get(ids.EXPORT_DOWNLOAD, "data"):
        res.errors.append("export: the download callback returned no file; alert: "
                          + str(client.get(ids.EXPORT_ALERT, "children"))[:300])


def _first_int(node) -> int | None:
    """The first number in a rendered summary ("200,000 of 1,000,000 customers selected")."""
    import re

    text = str(node)
    m = re.search(r"(\d[\d,]*)", text)
    return int(m.group(1).replace(",", "")) if m else None


__all__ = ["run_app", "AppResult", "Series", "INTERACTIONS", "id_key"]
