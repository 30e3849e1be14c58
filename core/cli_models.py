"""Command line for models: `python -m core score MODEL.json INPUT ...`, `python -m core compare OLD NEW
--id COLUMN`, and the `--model OUT.json` writer of `segment`/`rfm`. core/cli.py dispatches here.

Same conventions as core/cli.py: exit 0 on success, bad input raises InputError (one `error:` line,
exit 2, printed by core.cli.main).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from core.models import json_safe
from core.errors import InputError

MODEL_COMMANDS = ("score", "compare")


def add_model_commands(sub) -> None:
    """The `score` and `compare` subcommands (sub: the parser's subparsers)."""
    score = sub.add_parser("score", help="put the customers of a file into a saved model's segments")
    score.add_argument("model", help="model file (.json) written by `segment --model`")
    score.add_argument("input", help="CSV / Excel (.xlsx) / Parquet file of customers (on Spark also a "
                       "folder of Parquet parts or a glob)")
    score.add_argument("--out", metavar="FILE", help="write the scored customers (.csv, .xlsx or .parquet)")
    score.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    score.add_argument("--db", metavar="FILE", help="DuckDB file to keep (default: a temporary one)")
    score.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="spark: score on Spark (INPUT may be a folder of Parquet parts or a glob; "
                            "--out is a Parquet folder)")
    score.add_argument("--spark-master", metavar="URL",
                       help="local[*], spark://host:7077 or sc://host:15002 (default: $SPARK_MASTER or local)")

    compare = sub.add_parser("compare", help="who moved between segments: two exports or scored files")
    compare.add_argument("old", help="the earlier file (export .xlsx, scored .csv/.xlsx/.parquet)")
    compare.add_argument("new", help="the later file")
    compare.add_argument("--id", required=True, metavar="COLUMN", help="customer id column in both files")
    compare.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_model_command(args: argparse.Namespace) -> int:
    if args.command == "score":
        return _score(args)
    return _compare(args)


def write_model(store, run_id: str, out: str) -> None:
    """`segment ... --model OUT.json`: save the run just made as a model file."""
    from core.model_file import save_model  # per command: the CLI starts fast and loads only what the command needs

    target = Path(out)
    if target.suffix.lower() != ".json":
        raise InputError(f"the model file must end in .json (got '{target.name}')")
    if not target.parent.is_dir():
        raise InputError(f"folder not found for the model file: {target.parent}")
    save_model(store, run_id, target)


def _score(args: argparse.Namespace) -> int:
    from core.config import Settings  # per command: the CLI starts fast and loads only what the command needs
    from core.model_file import load_model  # per command: the CLI starts fast and loads only what the command needs
    from core.scoring import score_file  # per command: the CLI starts fast and loads only what the command needs
    from core.store import Store  # per command: the CLI starts fast and loads only what the command needs

    model = load_model(args.model)  # validated before anything is read or written
    if args.engine == "spark":
        result = _score_on_spark(args, model)
    else:
        path = Path(args.input)
        if not path.is_file():
            raise InputError(f"file not found: {args.input}")
        with tempfile.TemporaryDirectory(prefix="csi-") as tmp:
            db = Path(args.db) if args.db else Path(tmp) / "cli.duckdb"
            store = Store(db, Settings(data_dir=db.parent), allowed_dirs=[path.resolve().parent])
            try:
                result = score_file(store, model, path, args.out)
            finally:
                store.close()
    if args.json:
        print(json.dumps(json_safe(result.to_dict()), indent=2))
        return 0
    print(f"{result.rows_read} rows read, {result.rows_scored} scored, {result.rows_excluded} excluded, "
          f"{result.poor_fit} poor fit" + (f"; written to {result.out}" if result.out else ""))
    width = max([len(s["name"]) for s in result.segments] + [7])
    for s in result.segments:
        print(f"{s['id']:>3}  {s['name'].ljust(width)}  {s['size']:>9}  {s['share']:6.1%}")
    for w in result.warnings:
        print(f"note: {w}")
    return 0


def _score_on_spark(args: argparse.Namespace, model):
    """`score --engine spark`: the same ScoreResult from core.spark.scoring (pyspark loaded only here)."""
    from core.spark.scoring import score_spark  # per command: pyspark is an optional extra
    from core.spark.session import is_connect, spark_session  # per command: pyspark is an optional extra

    spark = spark_session(args.spark_master)
    try:
        return score_spark(spark, model, args.input, args.out)
    finally:
        if is_connect(spark):  # its gRPC channel would keep the process from exiting (core.spark.engine)
            spark.stop()


def _compare(args: argparse.Namespace) -> int:
    from core.compare import compare_files  # per command: the CLI starts fast and loads only what the command needs

    result = compare_files(args.old, args.new, args.id)
    if args.json:
        print(json.dumps(json_safe(result.to_dict()), indent=2))
        return 0
    ari = "n/a" if result.ari is None else f"{result.ari:.3f}"
    print(f"{result.matched} customers in both: {result.kept} kept, {result.moved} moved; "
          f"{result.new} new, {result.gone} gone; adjusted Rand index {ari}")
    width = max([len(m["from"]) for m in result.matrix] + [4])
    for m in sorted(result.matrix, key=lambda m: -m["count"]):
        print(f"{m['from'].ljust(width)} -> {m['to']}: {m['count']}")
    for w in result.warnings:
        print(f"note: {w}")
    return 0
