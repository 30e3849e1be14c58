"""The bad-input corpus (tests/inputs/) through the CLI, the upload path and the upload callback
(issue 5 item 1 at the app/CLI level; the core-level expectations per file are tests/core/test_bad_inputs.py).

For every file:
- `python -m core segment FILE --json --db DB`: exit 0 with one JSON object, or exit 2 with exactly one
  `error: ...` line on stderr; never a traceback, never a hang (subprocess timeout). DB already holds the
  bundled sample and its run, which must be byte-for-byte intact afterwards, with no half-written table.
- core.pipeline.ingest_upload: a DatasetInfo or an InputError (nothing else), the earlier dataset intact.
- the upload callback's logic (callbacks.data.handle_upload): a danger alert with a clear message and no
  dataset, or a dataset with a success/warning alert.
Where the corpus manifest states an outcome (load or refuse), the three paths agree with it.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import dbcheck
from core.config import PROJECT_DIR, SAMPLE_FILE, Settings
from core.errors import InputError
from core.store import Store
from live_server import data_url, is_alert, text_of

pytestmark = pytest.mark.slow

INPUTS = PROJECT_DIR / "tests" / "inputs"
NOT_INPUTS = {"make_corpus.py", "README.md", "manifest.json", "expected.json"}
CORPUS = sorted(p for p in INPUTS.iterdir() if p.is_file() and p.name not in NOT_INPUTS
                and not p.name.startswith(".")) if INPUTS.exists() else []
CLI_TIMEOUT = 120


_MANIFEST: dict | None = None


def expected_outcomes() -> dict[str, tuple[str, object]]:
    """file name -> ("load", rows_loaded or None) | ("error", message fragment or None), from the
    ingest engineer's manifest (tests/core/test_bad_inputs.py: MANIFEST of Loads(rows=...) /
    Fails(fragment=...)); {} when there is none."""
    global _MANIFEST
    if _MANIFEST is not None:
        return _MANIFEST
    _MANIFEST = {}
    test = PROJECT_DIR / "tests" / "core" / "test_bad_inputs.py"
    if test.exists():
        spec = importlib.util.spec_from_file_location("_corpus_manifest", test)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while being built
        try:
            spec.loader.exec_module(module)
            data = getattr(module, "MANIFEST", {})
        except Exception:  # noqa: BLE001 - their module may be mid-edit: no manifest then
            data = {}
        for name, v in data.items():
            kind = type(v).__name__
            if kind == "Loads":
                _MANIFEST[name] = ("load", getattr(v, "rows", None))
            elif kind == "Fails":
                _MANIFEST[name] = ("error", getattr(v, "fragment", None))
    return _MANIFEST


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict]:
    """A database file holding the bundled sample and its run, and its snapshot."""
    from core.pipeline import ensure_sample

    folder = tmp_path_factory.mktemp("corpus-template")
    db = folder / "template.duckdb"
    store = Store(db, Settings(data_dir=folder, threads=1, memory_limit="1GB"),
                  allowed_dirs=[folder, SAMPLE_FILE.parent])
    ensure_sample(store)
    store.close()
    return db, dbcheck.snapshot(db)


@pytest.fixture(scope="module")
def cli_results(template, tmp_path_factory) -> dict[str, dict]:
    """Every corpus file through the CLI, two at a time, each against its own copy of the template."""
    db0, _ = template
    root = tmp_path_factory.mktemp("corpus-cli")

    def one(path: Path) -> dict:
        folder = root / path.name.replace(".", "_")
        folder.mkdir()
        db = folder / "cli.duckdb"
        shutil.copy(db0, db)
        try:
            out = subprocess.run(
                [sys.executable, "-m", "core", "segment", str(path), "--json", "--db", str(db)],
                cwd=PROJECT_DIR, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                env={k: v for k, v in __import__("os").environ.items() if k != "CSI_DEBUG"},
            )
            return {"rc": out.returncode, "stdout": out.stdout, "stderr": out.stderr, "db": db}
        except subprocess.TimeoutExpired:
            return {"rc": None, "stdout": "", "stderr": f"hung for more than {CLI_TIMEOUT} s", "db": db}

    with ThreadPoolExecutor(2) as pool:
        return dict(zip([p.name for p in CORPUS], pool.map(one, CORPUS)))


@pytest.fixture(scope="module")
def store(template, tmp_path_factory):
    """A live store (as the app holds it) with the sample loaded first."""
    db0, snap = template
    folder = tmp_path_factory.mktemp("corpus-upload")
    shutil.copy(db0, folder / "app.duckdb")
    s = Store(folder / "app.duckdb", Settings(data_dir=folder, threads=1, memory_limit="1GB"),
              allowed_dirs=[folder])
    yield s
    s.close()


def sample_tables(snap: dict) -> dict:
    """The sample's dataset and run: catalogue rows and table contents."""
    ds = {r[0] for r in snap["datasets"]}
    runs = {r[0] for r in snap["runs"]}
    keep = {f"ds_{d}" for d in ds} | {f"run_{r}" for r in runs}
    return {
        "datasets": snap["datasets"],
        "runs": snap["runs"],
        "content": {t: c for t, c in snap["content"].items() if t in keep},
    }


