"""The Dash app: `python app.py` serves it on HOST:PORT; `gunicorn app:server -w 1 --threads 8` in production.

`create_app(store, settings)` builds an app around one DuckDB store (tests pass a temporary one). The
module-level `app` and `server` are created on first access only, so importing this module for its
factory opens no database.
"""
from __future__ import annotations

import gc
import logging
import math
import threading

import dash
from flask_compress import Compress
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from callbacks import register_callbacks
from callbacks.routes import register_routes
from core.config import PROJECT_DIR, Settings
from core.pipeline import ensure_sample, remove_stale_uploads
from core.store import Store, open_default_store
from layouts import ids
from layouts.feedback import alert
from layouts.page import TITLE, page

log = logging.getLogger("csi.app")

# dcc.Upload sends the file base64-encoded inside a JSON request: 4/3 of the file plus the other
# callback inputs. The request limit leaves room for that so a file just under the limit loads.
REQUEST_OVERHEAD_BYTES = 1024 * 1024


def upload_limit_bytes(settings: Settings) -> int:
    return int(settings.max_upload_mb) * 1024 * 1024


def request_limit_bytes(settings: Settings) -> int:
    return math.ceil(upload_limit_bytes(settings) * 4 / 3) + REQUEST_OVERHEAD_BYTES


def _callback_failed(exc: Exception):
    """A callback raised (a bug, not bad input: inputs are checked and refused with alerts): log the
    traceback, show a generic alert, change nothing else."""
    log.error("a callback failed", exc_info=(type(exc), exc, exc.__traceback__))
    dash.set_props(
        ids.VIEWS_ALERT,
        {"children": alert("Something went wrong on the server. The error was logged; try again.")},
    )
    return None


def _refuse_malformed_request(exc: Exception):
    """Requests Dash cannot even parse (forged envelopes) get a 400, not a 500 with a traceback."""
    if isinstance(exc, HTTPException):
        return exc
    if request.path.endswith("/_dash-update-component"):
        log.warning("refused a malformed callback request: %s: %s", type(exc).__name__, str(exc)[:200])
        return jsonify(error="malformed callback request"), 400
    log.error("unexpected server error on %s", request.path, exc_info=(type(exc), exc, exc.__traceback__))
    return jsonify(error="internal server error"), 500


def create_app(store: Store | None = None, settings: Settings | None = None) -> dash.Dash:
    """A Dash app on `store` (default: the DuckDB file from settings), with the sample loaded."""
    settings = settings or Settings()
    if store is None:
        store = open_default_store(settings)
        remove_stale_uploads(store)  # copies left by a server killed mid-upload
    sample_run = ensure_sample(store)  # loads and segments the bundled sample on first start

    app = dash.Dash(
        __name__,
        title=TITLE,
        update_title=None,
        assets_folder=str(PROJECT_DIR / "assets"),
        serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=_callback_failed,
    )
    # Callback responses (the scatter's typed arrays, histograms, grid pages) are compressed for the
    # browser (zstd, brotli or gzip, whichever it accepts); streamed downloads are sent as they are.
    # Fast levels, chosen on the 273 KB scatter response (mostly base64 typed arrays): zstd 1 gives
    # 177 KB in 1.0 ms (zstd 3: 171 KB in 2.8 ms on the same run), brotli 1 179 KB in 1.2 ms, gzip 1
    # 179 KB in 5 ms (gzip 3: 6 ms, the default 6: 10 ms).
    # Current Chrome, Edge and Firefox accept zstd; Safari brotli; anything else gzip.
    app.server.config.update(COMPRESS_STREAMS=False, COMPRESS_MIN_SIZE=1024,
                             COMPRESS_ALGORITHM=["zstd", "br", "gzip", "deflate"],
                             COMPRESS_ZSTD_LEVEL=1, COMPRESS_BR_LEVEL=1, COMPRESS_LEVEL=1, COMPRESS_DEFLATE_LEVEL=1)
    Compress(app.server)
    app.server.register_error_handler(Exception, _refuse_malformed_request)
    app.server.config["MAX_CONTENT_LENGTH"] = request_limit_bytes(settings)
    app.server.config["CSI_UPLOAD_LIMIT_BYTES"] = upload_limit_bytes(settings)
    app.layout = page(upload_limit_bytes(settings))
    register_callbacks(
        app,
        store,
        default_dataset_id=sample_run.dataset_id,
        max_upload_bytes=upload_limit_bytes(settings),
        import_dir=settings.import_dir,
    )
    register_routes(app.server, store, settings)
    app.csi_store = store  # for tests and tools: the store this app serves
    return app


_default: dash.Dash | None = None
_default_lock = threading.Lock()


def _default_app() -> dash.Dash:
    global _default
    with _default_lock:
        if _default is None:
            _default = create_app()
            # The app's own objects (layout, callback map, imported libraries: about 175,000) live as
            # long as the process: frozen out of the cyclic garbage collector, a full collection no
            # longer walks them all (170 ms each, which showed as the slowest interactions).
            gc.collect()
            gc.freeze()
        return _default


def __getattr__(name: str):
    # `app` and `server` are built on first access (gunicorn's `app:server` does exactly that).
    if name == "app":
        return _default_app()
    if name == "server":
        return _default_app().server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    application = _default_app()
    log.info("serving on http://%s:%s", settings.host, settings.port)
    application.run(host=settings.host, port=settings.port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
