"""Reading the input on Spark: a CSV file, a Parquet file, a folder of Parquet (or CSV) parts or a glob.

The dialect (delimiter, header) is sniffed on the driver from the first file's first bytes with
core.ingest's own rules, so both engines read a file the same way; Spark then reads every part in
parallel. Columns get core.ingest's sanitized names; `__row` numbers the rows 1.. in the input's
order (files in path order, rows in file order), computed from per-split counts so no
single-partition window is needed at a billion rows.
"""
from __future__ import annotations

import glob as globlib
from dataclasses import dataclass, field
from pathlib import Path

from core import ingest
from core.ingest import base as ingest_base
from core.ingest.sniff import _sniff
from core.errors import InputError
from core.models import ROW
from core.spark.columns import col

PARQUET_MAGIC = b"PAR1"
_TRIM = r"^[\s\u00a0]+|[\s\u00a0]+$"  # what core.ingest trims from staged text (incl. no-break space)
_FILE, _BLOCK, _MID = "__file", "__block", "__mid"


@dataclass
class SparkInput:
    """The rows of the input as a DataFrame: __row plus every column, text (CSV) or native (Parquet)."""

    frame: object  # pyspark.sql.DataFrame
    columns: list[str]
    source: str  # the input as given, for messages and the dataset's `source`
    file_format: str  # csv | parquet
    delimiter: str | None = None
    repairs: list[str] = field(default_factory=list)
    rows: int = 0  # rows read (the splits' counts, known once the rows are numbered)
    cached: object = None  # the cached rows under `frame`: released once cleaning has its own copy


def input_files(path: str) -> list[Path]:
    """The data files an INPUT names: the file itself, the folder's visible files, or the glob's
    matches, in name order. InputError when there are none."""
    p = Path(path)
    if any(ch in path for ch in "*?["):
        files = [Path(f) for f in sorted(globlib.glob(path)) if Path(f).is_file()]
    elif p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_")))
    elif p.is_file():
        files = [p]
    else:
        raise InputError(f"file not found: '{path}'")
    files = [f for f in files if f.stat().st_size > 0 or len(files) == 1]
    if not files:
        raise InputError(f"'{path}' names no data files (a file, a folder of Parquet parts or a glob)")
    return files


def _is_parquet(f: Path) -> bool:
    with open(f, "rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def read_input(spark, path: str) -> SparkInput:
    """Read INPUT into a DataFrame with __row and the sanitized columns."""
    files = input_files(path)
    kinds = {_is_parquet(f) for f in files}
    if len(kinds) > 1:
        raise InputError(f"'{path}' mixes Parquet and text files; give one kind")
    names = [str(f) for f in files]
    if kinds == {True}:
        frame = spark.read.parquet(*names)
        clean, repairs = ingest.sanitize_names(frame.columns, True)
        frame = _with_source(frame).toDF(*clean, _FILE, _BLOCK)
        numbered, rows, cached = _numbered(frame, clean)
        return SparkInput(numbered, clean, path, "parquet", None, repairs, rows, cached)
    return _read_csv(spark, files, path)


def _read_csv(spark, files: list[Path], source: str) -> SparkInput:
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    with open(files[0], "rb") as fh:
        head = fh.read(ingest_base.SNIFF_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text, encoding = head.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as e:
        if e.start > len(head) - 4:  # a character cut by the sample's end
            text, encoding = head[: e.start].decode("utf-8"), "UTF-8"
        else:
            text, encoding = head.decode("latin-1"), "ISO-8859-1"
    if not text.strip():
        raise InputError(f"'{source}' is empty (only blank lines); nothing to load")
    dialect = _sniff(text)
    if dialect.kind != "delimited" or dialect.skip:
        raise InputError(
            f"'{source}': the Spark engine reads delimited text (comma, semicolon, tab, pipe) without a "
            "'sep=' line; convert it to Parquet or CSV, or use the DuckDB engine"
        )
    header = ingest.detect_header(dialect.records)
    n = max((len(r) for r in dialect.records[:1]), default=0) if header else max(
        (len(r) for r in dialect.records), default=0)
    raw_names = list(dialect.records[0][:n]) if header and dialect.records else [None] * n
    names, repairs = ingest.sanitize_names(raw_names, header)
    frame = (
        spark.read.option("header", str(header).lower())
        .option("sep", dialect.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", encoding)
        .option("inferSchema", "false")
        .option("mode", "PERMISSIVE")
        .csv([str(f) for f in files])
    )
    if len(frame.columns) != len(names):
        raise InputError(f"'{source}': the parts do not share the first file's {len(names)} columns")
    frame = _with_source(frame).toDF(*names, _FILE, _BLOCK)
    trimmed = [F.regexp_replace(col(c), _TRIM, "").alias(c) for c in names]
    frame = frame.select(*trimmed, _FILE, _BLOCK)
    numbered, rows, cached = _numbered(frame, names)
    return SparkInput(numbered, names, source, "csv", dialect.delimiter, repairs, rows, cached)


def _with_source(frame):
    """The reader's frame plus each row's file and split (Spark's hidden _metadata column): rows are
    numbered in (file, split, position) order, whatever order Spark packs the splits in."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    return frame.select("*", F.col("_metadata.file_path").alias(_FILE),
                        F.col("_metadata.file_block_start").alias(_BLOCK))


def _numbered(frame, columns: list[str]):
    """(the frame with __row = 1.. in input order, the number of rows, the cached frame under it). Within a split the rows are contiguous in one partition, in file
    order, so monotonically_increasing_id minus the split's smallest id is the row's position; the
    splits' counts (one row per split, collected to the driver) give each split's offset."""
    from pyspark.sql import functions as F  # pyspark is an optional extra: loaded only when a Spark run starts

    tagged = frame.withColumn(_MID, F.monotonically_increasing_id()).cache()
    splits = tagged.groupBy(_FILE, _BLOCK).agg(F.count(F.lit(1)).alias("n"), F.min(_MID).alias("first"))
    offsets, total = [], 0
    for r in sorted(splits.collect(), key=lambda r: (r[_FILE], r[_BLOCK])):
        offsets.append((r[_FILE], r[_BLOCK], r["first"], total))
        total += r["n"]
    spark = frame.sparkSession
    schema = f"{_FILE} STRING, {_BLOCK} LONG, __first LONG, __off LONG"
    offset_df = spark.createDataFrame(offsets, schema)
    numbered = tagged.join(F.broadcast(offset_df), [_FILE, _BLOCK]).withColumn(
        ROW, (F.col("__off") + F.col(_MID) - F.col("__first") + 1).cast("long")
    )
    return numbered.select(ROW, *[col(c) for c in columns]), total, tagged
