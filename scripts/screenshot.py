"""Regenerate docs/screenshot.png from the real app: start it on a temporary DuckDB file (the bundled
sample is loaded and segmented on start), open it in headless Chromium at 1280 px wide, wait until
every view has drawn, and save a full-page PNG.

    python scripts/screenshot.py [--out docs/screenshot.png] [--width 1280] [--height 800] [--url URL]

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


def start_app(folder: Path):
    """The real app on a fresh DuckDB file in `folder`, served from a thread: (url, stop)."""
    from werkzeug.serving import make_server

    from app import create_app
    from core.config import Settings
    from core.store import open_default_store

    # The database lives in the temporary folder; the bundled sample is read from data/.
    settings = Settings(db_file=str(folder / "screenshot.duckdb"))
    store = open_default_store(settings)
    app = create_app(store, settings)
    port = free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        store.close()

    return f"http://127.0.0.1:{port}/", stop


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800, help="window height; the PNG is the full page")
    parser.add_argument("--viewport-only", action="store_true", help="capture only the first screen")
    parser.add_argument("--url", default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url, stop = (args.url, None) if args.url else start_app(Path(tmp))
        driver = browser(args.width, args.height)
        try:
            driver.get(url)
            wait_for_page(driver)
            if not args.viewport_only:
                full = driver.execute_script("return document.documentElement.scrollHeight")
                set_viewport(driver, args.width, max(args.height, int(full)))
                time.sleep(1.0)
                wait_for_page(driver)
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
            print(f"saved {out}")
        finally:
            driver.quit()
            if stop:
                stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
