"""Comparing two snapshots or runs: hand-counted transitions, ARI recomputed with scikit-learn,
duplicate ids, exports and scored files through the command line."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from core.compare import compare_files, compare_runs
from core.config import PROJECT_DIR
from core.errors import InputError
from core.export import export_workbook
from core.filters import FilterSpec
from core.ingest import load_file
from core.segmentation import run_segmentation

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]

# Last month: ids 1..8; this month: ids 3..10. Hand count over the matched ids 3..8:
# 3 A->A, 4 A->B, 5 B->B, 6 B->B, 7 C->A, 8 C->C  => kept 4 (3, 5, 6, 8), moved 2 (4, 7);
# gone 1, 2; new 9, 10.
OLD = pd.DataFrame({"Customer": [1, 2, 3, 4, 5, 6, 7, 8],
                    "Segment name": ["A", "B", "A", "A", "B", "B", "C", "C"]})
NEW = pd.DataFrame({"Customer": [3, 4, 5, 6, 7, 8, 9, 10],
                    "Segment name": ["A", "B", "B", "B", "A", "C", "A", "B"]})


def test_known_transitions_are_counted(tmp_path):
    OLD.to_csv(tmp_path / "old.csv", index=False)
    NEW.to_parquet(tmp_path / "new.parquet")
    r = compare_files(tmp_path / "old.csv", tmp_path / "new.parquet", "Customer")
    assert (r.matched, r.only_old, r.only_new) == (6, 2, 2)
    assert (r.kept, r.moved, r.new, r.gone) == (4, 2, 2, 2)
    assert sorted((m["from"], m["to"], m["count"]) for m in r.matrix) == [
        ("A", "A", 1), ("A", "B", 1), ("B", "B", 2), ("C", "A", 1), ("C", "C", 1)]
    assert r.ari == pytest.approx(adjusted_rand_score(list("AABBCC"), list("ABBBAC")))


def test_ids_written_as_numbers_or_text_match(tmp_path):
    OLD.assign(Customer=OLD["Customer"].astype(float)).to_csv(tmp_path / "old.csv", index=False)  # 3.0
    NEW.assign(Customer=NEW["Customer"].astype(str)).to_parquet(tmp_path / "new.parquet")  # "3"
    assert compare_files(tmp_path / "old.csv", tmp_path / "new.parquet", "Customer").matched == 6


def test_duplicate_ids_are_named(tmp_path):
    dup = pd.concat([OLD, OLD.iloc[[2, 5]]])
    dup.to_csv(tmp_path / "old.csv", index=False)
    NEW.to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(InputError, match=r"2 customer id\(s\) appear more than once, e\.g\. '3', '6'"):
        compare_files(tmp_path / "old.csv", tmp_path / "new.csv", "Customer")
    with pytest.raises(InputError, match="old.csv"):
        compare_files(tmp_path / "old.csv", tmp_path / "new.csv", "Customer")


def test_missing_id_or_segment_column_is_explained(tmp_path):
    OLD.to_csv(tmp_path / "old.csv", index=False)
    OLD[["Customer"]].to_csv(tmp_path / "nosegment.csv", index=False)
    with pytest.raises(InputError, match="has no column 'Client'"):
        compare_files(tmp_path / "old.csv", tmp_path / "old.csv", "Client")
    with pytest.raises(InputError, match="no 'Segment name' or 'Segment' column"):
        compare_files(tmp_path / "old.csv", tmp_path / "nosegment.csv", "Customer")
    with pytest.raises(InputError, match="file not found"):
        compare_files(tmp_path / "nope.csv", tmp_path / "old.csv", "Customer")


def test_compare_two_runs_of_one_dataset(store, mall_csv):
    info = load_file(store, mall_csv)
    a = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=5)
    b = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=3)
    r = compare_runs(store, a.run_id, b.run_id)
    with store.cursor() as cur:
        pairs = cur.execute(
            f"SELECT a.__segment, b.__segment FROM run_{a.run_id} a JOIN run_{b.run_id} b USING (__row)"
        ).fetchall()
    assert r.matched == 200 and r.only_old == r.only_new == 0
    assert r.ari == pytest.approx(adjusted_rand_score([p[0] for p in pairs], [p[1] for p in pairs]))
    assert sum(m["count"] for m in r.matrix) == 200
    names_a = {s.name for s in a.segments}
    assert {m["from"] for m in r.matrix} == names_a
    assert compare_runs(store, a.run_id, a.run_id).ari == 1.0


def test_compare_runs_of_two_snapshots_by_id(store, mall_csv, tmp_path):
    frame = pd.read_csv(mall_csv)
    frame.iloc[:150].to_csv(tmp_path / "jan.csv", index=False)
    frame.iloc[50:].to_csv(tmp_path / "feb.csv", index=False)
    jan, feb = load_file(store, tmp_path / "jan.csv"), load_file(store, tmp_path / "feb.csv")
    a = run_segmentation(store, jan.dataset_id, MALL_FEATURES, k=4)
    b = run_segmentation(store, feb.dataset_id, MALL_FEATURES, k=4)
    r = compare_runs(store, a.run_id, b.run_id)  # both datasets found CustomerID as their id column
    assert (r.matched, r.only_old, r.only_new, r.id_column) == (100, 50, 50, "CustomerID")
    with pytest.raises(InputError, match="no column 'Age2'"):
        compare_runs(store, a.run_id, b.run_id, "Age2")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=300)


def test_cli_compare_an_export_with_a_scored_file(store, mall_csv, tmp_path):
    info = load_file(store, mall_csv)
    run = run_segmentation(store, info.dataset_id, MALL_FEATURES, k=5)
    export_workbook(store, FilterSpec(run.run_id), tmp_path / "export.xlsx")
    model = tmp_path / "model.json"
    assert cli("segment", str(mall_csv), "--features", ",".join(MALL_FEATURES), "--k", "5",
               "--model", str(model)).returncode == 0
    assert cli("score", str(model), str(mall_csv), "--out", str(tmp_path / "s.csv")).returncode == 0
    out = cli("compare", str(tmp_path / "export.xlsx"), str(tmp_path / "s.csv"), "--id", "CustomerID", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["matched"], data["only_old"], data["only_new"], data["ari"]) == (200, 0, 0, 1.0)
    assert sorted(m["count"] for m in data["matrix"]) == [22, 23, 35, 39, 81]
    assert all(m["from"] == m["to"] for m in data["matrix"])
    text = cli("compare", str(tmp_path / "export.xlsx"), str(tmp_path / "s.csv"), "--id", "CustomerID")
    assert text.returncode == 0 and "200 customers in both: 200 kept, 0 moved" in text.stdout


def test_cli_compare_duplicate_ids_exit_2(tmp_path):
    pd.concat([OLD, OLD.iloc[[0]]]).to_csv(tmp_path / "old.csv", index=False)
    NEW.to_csv(tmp_path / "new.csv", index=False)
    out = cli("compare", str(tmp_path / "old.csv"), str(tmp_path / "new.csv"), "--id", "Customer")
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "'1'" in out.stderr
    out = cli("compare", str(tmp_path / "old.csv"), str(tmp_path / "new.csv"))
    assert out.returncode == 2 and out.stderr.startswith("error: ")
