"""The app as the benchmark serves it: `gunicorn 'bench.serve:wsgi()'` (one worker, several threads,
as in production), on the DuckDB file under $CSI_DATA_DIR."""
from __future__ import annotations


def wsgi():
    from app import create_app
    from core.config import Settings

    return create_app(settings=Settings()).server
