"""Issue 14, core parts: the public Online Retail excerpt end to end, the preview, RFM semantics and
names, the RFM group mix and runs segmented by the named groups. Expected values come from plain
Python over the file (csv module) or plain SQL over the stored tables."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from core.config import PROJECT_DIR
from core.filters import FilterSpec
from core.profiling import profile_segments
from core.rfm import (
    GROUP_NAMES,
    inspect_transactions,
    load_transactions,
    preview_rfm,
    rfm_group_mix,
    run_rfm_groups,
)
from core.rfm_naming import (
    BaseCuts,
    SegmentRfm,
    better_direction,
    is_better,
    rfm_segment_actions,
    rfm_segment_names,
)
from core.store import run_table

DATA = Path(__file__).resolve().parent.parent / "data"
RETAIL = DATA / "online_retail_excerpt.csv"
CDNOW = DATA / "cdnow_sample.txt"


def retail_by_hand(path: Path = RETAIL) -> dict[str, tuple[int, float, int]]:
    """customer -> (invoices with a purchase, purchases minus returns, return lines), with the csv
    module: lines with 8 fields only (the public copy has 4 broken lines with 7)."""
    invoices, money, returns = defaultdict(set), defaultdict(float), defaultdict(int)
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for inv, _, _, qty, _, price, cust, _ in (r for r in rows if len(r) == 8):
        value = float(qty) * float(price)
        if inv.startswith("C") or value < 0:
            money[cust] -= abs(value)
            returns[cust] += 1
        else:
            money[cust] += value
            invoices[cust].add(inv)
    return {c: (len(invoices[c]), round(money[c], 2), returns[c]) for c in money}


def customers(store, info) -> dict[str, dict]:
    with store.cursor() as cur:
        cur.execute(f"SELECT * FROM {info.table}")
        names = [d[0] for d in cur.description]
        return {str(r[1]): dict(zip(names, r)) for r in cur.fetchall()}


# -- the public Online Retail excerpt ---------------------------------------------------------
@pytest.mark.parametrize("order", ["auto", "mdy"])
def test_online_retail_loads_with_auto_and_mdy(store, order):
    info = load_transactions(store, RETAIL, date_order=order)
    got = customers(store, info)
    expected = retail_by_hand()
    assert info.rows_read == 183 and len(got) == 14 == len(expected)
    for cust, (freq, money, rets) in expected.items():
        assert (got[cust]["frequency"], round(got[cust]["monetary"], 2), got[cust]["returns"]) == (freq, money, rets)
    q = info.quality
    assert next(f for f in q.findings if f.rule == "unparseable_date").count == 4  # the 4 broken lines
    if order == "mdy":  # 12/1/10 8:26 is 1 December 2010
        assert {r["last_purchase"] for r in got.values()} == {"2010-12-01"}
        assert any("month/day/year" in r and "20xx" in r for r in q.repairs)
    else:  # every date has both parts at most 12: the order is a guess, said as a warning
        warning = next(w for w in q.warnings if "day/month/year" in w)
        assert "choose the date order (day first or month first)" in warning and "--" not in warning


def test_online_retail_with_a_day_above_12_reads_month_first(store, tmp_path):
    lines = RETAIL.read_text().splitlines()
    lines.append("536999,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/13/10 17:45,2.55,17850,United Kingdom")
    path = tmp_path / "retail_more.csv"
    path.write_text("\n".join(lines) + "\n")
    info = load_transactions(store, path)
    got = customers(store, info)
    assert got["17850"]["last_purchase"] == "2010-12-13" and got["17850"]["recency_days"] == 1
    assert got["13047"]["last_purchase"] == "2010-12-01" and got["13047"]["recency_days"] == 13
    assert not any("date order" in w for w in info.quality.warnings)


def test_headerless_file_needs_confirmation(store, tmp_path):
    path = tmp_path / "no_header.csv"
    path.write_text("\n".join(RETAIL.read_text().splitlines()[1:]) + "\n")
    columns, mapping = inspect_transactions(store, path)
    assert columns[:2] == ["column_1", "column_2"]
    assert mapping.sure is False and mapping.reasons
    assert mapping.date == "column_5"
    assert store.list_datasets() == []


def test_preview_gives_the_first_customers_and_publishes_nothing(store, tmp_path):
    mapping = {"customer": "CustomerID", "date": "InvoiceDate", "quantity": "Quantity",
               "price": "UnitPrice", "invoice": "InvoiceNo"}
    preview = preview_rfm(store, RETAIL, mapping, "mdy", n=3)
    assert store.list_datasets() == []
    with store.cursor() as cur:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert not [t for t in tables if t.startswith(("rfm_", "ds_"))]
    # file order of first appearance: 17850, 13047, 12583
    assert [r["customer_id"] for r in preview.rows] == ["17850", "13047", "12583"]
    by_hand = retail_by_hand()
    for r in preview.rows:
        assert (r["frequency"], round(r["monetary"], 2)) == by_hand[r["customer_id"]][:2]
        assert r["recency_days"] == 1
    assert preview.dates_sure and "month/day/year" in preview.dates
    assert preview.customers == 14 and preview.lines_read == 183
    unsure = preview_rfm(store, RETAIL)  # auto: detected mapping, the order is a guess
    assert unsure.mapping.customer == "CustomerID" and unsure.dates_sure is False


def test_constant_columns_are_recorded_for_transactions(store, tmp_path):
    path = tmp_path / "no_returns.csv"
    path.write_text("customer,date,amount\na,2021-01-01,5\nb,2021-01-03,7\nc,2021-01-04,9\na,2021-01-05,1\n")
    info = load_transactions(store, path)
    constant = {f.column for f in info.quality.findings if f.rule == "constant_column"}
    assert "returns" in constant


# -- semantics and names ----------------------------------------------------------------------
def test_better_direction_per_measure():
    assert better_direction("recency_days") == "lower"
    assert better_direction("frequency") == better_direction("monetary") == "higher"
    assert better_direction("Age") is None
    assert is_better("recency_days", -30.0) is True and is_better("recency_days", 12.0) is False
    assert is_better("monetary", 5.0) is True and is_better("frequency", -1.0) is False
    assert is_better("Age", 3.0) is None and is_better("monetary", 0.0) is None


def _seg(i, rec, freq, money, size=100):
    return SegmentRfm(i, size, rec, rec - 15, rec + 15, freq, round(freq), money)


def test_a_segment_lapsed_431_to_462_days_is_never_average_recency():
    # a base where most customers bought long ago: 431-462 days is typical of this base
    base = BaseCuts(recency=[120, 380, 440, 500], frequency=[1, 1, 2, 4], monetary=[15, 30, 60, 150])
    segs = [_seg(1, 446, 1.0, 20), _seg(2, 40, 6.0, 300), _seg(3, 446, 1.2, 70)]
    names = rfm_segment_names(segs, base)
    assert names[0].startswith("Lapsed over a year") and "average" not in names[0].lower()
    assert names[1] == "Recent, frequent, big spenders"
    assert len(set(names)) == 3
    actions = rfm_segment_actions(segs, base)
    assert len(set(actions)) == 3 and not any("Nurture" in a for a in actions)


def test_actions_are_never_repeated_even_for_identical_segments():
    base = BaseCuts(recency=[10, 20, 30, 40], frequency=[1, 2, 3, 4], monetary=[10, 20, 30, 40])
    segs = [_seg(i, 5, 9.0, 500) for i in range(1, 11)]
    assert len(set(rfm_segment_actions(segs, base))) == 10
    assert len(set(rfm_segment_names(segs, base))) == 10


def test_cdnow_k5_names_and_actions_speak_rfm_and_are_unique(store):
    from core.segmentation import run_segmentation

    info = load_transactions(store, CDNOW)
    run = run_segmentation(store, info.dataset_id, ["recency_days", "frequency", "monetary"], k=5, scale="log")
    profiles = profile_segments(store, FilterSpec(run.run_id))
    assert len({p.name for p in profiles}) == 5 and len({p.action for p in profiles}) == 5
    for p in profiles:
        rec = p.medians["recency_days"]
        assert "average recency" not in p.name.lower()
        if rec > 365:
            assert p.name.startswith("Lapsed over a year")
    stored = store.get_run(run.run_id)  # the names are kept with the run
    assert {s.name for s in stored.segments} == {p.name for p in profiles}


# -- groups and segments together -------------------------------------------------------------
def test_rfm_group_mix_equals_plain_sql(store):
    from core.segmentation import run_segmentation

    info = load_transactions(store, CDNOW)
    run = run_segmentation(store, info.dataset_id, ["recency_days", "frequency", "monetary"], k=3, scale="log")
    mix = rfm_group_mix(store, run)
    with store.cursor() as cur:
        rows = cur.execute(
            f'SELECT __segment, rfm_group, count(*) FROM {run_table(run.run_id)} GROUP BY ALL'
        ).fetchall()
    totals = defaultdict(int)
    for seg, _, n in rows:
        totals[seg] += n
    assert set(mix) == set(totals)
    for seg, group, n in rows:
        assert mix[seg][group] == pytest.approx(n / totals[seg])
    assert all(sum(shares.values()) == pytest.approx(1.0) for shares in mix.values())


def test_run_by_rfm_groups_is_a_run_like_any_other(store, tmp_path):
    from core.export import export_workbook
    from core.views import histograms, segment_sizes

    info = load_transactions(store, CDNOW)
    run = run_rfm_groups(store, info.dataset_id)
    with store.cursor() as cur:
        counts = dict(cur.execute(f"SELECT rfm_group, count(*) FROM {info.table} GROUP BY 1").fetchall())
    assert run.k == len(counts) and run.rows_clustered == sum(counts.values()) == 2357
    sizes = [s.size for s in run.segments]
    assert sizes == sorted(sizes, reverse=True) and [s.id for s in run.segments] == list(range(1, run.k + 1))
    assert {s.name: s.size for s in run.segments} == counts
    assert all(s.name in GROUP_NAMES for s in run.segments)
    assert len({s.action for s in run.segments}) == run.k
    with store.cursor() as cur:  # every customer's segment is its group's
        wrong = cur.execute(
            f"SELECT count(*) FROM {run_table(run.run_id)} r JOIN {info.table} d USING (__row) "
            "WHERE r.__segment <> (CASE " + " ".join(
                f"WHEN d.rfm_group = '{s.name}' THEN {s.id}" for s in run.segments) + " END)"
        ).fetchone()[0]
    assert wrong == 0
    spec = FilterSpec(run.run_id)
    assert sum(s.selected for s in segment_sizes(store, spec)) == 2357
    assert histograms(store, spec, ["monetary"])[0].counts
    assert {p.name for p in profile_segments(store, spec)} == set(counts)  # names stay the groups'
    result = export_workbook(store, spec, tmp_path / "groups.xlsx")
    assert (tmp_path / "groups.xlsx").exists() and result is not None


def test_cli_rfm_groups_and_group_shares(tmp_path):
    db = tmp_path / "cli.duckdb"

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "core", "rfm", str(CDNOW), "--json", *args],
                             cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    groups = cli("--segments", "rfm-groups")
    assert len(groups["segments"]) == groups["k"]
    assert all(list(s["rfm_groups"]) == [s["name"]] for s in groups["segments"])
    kmeans = cli("--k", "3", "--db", str(db))
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        f"SELECT __segment, rfm_group, count(*) / sum(count(*)) OVER (PARTITION BY __segment) "
        f"FROM run_{kmeans['run_id']} GROUP BY __segment, rfm_group"
    ).fetchall()
    con.close()
    by_id = {s["id"]: s["rfm_groups"] for s in kmeans["segments"]}
    for seg, group, share in rows:
        assert by_id[seg][group] == pytest.approx(share)


def test_cli_adds_its_flags_to_neutral_core_messages(tmp_path):
    path = tmp_path / "no_customer.csv"
    path.write_text("date,amount\n2021-01-01,1.5\n2021-01-02,2.5\n")
    out = subprocess.run([sys.executable, "-m", "core", "rfm", str(path)], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "column mapping" in out.stderr and "--customer" in out.stderr
