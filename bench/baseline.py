"""The original app's approach, for comparison: a Streamlit script that re-runs everything on every
widget change (pandas read + clean, scikit-learn scaler + elbow K-Means k=1..10 on all rows + final
K-Means + PCA, and DataFrame.to_excel of the whole table for its download button).

`python -m bench.baseline --csv FILE --json OUT [--export-rows N] [--export-filter COL,LO,HI]`
times one such "interaction" and, separately, DataFrame.to_excel of the export selection. It runs
in its own process so the benchmark can watch its memory.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

ID_COLUMN = "CustomerID"
EXCEL_MAX_ROWS = 1_048_575  # data rows that fit on one sheet under the header


def load_and_clean(csv: Path) -> tuple[pd.DataFrame, list[str], dict]:
    """pandas.read_csv + drop_duplicates + coerce numbers + fillna, like the original script."""
    t = {}
    t0 = time.perf_counter()
    df = pd.read_csv(csv)
    t["read_csv"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = df.drop_duplicates()
    features = []
    for col in df.columns:
        if col == ID_COLUMN or col == "Gender":
            continue
        df[col] = pd.to_numeric(df[col], errors="coerce")
        features.append(col)
    df[features] = df[features].fillna(df[features].median())
    if "Gender" in df.columns:
        df["Gender"] = df["Gender"].fillna(df["Gender"].mode().iloc[0])
    t["clean"] = time.perf_counter() - t0
    return df, features, t


def segment(df: pd.DataFrame, features: list[str], seed: int = 42) -> tuple[np.ndarray, dict]:
    """StandardScaler, elbow sweep k=1..10 on every row, final K-Means at the elbow, PCA to 2-D."""
    t = {}
    t0 = time.perf_counter()
    X = StandardScaler().fit_transform(df[features].to_numpy(dtype=float))
    t["scale"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    inertia = []
    for k in range(1, 11):
        inertia.append(KMeans(n_clusters=k, init="k-means++", random_state=seed).fit(X).inertia_)
    t["elbow_k1_10"] = time.perf_counter() - t0
    k = _elbow(inertia)

    t0 = time.perf_counter()
    labels = KMeans(n_clusters=k, init="k-means++", random_state=seed).fit_predict(X)
    t["final_kmeans"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    xy = PCA(n_components=2, random_state=seed).fit_transform(X)
    t["pca"] = time.perf_counter() - t0
    df["Segment"] = labels + 1
    df["PC1"], df["PC2"] = xy[:, 0], xy[:, 1]
    t["k"] = k
    return labels, t


def _elbow(inertia: list[float]) -> int:
    # The largest second difference of the inertia curve, as such scripts usually pick it.
    d2 = [inertia[i - 1] - 2 * inertia[i] + inertia[i + 1] for i in range(1, len(inertia) - 1)]
    return int(np.argmax(d2)) + 2


def to_excel(df: pd.DataFrame, out: Path) -> float:
    t0 = time.perf_counter()
    df.to_excel(out, index=False)
    return time.perf_counter() - t0


def one_interaction(csv: Path, workdir: Path, seed: int = 42) -> tuple[dict, pd.DataFrame]:
    """Everything the original script does on one widget change, timed per step."""
    t0 = time.perf_counter()
    df, features, t = load_and_clean(csv)
    _, ts = segment(df, features, seed)
    t.update(ts)
    # The script also summarised the segments and offered the whole table as an .xlsx download.
    t1 = time.perf_counter()
    df.groupby("Segment")[features].agg(["mean", "median", "count"])
    t["profile"] = time.perf_counter() - t1
    rows = len(df)
    if rows <= EXCEL_MAX_ROWS:
        t["to_excel_all"] = to_excel(df, workdir / "baseline_all.xlsx")
    else:
        t["to_excel_all"] = None  # does not fit on one sheet; the original would fail here
    t["rows"] = rows
    t["total"] = time.perf_counter() - t0
    return t, df


def export_selection(df: pd.DataFrame, out: Path, rows: int, flt: tuple[str, float, float] | None) -> dict:
    sel = df
    if flt:
        col, lo, hi = flt
        sel = df[(df[col] >= lo) & (df[col] <= hi)]
    sel = sel.head(rows)
    return {"rows": len(sel), "seconds": to_excel(sel, out)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.baseline")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--json", required=True, help="write the timings here")
    ap.add_argument("--export-rows", type=int, default=200_000)
    ap.add_argument("--export-filter", default=None, help="COL,LO,HI: the benchmark's export selection")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    flt = None
    if args.export_filter:
        col, lo, hi = args.export_filter.rsplit(",", 2)
        flt = (col, float(lo), float(hi))
    with tempfile.TemporaryDirectory(prefix="csi-baseline-") as tmp:
        work = Path(tmp)
        interaction, df = one_interaction(Path(args.csv), work, args.seed)
        export = export_selection(df, work / "baseline_export.xlsx", args.export_rows, flt)
        export["engine"] = _excel_engine()
    Path(args.json).write_text(json.dumps({"interaction": interaction, "export": export}, indent=1))
    return 0


def _excel_engine() -> str:
    try:
        import xlsxwriter  # noqa: F401  (pandas prefers it for .xlsx when installed)

        return "xlsxwriter"
    except ImportError:
        return "openpyxl"


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    sys.exit(main())