def assert_sample_intact(before: dict, after: dict) -> None:
    b = sample_tables(before)
    assert set(b["datasets"]) <= set(after["datasets"]), "an earlier dataset disappeared or changed"
    assert set(b["runs"]) <= set(after["runs"]), "an earlier run disappeared"
    for t, c in b["content"].items():
        assert after["content"].get(t) == c, f"{t} changed"


def test_corpus_is_there():
    assert len(CORPUS) >= 20, f"tests/inputs/ holds {len(CORPUS)} files"
    manifest = expected_outcomes()
    assert manifest, "no manifest of expected outcomes (tests/core/test_bad_inputs.py MANIFEST)"
    assert {p.name for p in CORPUS} <= set(manifest), set(p.name for p in CORPUS) - set(manifest)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_cli_exit_code_and_one_line_error(cli_results, template, path):
    res = cli_results[path.name]
    assert res["rc"] is not None, res["stderr"]
    assert "Traceback" not in res["stderr"] + res["stdout"]
    if res["rc"] == 0:
        out = json.loads(res["stdout"])
        assert out["rows_loaded"] >= 1 and out["segments"], out
        assert res["stderr"].strip() == "" or not res["stderr"].lstrip().startswith("error:")
    else:
        assert res["rc"] == 2, f"exit {res['rc']}: {res['stderr']}"
        lines = res["stderr"].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), res["stderr"]
        assert "unexpected failure" not in lines[0], lines[0]
        assert len(lines[0]) < 600
        assert res["stdout"] == ""
    # the sample loaded first is intact, and nothing half-written was left behind
    after = dbcheck.snapshot(res["db"])
    assert_sample_intact(template[1], after)
    assert dbcheck.problems(res["db"]) == []
    kind, detail = expected_outcomes().get(path.name, (None, None))
    if kind == "error":
        assert res["rc"] == 2, f"the manifest says it fails ({detail}); the CLI exited 0"
        assert detail is None or detail.lower() in res["stderr"].lower(), (detail, res["stderr"])
    elif kind == "load" and res["rc"] == 0 and detail is not None:
        assert json.loads(res["stdout"])["rows_loaded"] == detail
    # kind == "load" with exit 2: the file loads (the upload path checks that) but cannot be segmented
    # with the defaults (e.g. a single row): a one-line error is the right CLI answer


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_upload_path_gives_a_dataset_or_an_input_error(store, template, path):
    from core.pipeline import ingest_upload

    try:
        info = ingest_upload(store, path.name, path.read_bytes())
        outcome = "load"
        assert info.rows_loaded >= 1
        assert store.get_dataset(info.dataset_id).rows_loaded == info.rows_loaded
    except InputError as e:
        outcome = "error"
        message = str(e)
        assert message and "\n" not in message.strip() and len(message) < 600, message
        assert "Traceback" not in message
    with store.cursor() as cur:
        after = dbcheck.snapshot_of(cur)
        assert dbcheck.problems_of(cur) == []
    assert_sample_intact(template[1], after)
    leftovers = list((store.path.parent / "uploads").glob("*"))
    assert leftovers == [], f"upload files left behind: {leftovers}"
    kind, detail = expected_outcomes().get(path.name, (None, None))
    if kind:
        assert outcome == kind, f"the manifest says {kind} ({detail})"
        if kind == "error" and detail:
            assert detail.lower() in message.lower(), (detail, message)
        if kind == "load" and detail is not None:
            assert info.rows_loaded == detail


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_upload_callback_shows_an_alert(store, template, path):
    from callbacks.data import handle_upload

    from dash._utils import to_json

    result = handle_upload(store, data_url(path.read_bytes()), path.name, max_bytes=200 * 1024 * 1024)
    alert = json.loads(to_json(result.message))  # as the browser receives it
    assert is_alert(alert), alert
    message = text_of(alert)
    assert "Something went wrong" not in message, f"not a clear message: {message}"
    if result.dataset_id is None:
        assert is_alert(alert, "danger"), message
        assert result.run_id is None
    else:
        assert is_alert(alert, "success") or is_alert(alert, "warning"), message
        store.get_dataset(result.dataset_id)
        if result.run_id:
            store.get_run(result.run_id)
    with store.cursor() as cur:
        after = dbcheck.snapshot_of(cur)
        assert dbcheck.problems_of(cur) == []
    assert_sample_intact(template[1], after)
