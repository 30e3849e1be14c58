"""Command line: `python -m core segment|rfm INPUT ...` prints segment profiles or one JSON object.

Exit codes: 0 success; 2 bad input or arguments (one `error: ...` line on stderr); 1 an unexpected
failure (one line too; set CSI_DEBUG=1 for the traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

from core import cli_import
from core.models import json_safe
from core.cli_models import MODEL_COMMANDS, add_model_commands, run_model_command, write_model
from core.errors import InputError
from core.kmeans import SCALES


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        raise InputError(message)


def _k(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 2 to 10 or 'auto', not {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Customer segmentation from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("input", help="CSV / Excel (.xlsx) / Parquet file")
        p.add_argument("--k", type=_k, default="auto", help="number of segments (2-10) or 'auto'")
        p.add_argument("--scale", choices=list(SCALES), default=None,
                       help="auto (default for customer tables; RFM uses log), standard, minmax, none, log")
        p.add_argument("--fill", choices=["median", "mean"], default="median")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--export", metavar="OUT.xlsx", help="write the Excel workbook here")
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--db", metavar="FILE", help="DuckDB file to keep (default: a temporary one)")
        p.add_argument("--model", metavar="OUT.json", help="save the run as a model file (docs/MODELS.md)")

    seg = sub.add_parser("segment", help="segment a customer table")
    common(seg)
    seg.add_argument("--features", help='comma-separated columns, e.g. "Annual Income (k$),Age"')
    seg.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                     help="spark: the same pipeline on Apache Spark (pip install -r requirements-spark.txt)")
    seg.add_argument("--spark-master", metavar="URL", default=None,
                     help="local[*], spark://host:7077 or sc://host:15002 (default: $SPARK_MASTER, else local[2])")

    rfm = sub.add_parser("rfm", help="segment customers from a transactions table (RFM)")
    common(rfm)
    rfm.add_argument("--features", help="default: recency_days,frequency,monetary")
    for col in ("customer", "date", "amount", "quantity", "price", "invoice"):
        rfm.add_argument(f"--{col}", metavar="COL", help=f"the {col} column (detected when omitted)")
    rfm.add_argument("--date-order", choices=["auto", "ymd", "dmy", "mdy"], default="auto",
                     help="day/month order of dates like 03/04/2021 (auto: decided from every date)")
    rfm.add_argument("--reference-date", metavar="YYYY-MM-DD")
    rfm.add_argument("--segments", choices=["kmeans", "rfm-groups"], default="kmeans",
                     help="K-Means segments, or one segment per named RFM group")
    cli_import.add_parser(sub)
    add_model_commands(sub)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "import":
        return cli_import.run_import(args)
    if args.command in MODEL_COMMANDS:  # before the segmenting imports: `score` needs none of them
        return run_model_command(args)
    from core.config import Settings  # per command: the CLI starts fast and loads only what the command needs
    # per command: the CLI starts fast and loads only what the command needs
    from core.pipeline import segment_path, summary
    from core.store import Store  # per command: the CLI starts fast and loads only what the command needs

    path = Path(args.input)
    spark = getattr(args, "engine", "duckdb") == "spark"
    if not path.is_file() and not spark:  # Spark also reads a folder of Parquet parts or a glob
        raise InputError(f"file not found: {args.input}")
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    mapping = None
    if args.command == "rfm":
        mapping = {c: getattr(args, c) for c in ("customer", "date", "amount", "quantity", "price", "invoice")}
        mapping = {c: v for c, v in mapping.items() if v} or None

    with tempfile.TemporaryDirectory(prefix="csi-") as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "cli.duckdb"
        store = Store(db, Settings(data_dir=db.parent), allowed_dirs=[path.resolve().parent])
        try:
            if args.command == "rfm" and args.segments == "rfm-groups":
                # per command: the CLI starts fast and loads only what the command needs
                from core.rfm.groups import segment_by_groups

                result = segment_by_groups(store, path, mapping=mapping, date_order=args.date_order,
                                           reference_date=args.reference_date)
            elif spark:
                from core.spark.engine import segment_spark  # pyspark is optional: imported only here

                result = segment_spark(  # master None: $SPARK_MASTER, spark-submit's, else local[2]
                    store, args.input, features=features, k=args.k, scale=args.scale, fill=args.fill,
                    seed=args.seed, master=args.spark_master,
                )
            else:
                result = segment_path(
                    store, path, features=features, k=args.k, scale=args.scale, fill=args.fill,
                    seed=args.seed, transactions=args.command == "rfm", mapping=mapping,
                    date_order=getattr(args, "date_order", "auto"),
                    reference_date=getattr(args, "reference_date", None),
                )
            out = summary(result)
            if getattr(args, "engine", None):
                out["engine"] = result.run.engine
            if args.command == "rfm":
                # per command: the CLI starts fast and loads only what the command needs
                from core.rfm.groups import add_group_mix

                add_group_mix(store, result.run, out)
            if args.export:
                # per command: the CLI starts fast and loads only what the command needs
                from core.export import export_workbook
                # per command: the CLI starts fast and loads only what the command needs
                from core.filters import FilterSpec

                export_workbook(store, FilterSpec(result.run.run_id), Path(args.export))
            if args.model:
                write_model(store, result.run.run_id, args.model)
        finally:
            store.close()

    if args.json:
        print(json.dumps(json_safe(out), indent=2))
    else:
        print(_profile_table(result))
    return 0


def _profile_table(result) -> str:
    run = result.run
    lines = [
        f"{result.dataset.rows_loaded} customers loaded, {run.rows_clustered} segmented "
        f"({run.rows_excluded} excluded as invalid); features: {', '.join(run.features)}",
        f"k = {run.k} (suggested {run.suggested_k}), silhouette = "
        + (f"{run.silhouette:.3f}" if run.silhouette is not None else "n/a"),
        "",
    ]
    feats = list(result.profiles[0].means) if result.profiles else []
    header = ["#", "segment", "size", "share"] + feats + ["suggested action"]
    rows = [
        [str(p.segment), p.name, str(p.size), f"{p.share:.1%}"]
        + [_fmt(p.means.get(f)) for f in feats]
        + [p.action]
        for p in result.profiles
    ]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _fmt(v) -> str:
    return "" if v is None else f"{v:,.2f}"


# Core messages are neutral ("name it in the column mapping"); on the command line they gain the flags.
_CLI_HINTS = (
    ("column mapping", " (--customer, --date, --amount or --quantity and --price, --invoice)"),
    ("choose the date order", " (--date-order dmy for day first, mdy for month first)"),
)


def _with_cli_hints(message: str) -> str:
    return message + "".join(hint for words, hint in _CLI_HINTS if words in message)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except InputError as e:
        print(f"error: {_with_cli_hints(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # never a traceback for a user; CSI_DEBUG=1 shows it
        if os.environ.get("CSI_DEBUG"):
            traceback.print_exc()
        print(f"error: unexpected failure ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
