"""Spark results as Parquet, registered in the DuckDB store so the dashboard explores them unchanged.

Layout under <data dir>/spark/<run id>/: dataset/ (ds_<id> rows: __row + typed columns), run/ (run_<id>
rows: __row, columns with missing values filled, __segment, __x, __y), issues/, rejects/ and
profile.parquet (one row per segment). `register` imports them into ds_<id>, run_<id>, issues and
rejects in ONE DuckDB transaction with the dataset and the run (docs/ARCHITECTURE.md, Storage): a
failure leaves nothing in the store. The findings' counts, samples and messages are built there by
core.quality from the imported issue rows (small: flagged rows only), so both engines report alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core import quality
from core.explain import Rule, rule_scores, rule_sql
from core.models import ROW, DatasetInfo, RuleFinding, Run
from core.store import Store, dataset_table, run_table
from core.aggregates_build import build_quietly

PARTS = ("dataset", "run", "issues", "rejects")


@dataclass
class ResultFiles:
    folder: Path

    def part(self, name: str) -> Path:
        return self.folder / name

    def glob(self, name: str) -> str:
        return str(self.folder / name / "*.parquet")

    @property
    def profile(self) -> Path:
        return self.folder / "profile.parquet"


def result_folder(store: Store, run_id: str) -> ResultFiles:
    """<the store's data folder>/spark/<run id>: inside the folders DuckDB may read."""
    return ResultFiles(store.path.parent / "spark" / run_id)


def write_parquet(files: ResultFiles, *, dataset, run_rows, issues, rejects) -> None:
    """Write the per-row results; the small issue and reject tables as one part each."""
    dataset.write.mode("overwrite").parquet(str(files.part("dataset")))
    run_rows.write.mode("overwrite").parquet(str(files.part("run")))
    issues.coalesce(1).write.mode("overwrite").parquet(str(files.part("issues")))
    rejects.coalesce(1).write.mode("overwrite").parquet(str(files.part("rejects")))


def write_profile(files: ResultFiles, run: Run) -> None:
    """profile.parquet: id, name, action, size, share and the centroid per segment (original units)."""
    feats = list(run.encoded_features)
    cols = {
        "segment": [s.id for s in run.segments],
        "name": [s.name for s in run.segments],
        "action": [s.action for s in run.segments],
        "size": [s.size for s in run.segments],
        "share": [s.share for s in run.segments],
    }
    for f in feats:
        cols[f] = [s.centroid.get(f) for s in run.segments]
    pq.write_table(pa.table(cols), files.profile)


def register(store: Store, files: ResultFiles, info: DatasetInfo, run: Run, rules: dict[int, Rule] | None = None,
             numeric: list[str] | None = None) -> tuple[DatasetInfo, Run]:
    """Import the Parquet results as ds_<id> and run_<id>, with their issues and rejects, and register
    the dataset (its quality findings built from the issues) and the run with its segments' rules and
    their precision and recall over every customer (core.explain.rule_scores): one transaction."""
    ds, rt = dataset_table(info.dataset_id), run_table(run.run_id)
    with store.transaction() as cur:
        cur.execute(f"CREATE TABLE {ds} AS SELECT * FROM read_parquet(?) ORDER BY {ROW}", [files.glob("dataset")])
        cur.execute(
            f"""INSERT INTO issues (dataset_id, "row", column_name, rule, value, excludes)
            SELECT ?, {ROW}, column_name, rule, value, excludes FROM read_parquet(?) ORDER BY {ROW}""",
            [info.dataset_id, files.glob("issues")],
        )
        cur.execute(
            f"""INSERT INTO rejects (dataset_id, "row", column_name, raw_value, reason)
            SELECT ?, {ROW}, column_name, raw_value, reason FROM read_parquet(?) ORDER BY {ROW}""",
            [info.dataset_id, files.glob("rejects")],
        )
        info.quality.findings = _findings(cur, info)
        store.insert_dataset(cur, info)
        cur.execute(f"CREATE TABLE {rt} AS SELECT * FROM read_parquet(?) ORDER BY {ROW}", [files.glob("run")])
        _score_rules(cur, rt, run, rules or {}, numeric or [])
        store.insert_run(cur, run)
    build_quietly(store, run.run_id)  # the dashboard's pre-aggregated tables, as for DuckDB runs
    return info, run


def _score_rules(cur, table: str, run: Run, rules: dict[int, Rule], numeric: list[str]) -> None:
    scores = rule_scores(cur, table, rules, numeric)
    for seg in run.segments:
        rule = rules.get(seg.id)
        if rule is not None:
            seg.rule = rule_sql(rule, numeric)
            seg.rule_precision, seg.rule_recall = scores[seg.id]


def _findings(cur, info: DatasetInfo) -> list[RuleFinding]:
    """core.quality.validate's findings, in its order, from the imported issues and the typed table."""
    findings = quality.findings_from_issues(cur, info.dataset_id)
    findings += quality.constant_columns(cur, info.table, info.columns, info.rows_loaded)
    order = {c.name: i for i, c in enumerate(info.columns)}
    rules = list(quality.RULE_TEXT)
    findings.sort(key=lambda f: (order.get(f.column, -1), rules.index(f.rule)))
    return findings
