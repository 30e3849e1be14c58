"""Resource caps and sandboxing of the DuckDB store (issue 5 item 7).

DuckDB's memory_limit and threads come from configuration (CSI_DUCKDB_MEMORY, CSI_DUCKDB_THREADS) with
sane defaults; SQL cannot read or write files outside the allowed folders, cannot install or load
extensions, and cannot change any of this afterwards (lock_configuration).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from core.config import PROJECT_DIR, Settings
from core.store import Store

UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "KB": 10**3, "MB": 10**6, "GB": 10**9}


def to_bytes(text: str) -> float:
    """'286.1 MiB' or '300MB' -> bytes."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]i?B)\s*", text)
    assert m, text
    return float(m.group(1)) * UNITS[m.group(2)]


def setting(cur, name: str):
    return cur.execute("SELECT current_setting(?)", [name]).fetchone()[0]


@pytest.fixture
def capped(tmp_path: Path) -> Store:
    (tmp_path / "allowed.csv").write_text("a,b\n1,2\n")
    s = Store(tmp_path / "caps.duckdb", Settings(data_dir=tmp_path, memory_limit="300MB", threads=1))
    yield s
    s.close()


def test_memory_limit_and_threads_come_from_settings(capped):
    with capped.cursor() as cur:
        assert to_bytes(setting(cur, "memory_limit")) == pytest.approx(300e6, rel=0.01)
        assert int(setting(cur, "threads")) == 1


def test_caps_hold_on_cursors_of_other_threads(capped):
    seen = {}

    def worker():
        with capped.cursor() as cur:
            seen["memory"] = to_bytes(setting(cur, "memory_limit"))
            seen["threads"] = int(setting(cur, "threads"))
            seen["external"] = setting(cur, "enable_external_access")

    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert seen == {"memory": pytest.approx(300e6, rel=0.01), "threads": 1, "external": False}


PROBE = """
import json
from core.config import Settings
from core.store import open_default_store
s = open_default_store()
cur = s.cursor()
print(json.dumps({name: str(cur.execute("SELECT current_setting(?)", [name]).fetchone()[0])
                  for name in ("memory_limit", "threads", "enable_external_access", "lock_configuration",
                               "autoinstall_known_extensions", "autoload_known_extensions")}))
"""


def probe(tmp_path: Path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CSI_")}
    clean.update(CSI_DATA_DIR=str(tmp_path), **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_DIR, env=clean,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_environment_configures_the_default_store(tmp_path):
    got = probe(tmp_path, CSI_DUCKDB_MEMORY="512MB", CSI_DUCKDB_THREADS="1")
    assert to_bytes(got["memory_limit"]) == pytest.approx(512e6, rel=0.01)
    assert got["threads"] == "1"
    assert got["enable_external_access"] == "False"
    assert got["lock_configuration"] == "True"
    assert got["autoinstall_known_extensions"] == "False"
    assert got["autoload_known_extensions"] == "False"


def test_defaults_are_sane(tmp_path):
    got = probe(tmp_path)
    assert to_bytes(got["memory_limit"]) == pytest.approx(4e9, rel=0.01)  # README: default 4GB
    assert int(got["threads"]) == (os.cpu_count() or 2)
    # a malformed thread count falls back to the default instead of crashing the server
    assert int(probe(tmp_path, CSI_DUCKDB_THREADS="lots")["threads"]) == (os.cpu_count() or 2)


def test_allowed_folder_is_readable(capped, tmp_path):
    with capped.cursor() as cur:
        assert cur.execute("SELECT * FROM read_csv(?)", [str(tmp_path / "allowed.csv")]).fetchall() == [(1, 2)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM read_json('/etc/os-release')",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_text('/proc/self/environ')",
        "SELECT count(*) FROM glob('/etc/*')",
        "SELECT * FROM read_text('{tmp}/../../etc/passwd')",  # traversal out of the allowed folder
        "SELECT * FROM read_text('{tmp}/link-to-passwd')",  # symlink out of the allowed folder
        "SELECT * FROM read_csv('https://example.com/data.csv')",
        "COPY (SELECT 1) TO '/tmp/csi-escape.csv'",
        "ATTACH '/tmp/csi-escape.duckdb' AS other",
    ],
    ids=lambda s: re.sub(r"\W+", "_", s)[:40],
)
def test_no_file_access_outside_allowed_folders(capped, tmp_path, sql):
    link = tmp_path / "link-to-passwd"
    if not link.exists():
        link.symlink_to("/etc/passwd")
    with capped.cursor() as cur:
        with pytest.raises(duckdb.Error) as err:
            cur.execute(sql.format(tmp=tmp_path)).fetchall()
    assert isinstance(err.value, (duckdb.PermissionException, duckdb.IOException)), err.value
    assert not Path("/tmp/csi-escape.csv").exists() and not Path("/tmp/csi-escape.duckdb").exists()


@pytest.mark.parametrize(
    "sql",
    ["INSTALL httpfs", "FORCE INSTALL httpfs", "LOAD httpfs", "INSTALL spatial FROM community",
     "SELECT * FROM duckdb_extensions()"],
)
def test_extensions_cannot_be_installed_or_loaded(capped, sql):
    ext_dir = Path.home() / ".duckdb" / "extensions"
    before = sorted(p.name for p in ext_dir.rglob("*")) if ext_dir.exists() else []
    with capped.cursor() as cur:
        with pytest.raises(duckdb.Error):
            cur.execute(sql).fetchall()
        assert setting(cur, "autoinstall_known_extensions") is False
        assert setting(cur, "autoload_known_extensions") is False
    after = sorted(p.name for p in ext_dir.rglob("*")) if ext_dir.exists() else []
    assert after == before


@pytest.mark.parametrize(
    "sql",
    [
        "SET memory_limit = '100GB'",
        "SET GLOBAL memory_limit = '100GB'",
        "PRAGMA memory_limit = '100GB'",
        "RESET memory_limit",
        "SET threads = 64",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET lock_configuration = false",
        "SET autoinstall_known_extensions = true",
        "SET allow_unsigned_extensions = true",
        "SET temp_directory = '/tmp'",
        "SET extension_directory = '/tmp'",
    ],
)
def test_configuration_is_locked(capped, sql):
    with capped.cursor() as cur:
        with pytest.raises(duckdb.Error):
            cur.execute(sql)
        assert to_bytes(setting(cur, "memory_limit")) == pytest.approx(300e6, rel=0.01)
        assert int(setting(cur, "threads")) == 1
        assert setting(cur, "enable_external_access") is False
        assert setting(cur, "lock_configuration") is True
