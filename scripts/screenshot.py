"""Regenerate docs/screenshot.png from the real app: start it on a temporary DuckDB file (the bundled
sample is loaded and segmented on start), open it in headless Chromium at 1280 px wide, wait until
every view has drawn, and save a full-page PNG. Unless --out or --url is given it also saves
docs/screenshot-wide.png: the same app on tests/data/marketing_campaign.csv (a wide customer file).

    python scripts/screenshot.py [--out docs/screenshot.png] [--width 1280] [--height 800] [--url URL]
    python scripts/screenshot.py --file tests/data/marketing_campaign.csv --out docs/screenshot-wide.png

--url screenshots an app that is already running instead of starting one.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WIDE_FILE = ROOT / "tests" / "data" / "marketing_campaign.csv"


def load_extra(store, folder: Path, source: Path) -> str:
    """Load and segment a customer file (copied into the app's folder, which it may read); its name."""
    from core import pipeline
    from core.segmentation import run_segmentation

    copy = folder / source.name
    shutil.copy(source, copy)
    info = pipeline.load_path(store, copy, source.stem, source_name=source.name)
    run_segmentation(store, info.dataset_id, pipeline.initial_features(info), k="auto",
                     scale=pipeline.initial_scale(info))
    # The page opens the app's default dataset if it exists, else the newest: show the wide file.
    for other in store.list_datasets():
        if other.dataset_id != info.dataset_id:
            store.delete_dataset(other.dataset_id)
    return info.name


def start_app(folder: Path, extra: Path | None = None):
    """The real app on a fresh DuckDB file in `folder`, served from a thread: (url, stop, dataset
    name to show or None)."""
    from werkzeug.serving import make_server

    from app import create_app
    from core.config import Settings
    from core.store import open_default_store

    # The database lives in the temporary folder; the bundled sample is read from data/.
    settings = Settings(db_file=str(folder / "screenshot.duckdb"))
    store = open_default_store(settings)
    app = create_app(store, settings)
    shown = load_extra(store, folder, extra) if extra else None
    port = free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        store.close()

    return f"http://127.0.0.1:{port}/", stop, shown


def browser(width: int, height: int):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    chrome = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chrome:
        options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options)
    set_viewport(driver, width, height)
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    """An exact CSS viewport (the window size would include the browser's own chrome)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def wait_for_page(driver, timeout: float = 60.0) -> None:
    """Until the profile table has rows and the charts have drawn."""
    deadline = time.time() + timeout
    script = """
        const rows = document.querySelectorAll('#profile-grid .ag-center-cols-container .ag-row').length;
        const plots = document.querySelectorAll('.js-plotly-plot .main-svg').length;
        const gridRows = [...document.querySelectorAll('#customer-grid .ag-center-cols-container .ag-row')]
            .filter(r => r.innerText.trim()).length;
        return [rows, plots, gridRows];
    """
    while time.time() < deadline:
        rows, plots, grid_rows = driver.execute_script(script)
        if rows and plots >= 3 and grid_rows:
            time.sleep(1.5)  # let the last transitions settle
            return
        time.sleep(0.3)
    raise TimeoutError("the dashboard did not finish drawing")


def shoot(out: Path, width: int, height: int, url: str | None, viewport_only: bool,
          extra: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, stop, _ = (url, None, None) if url else start_app(Path(tmp), extra)
        driver = browser(width, height)
        try:
            driver.get(url)
            # A returning visitor: the first-visit guide stays closed (it would cover the charts).
            driver.execute_script("window.localStorage.setItem('help-seen', 'true');")
            driver.get(url)
            wait_for_page(driver)
            if not viewport_only:
                full = driver.execute_script("return document.documentElement.scrollHeight")
                set_viewport(driver, width, max(height, int(full)))
                time.sleep(1.0)
                wait_for_page(driver)
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
            print(f"saved {out}")
        finally:
            driver.quit()
            if stop:
                stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800, help="window height; the PNG is the full page")
    parser.add_argument("--viewport-only", action="store_true", help="capture only the first screen")
    parser.add_argument("--url", default=None)
    parser.add_argument("--file", default=None, help="also load this customer file and show it")
    args = parser.parse_args(argv)
    default_out = args.out == parser.get_default("out")
    shoot(Path(args.out), args.width, args.height, args.url, args.viewport_only,
          Path(args.file) if args.file else None)
    if default_out and not args.url and not args.file:
        shoot(ROOT / "docs" / "screenshot-wide.png", args.width, args.height, None, args.viewport_only, WIDE_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
