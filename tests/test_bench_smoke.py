"""The benchmark keeps working: a tiny run end to end (app over HTTP included) writes its report.
No timing is asserted: this is not a test of speed."""
from __future__ import annotations

import importlib
import re

import pytest

from bench.__main__ import main
from bench.app_bench import INTERACTIONS


@pytest.mark.slow
def test_bench_runs_at_a_tiny_size_and_writes_its_report(tmp_path):
    out = tmp_path / "RESULTS.md"
    rc = main(["--sizes", "3000", "--requests", "3", "--export-rows", "1000", "--rfm-rows", "20000",
               "--out", str(out), "--workdir", str(tmp_path / "work")])
    assert rc == 0
    text = out.read_text()
    for heading in ("## Targets (issue 4) at 3,000 customers", "## Measurements", "## RFM",
                    "## The original approach", "### Ratios", "## How this was measured"):
        assert heading in text, heading
    for label in ("CPU cores", "ingest: load_file total", "ingest: cleaning + validation",
                  "segmentation: run_segmentation", "segment agreement: ARI",
                  "upload -> segmented dashboard (HTTP", "export_workbook (core, streamed",
                  "export via download callback (HTTP", "app process RSS", "grid page",
                  "one interaction (all of the above)", "Peak RSS of the app process"):
        assert label in text, label
    for name in INTERACTIONS:
        assert f"**{name}**: p50 / p95" in text
    # one-off measurements are taken three times and their median quoted, each run listed
    for label in ("upload -> segmented dashboard", "export_workbook", "export via download callback",
                  "whole load_transactions"):
        line = next(l for l in text.splitlines() if label in l and "median of" in l)
        assert re.search(r"\((\d[^,()]*, ){2}\d[^,()]*\)", line), line
    # every measurement was taken: no errors section, and the interactions ran through HTTP
    assert "## Errors" not in text, text[text.find("## Errors"):][:3000]
    table = text[text.find("## Measurements"):text.find("## The original approach")]
    for name in INTERACTIONS + ("grid page",):
        line = next(l for l in table.splitlines() if l.startswith(f"| **{name}**"))
        assert "n/a" not in line and "(3x" in line, line
    targets = text[text.find("## Targets"):text.find("## Measurements")]
    verdicts = [line.rsplit("|", 2)[-2].strip() for line in targets.splitlines() if line.startswith("| ")][1:]
    # issue 4's table: the upload, p95 and bytes per interaction, two exports, the speed-up, flat memory,
    # peak RSS and ARI (issue 11's table only appears at 1M and 10M)
    assert len(verdicts) == 1 + 2 * len(INTERACTIONS) + 6 and set(verdicts) <= {"PASS", "MISS"}, verdicts
    rfm = text[text.find("## RFM"):text.find("## Per-callback")]
    if hasattr(importlib.import_module("core.rfm"), "load_transactions"):
        assert "| error |" not in rfm and "| customers derived | n/a |" not in rfm, rfm
