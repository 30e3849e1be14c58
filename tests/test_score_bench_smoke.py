"""The scoring benchmark keeps working: a tiny run (both input formats, the CLI end to end) writes
its report, and the counts in it agree with core.synth's stated dirt. No timing is asserted."""
from __future__ import annotations

import pytest

from bench.score_bench import main
from core.synth import dirt_plan

ROWS = 3000


def _table(text: str, heading: str) -> list[list[str]]:
    part = text[text.index(heading):]
    lines = [ln for ln in part.splitlines() if ln.startswith("| ")][1:]  # skip the header row
    rows = []
    for ln in lines:
        if ln.startswith("|---"):
            continue
        if rows and ln.startswith("| input"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


@pytest.mark.slow
def test_score_bench_runs_at_a_tiny_size_and_writes_its_report(tmp_path):
    md = tmp_path / "SCORING.md"
    rc = main(["--rows", str(ROWS), "--runs", "1", "--train-rows", "3000", "--folder", str(tmp_path / "work"),
               "--md", str(md)])
    assert rc == 0
    text = md.read_text()
    stages = _table(text, "## In process, per stage")
    cli = _table(text, "## End to end")
    plan = dirt_plan(ROWS)  # the synth file's own statement: rows minus its exact duplicates
    assert [r[0] for r in stages[:2]] == ["csv", "parquet"]
    for row in stages[:2]:
        assert row[1] == f"{plan.customers:,}", row
        for cell in row[3:]:  # "wall (CPU)"
            wall, cpu = cell.split()
            assert float(wall) >= 0 and float(cpu.strip("()")) >= 0, row
    scored = {row[2] for row in stages[:2]}
    assert len(scored) == 1  # both formats score the same customers
    assert len(cli) == 6, cli  # 2 inputs x (no output, .parquet, .csv)
    for row in cli:
        assert not row[2].startswith("error"), row
        assert float(row[2]) > 0 and float(row[3]) > 0 and float(row[4]) > 0, row
        assert row[5] in scored, row  # the CLI scores exactly the customers the stages scored
