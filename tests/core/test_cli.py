"""The CLI contract: exit codes, one-line errors, the --json fields, and the export option."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.config import PROJECT_DIR

MALL = PROJECT_DIR / "data" / "mall_customers.csv"
FEATURES = "Annual Income (k$),Spending Score (1-100)"
# ../shared/data/README.md: sizes and (income, score) means of the five segments at k=5
EXPECTED = {81: (55.3, 49.5), 39: (86.5, 82.1), 35: (88.2, 17.1), 23: (26.3, 20.9), 22: (25.7, 79.4)}


def cli(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def mall_json() -> dict:
    out = cli("segment", str(MALL), "--features", FEATURES, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_json_has_the_documented_fields(mall_json):
    for key in ("rows_loaded", "rows_clustered", "features", "k", "suggested_k", "silhouette",
                "segments", "quality"):
        assert key in mall_json
    assert mall_json["rows_loaded"] == 200
    assert mall_json["rows_clustered"] == 200
    assert mall_json["features"] == FEATURES.split(",")
    assert mall_json["suggested_k"] == 5 and mall_json["k"] == 5
    assert mall_json["silhouette"] == pytest.approx(0.555, abs=0.01)
    for key in ("duplicates_removed", "missing_filled", "invalid_rows"):
        assert key in mall_json["quality"]
    assert mall_json["quality"]["duplicates_removed"] == 0


def test_segments_match_the_published_solution(mall_json):
    segs = mall_json["segments"]
    assert sorted((s["size"] for s in segs), reverse=True) == sorted(EXPECTED, reverse=True)
    for s in segs:
        income, score = EXPECTED[s["size"]]
        assert s["means"]["Annual Income (k$)"] == pytest.approx(income, abs=0.5)
        assert s["means"]["Spending Score (1-100)"] == pytest.approx(score, abs=0.5)
        assert s["share"] == pytest.approx(s["size"] / 200)
        assert s["name"] and s["action"]
    assert len({s["name"] for s in segs}) == 5


def test_same_command_twice_gives_identical_segments(mall_json):
    again = json.loads(cli("segment", str(MALL), "--features", FEATURES, "--json").stdout)
    assert again["segments"] == mall_json["segments"]


def test_plain_output_is_a_profile_table():
    out = cli("segment", str(MALL), "--features", FEATURES, "--k", "5")
    assert out.returncode == 0, out.stderr
    assert "200 customers loaded" in out.stdout
    assert out.stdout.count("\n") >= 7  # summary lines, header and 5 segments


def test_export_writes_a_workbook(tmp_path):
    dest = tmp_path / "out.xlsx"
    out = cli("segment", str(MALL), "--features", FEATURES, "--k", "5", "--export", str(dest))
    assert out.returncode == 0, out.stderr
    wb = load_workbook(dest, read_only=True)
    assert {"Customers", "Segments", "Data quality", "Run"} <= set(wb.sheetnames)
    assert wb["Customers"].max_row == 201  # header + 200 customers


@pytest.mark.parametrize(
    "content, fragment",
    [(b"", "empty"), (b"CustomerID,Age,Income\n", "no data rows")],
    ids=["empty-file", "header-only"],
)
def test_bad_files_exit_2_with_one_line(tmp_path, content, fragment):
    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    out = cli("segment", str(f), "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), out.stderr
    assert fragment in lines[0].lower()
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["segment", "does/not/exist.csv"], "file not found"),
        (["segment", str(MALL), "--k", "abc"], "--k"),
        (["segment", str(MALL), "--k", "1"], "k"),
        (["segment", str(MALL), "--features", "Nope"], "nope"),
        (["segment", str(MALL), "--features", "CustomerID"], "customerid"),
        (["segment", str(MALL), "--scale", "weird"], "--scale"),
    ],
    ids=["missing-file", "k-text", "k-too-small", "unknown-feature", "identifier-feature", "bad-scale"],
)
def test_bad_arguments_exit_2(args, fragment):
    out = cli(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    line = out.stderr.strip()
    assert line.startswith("error:") and "\n" not in line
    assert fragment.lower() in line.lower()


def test_json_explains_every_segment_and_the_choice_of_k(mall_json):
    assert mall_json["scale"] == "auto"
    assert mall_json["feature_roles"]["CustomerID"] == "identifier"
    assert mall_json["feature_roles"]["Annual Income (k$)"] == "numeric"
    assert mall_json["transforms"] == {"Annual Income (k$)": "none", "Spending Score (1-100)": "none"}
    assert set(mall_json["stability_by_k"]) == {str(k) for k in range(2, 11)}
    assert mall_json["k_reason"].startswith("k = 5 ")
    for s in mall_json["segments"]:
        assert s["outlier_group"] is False
        assert s["stability"] >= 0.9
        assert s["rule"] and s["rule_precision"] >= 0.9 and s["rule_recall"] >= 0.9
        assert s["drivers"] and set(s["drivers"][0]) == {"feature", "direction", "effect"}
        assert s["drivers"][0]["direction"] in ("higher", "lower")
    assert len({s["action"] for s in mall_json["segments"]}) == 5


@pytest.mark.parametrize("scale", ["auto", "standard", "log"])
def test_every_scale_is_accepted(scale):
    out = cli("segment", str(MALL), "--features", FEATURES, "--k", "5", "--scale", scale, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["scale"] == scale
