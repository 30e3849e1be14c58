"""Settings read from the environment, with defaults for the embedded single-machine setup."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / "data"
SAMPLE_FILE = DATA_DIR / "mall_customers.csv"


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("CSI_DATA_DIR", DATA_DIR)))
    db_file: str = field(default_factory=lambda: os.environ.get("CSI_DB", ""))
    memory_limit: str = field(default_factory=lambda: os.environ.get("CSI_DUCKDB_MEMORY", "4GB"))
    threads: int = field(default_factory=lambda: _int_env("CSI_DUCKDB_THREADS", os.cpu_count() or 2))
    max_upload_mb: int = field(default_factory=lambda: _int_env("CSI_MAX_UPLOAD_MB", 200))
    host: str = field(default_factory=lambda: os.environ.get("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int_env("PORT", 8050))

    @property
    def db_path(self) -> Path:
        return Path(self.db_file) if self.db_file else self.data_dir / "segmentation.duckdb"

    @property
    def import_dir(self) -> Path:
        """The server-side import folder (CSI_IMPORT_DIR, default <data dir>/import)."""
        env = os.environ.get("CSI_IMPORT_DIR", "")
        return Path(env) if env else self.data_dir / "import"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
