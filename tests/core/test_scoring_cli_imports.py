"""The `score` command stays light: scoring a file (with or without an output file) loads neither
scikit-learn, SciPy nor pandas, whose imports cost more CPU than scoring 200,000 customers
(bench/SCORING.md). Checked in a fresh interpreter, by module name, never by timing."""
from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from core.config import PROJECT_DIR
from core.ingest import load_file
from core.model_file import save_model
from core.segmentation import run_segmentation

HEAVY = ("sklearn", "scipy", "pandas")
RUNNER = """
import json, sys
from core.cli import main
rc = main(sys.argv[2:])
print(json.dumps({"rc": rc, "loaded": sorted(m for m in %r if m in sys.modules)}), file=open(sys.argv[1], "w"))
""" % (HEAVY,)


@pytest.fixture
def model(store, mall_csv, tmp_path):
    info = load_file(store, mall_csv)
    run = run_segmentation(store, info.dataset_id, ["Annual Income (k$)", "Spending Score (1-100)"], k=5)
    path = tmp_path / "model.json"
    save_model(store, run.run_id, path)
    return path


@pytest.mark.parametrize("suffix", [None, ".csv", ".parquet"])
def test_the_score_command_loads_no_fitting_or_dataframe_library(model, mall_csv, tmp_path, suffix):
    report = tmp_path / "modules.json"
    args = ["score", str(model), str(mall_csv), "--json"]
    out = tmp_path / f"scored{suffix}" if suffix else None
    if out:
        args += ["--out", str(out)]
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(report), *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(report.read_text())
    assert result == {"rc": 0, "loaded": []}
    assert json.loads(proc.stdout)["rows_scored"] == 200  # the Mall sample: 200 valid customers
    if out:
        table = pq.read_table(out) if suffix == ".parquet" else pacsv.read_csv(out)
        assert table.num_rows == 200
        assert table.column_names[-4:] == ["Segment", "Segment name", "Distance", "Poor fit"]
        assert sorted(table.column("Segment").to_pylist()) == sorted(
            s["id"] for s in json.loads(proc.stdout)["segments"] for _ in range(s["size"]))
