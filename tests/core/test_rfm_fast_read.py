"""RFM on a generated transactions file (core.synth) read by the fast CSV path (parallel, numbered in
place) equals an independent pandas computation, customer by customer, and equals what the slow
path (a quoted copy of the same file: sequential read, trimmed copy) derives."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import synth
from core.ingest.sniff import _detect_encoding
from core.rfm import load_transactions

LINES = 20_000


@pytest.fixture
def tx_file(tmp_path):
    """A synth file plus exact repeats of a few lines and lines with problems, appended at the end."""
    path = tmp_path / "tx.csv"
    synth.write_transactions(LINES, path, 11)
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = [lines[5], lines[77], lines[77], lines[1234]]  # exact duplicates (removed: invoice column)
    extra += [",900001,2023-03-01,1,2.50", "10001,900002,2023-02-30,1,2.50", "10001,900003,2023-03-01,1,abc"]
    path.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    return path


def _published(store, info) -> pd.DataFrame:
    with store.cursor() as cur:
        df = cur.execute(f"SELECT * FROM {info.table}").df()
    df["customer_id"] = df["customer_id"].astype(str)  # published as a number; compared as the file's text
    return df.sort_values("customer_id").reset_index(drop=True)


def _expected(path) -> tuple[pd.DataFrame, dict]:
    """R, F, M by the rules of docs/RFM.md, in pandas, from the raw text."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["__row"] = np.arange(1, len(raw) + 1)
    dup = raw.duplicated(subset=["customer_id", "invoice", "date", "quantity", "price"], keep="first")
    lines = raw[~dup].copy()
    lines["day"] = pd.to_datetime(lines["date"], format="%Y-%m-%d", errors="coerce")
    lines["value"] = pd.to_numeric(lines["quantity"], errors="coerce") * pd.to_numeric(lines["price"], errors="coerce")
    ok = (lines["customer_id"] != "") & lines["day"].notna() & lines["value"].notna()
    bad = {"duplicates": int(dup.sum()), "problems": int((~ok).sum())}
    lines = lines[ok]
    ret = (lines["value"] < 0) | lines["invoice"].str.match(r"^[Cc][0-9]")
    lines = lines.assign(is_return=ret, signed=np.where(ret, -lines["value"].abs(), lines["value"]))
    buys = lines[~lines["is_return"]]
    ref = lines["day"].max() + pd.Timedelta(days=1)
    g = lines.groupby("customer_id")
    b = buys.groupby("customer_id")
    out = pd.DataFrame({
        "frequency": b["invoice"].nunique(),
        "last": b["day"].max(),
        "first": b["day"].min(),
    }).join(pd.DataFrame({"monetary": g["signed"].sum(), "returns": g["is_return"].sum(), "row": g["__row"].min()}))
    out = out[out["frequency"] > 0]
    out["recency_days"] = (ref - out["last"]).dt.days
    for col, name, reverse in (("recency_days", "r_score", True), ("frequency", "f_score", False),
                               ("monetary", "m_score", False)):
        cuts = np.quantile(out[col].to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8])  # linear, as quantile_cont
        above = (out[col].to_numpy(dtype=float)[:, None] > cuts[None, :]).sum(axis=1)
        out[name] = 5 - above if reverse else 1 + above
    return out.reset_index().sort_values("customer_id").reset_index(drop=True), bad


def test_fast_read_rfm_equals_pandas(store, tx_file):
    enc = _detect_encoding(tx_file, "tx.csv")
    assert enc.quotes == 0 and enc.edge_space is False  # this file takes the fast read
    info = load_transactions(store, tx_file, "tx")
    got = _published(store, info)
    want, bad = _expected(tx_file)
    assert len(got) == len(want) > 1000
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["frequency"].tolist() == want["frequency"].tolist()
    assert got["recency_days"].tolist() == want["recency_days"].tolist()
    assert got["returns"].tolist() == want["returns"].tolist()
    assert got["__row"].tolist() == want["row"].tolist()
    assert np.allclose(got["monetary"], want["monetary"].round(6), atol=1e-6)
    assert got["first_purchase"].tolist() == want["first"].dt.strftime("%Y-%m-%d").tolist()
    assert got["last_purchase"].tolist() == want["last"].dt.strftime("%Y-%m-%d").tolist()
    for s in ("r_score", "f_score", "m_score"):
        assert got[s].tolist() == want[s].tolist(), s
    q = info.quality
    assert q.rows_read == LINES + 7
    assert q.duplicates_removed == bad["duplicates"] >= 2
    problems = sum(f.count for f in q.findings if f.rule in ("missing_customer", "unparseable_date", "invalid_amount"))
    assert problems == bad["problems"] == 3


def test_slow_read_derives_the_same_customers(store, tx_file, tmp_path):
    """The same lines with every invoice quoted: read sequentially and trimmed, as before."""
    lines = tx_file.read_text(encoding="utf-8").splitlines()
    quoted = [lines[0]] + [",".join(f'"{c}"' if i == 1 else c for i, c in enumerate(ln.split(","))) for ln in lines[1:]]
    slow = tmp_path / "tx_quoted.csv"
    slow.write_text("\n".join(quoted) + "\n", encoding="utf-8")
    assert _detect_encoding(slow, "q").quotes > 0
    a = load_transactions(store, tx_file, "fast")
    b = load_transactions(store, slow, "slow")
    fa, fb = _published(store, a), _published(store, b)
    pd.testing.assert_frame_equal(fa, fb)
    qa, qb = a.quality.to_dict(), b.quality.to_dict()
    for key in ("rows_read", "rows_loaded", "duplicates_removed", "missing", "rejected_values"):
        assert qa[key] == qb[key], key
    assert [(f["rule"], f["count"], f["sample_rows"]) for f in qa["findings"]] == [
        (f["rule"], f["count"], f["sample_rows"]) for f in qb["findings"]
    ]
