"""Named RFM groups: the R/F grid (docs/RFM.md), each segment's mix of groups, and runs whose segments
are the groups themselves.

`rfm_group_mix(store, run)` gives per segment the share of each named group (one SQL aggregate over
the run table). `run_rfm_groups(store, dataset_id)` stores a run like any K-Means run (run table with
`__segment`, `__x`, `__y`; a Run in the catalogue) whose segments are the groups present, ordered by
size, so every view, grid and export works on it unchanged.
"""
from __future__ import annotations

import datetime as dt

from core.errors import InputError
from core.models import ROW, SEGMENT, X, Y, Run, Segment
from core.store import Store, check_id, new_id, quote_ident, run_table
from core.aggregates_build import build_quietly

GROUP_COLUMN = "rfm_group"
# Named RFM groups on the R/F score grid: (group, R scores, F scores). Every one of the 25 (R, F)
# cells belongs to exactly one group; the order is the order of the CASE below.
RFM_GROUPS: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = [
    ("Champions", (5,), (4, 5)),
    ("Loyal customers", (3, 4), (4, 5)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("New customers", (5,), (1,)),
    ("Promising", (4,), (1,)),
    ("Need attention", (3,), (3,)),
    ("About to sleep", (3,), (1, 2)),
    ("Cannot lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Lost", (1,), (1,)),
    ("Hibernating", (2,), (1, 2)),
    ("Hibernating", (1,), (2,)),
]
GROUP_NAMES = list(dict.fromkeys(name for name, _, _ in RFM_GROUPS))
# The scatter of a groups run: the two measures that separate the groups best, on log scales
# (both are heavily skewed); monetary keeps its sign (returns can make it negative).
X_LABEL, Y_LABEL = "log(1 + recency_days)", "log(1 + monetary)"
_X_SQL = 'ln(1 + greatest("recency_days", 0))'
_Y_SQL = 'sign("monetary") * ln(1 + abs("monetary"))'
_MEASURES = ("recency_days", "frequency", "monetary")


def group_case_sql() -> str:
    """SQL CASE naming the group of a row from its r_score and f_score."""
    cells = []
    for name, rs, fs in RFM_GROUPS:
        cond = f"r_score IN ({', '.join(map(str, rs))}) AND f_score IN ({', '.join(map(str, fs))})"
        cells.append(f"WHEN {cond} THEN '{name}'")
    return "CASE " + " ".join(cells) + " END"


def group_rule(group: str) -> str:
    """The group's definition as DuckDB SQL over the customer table (a CRM can run it)."""
    cells = [(rs, fs) for name, rs, fs in RFM_GROUPS if name == group]
    parts = [
        f'("r_score" IN ({", ".join(map(str, rs))}) AND "f_score" IN ({", ".join(map(str, fs))}))'
        for rs, fs in cells
    ]
    return " OR ".join(parts)


def rfm_group_mix(store: Store, run: Run) -> dict[int, dict[str, float]]:
    """Per segment of `run`, the share of its customers in each named RFM group ({} for a run whose
    dataset has no rfm_group column). Shares of a segment add up to 1; groups absent are left out."""
    table = run_table(run.run_id)
    present = store.table_columns(table)
    if GROUP_COLUMN not in present:
        return {}
    group = quote_ident(GROUP_COLUMN, present)
    with store.cursor() as cur:
        rows = cur.execute(
            f"""
            SELECT {SEGMENT}, {group}, count(*) / sum(count(*)) OVER (PARTITION BY {SEGMENT}) AS share
            FROM {table}
            WHERE {group} IS NOT NULL
            GROUP BY {SEGMENT}, {group}
            ORDER BY {SEGMENT}, share DESC, {group}
            """
        ).fetchall()
    mix: dict[int, dict[str, float]] = {}
    for seg, name, share in rows:
        mix.setdefault(int(seg), {})[str(name)] = float(share)
    return mix


def run_rfm_groups(store: Store, dataset_id: str) -> Run:
    """Segment a transactions dataset by its named RFM groups: one segment per group present, ids by
    size (1 = largest, ties in the grid's order), names = group names, one action per group. Stored
    in one transaction like any run. Raises InputError for a dataset without RFM groups."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.rfm_naming import group_action

    info = store.get_dataset(check_id(dataset_id, "dataset"))
    missing = [c for c in (GROUP_COLUMN, *_MEASURES) if info.column(c) is None]
    if missing:
        raise InputError(
            "this dataset has no RFM groups: load a transactions file to segment by RFM groups"
        )
    allowed = info.names()
    group = quote_ident(GROUP_COLUMN, allowed)
    with store.cursor() as cur:
        sizes = cur.execute(
            f"SELECT {group}, count(*) FROM {info.table} WHERE {group} IS NOT NULL GROUP BY {group}"
        ).fetchall()
    if not sizes:
        raise InputError("no customer has an RFM group; nothing to segment")
    order = sorted(sizes, key=lambda r: (-int(r[1]), GROUP_NAMES.index(r[0]) if r[0] in GROUP_NAMES else 99))
    ids = [(name, i + 1) for i, (name, _) in enumerate(order)]
    run = _groups_run(info, [name for name, _ in ids], sum(int(n) for _, n in sizes))
    select = ", ".join(quote_ident(c, allowed) for c in allowed)
    case = " ".join(f"WHEN {group} = ? THEN {int(i)}" for _, i in ids)
    with store.transaction() as cur:
        cur.execute(
            f"""
            CREATE TABLE {run_table(run.run_id)} AS
            SELECT {ROW}, {select}, (CASE {case} END)::INTEGER AS {SEGMENT},
                   ({_X_SQL})::DOUBLE AS {X}, ({_Y_SQL})::DOUBLE AS {Y}
            FROM {info.table}
            WHERE {group} IS NOT NULL
            ORDER BY {ROW}
            """,
            [name for name, _ in ids],
        )
        run.segments = _group_segments(cur, run, ids, group_action)
        store.insert_run(cur, run)
    build_quietly(store, run.run_id)
    return run


def _groups_run(info, names: list[str], rows: int) -> Run:
    k = len(names)
    return Run(
        run_id=new_id(), dataset_id=info.dataset_id,
        created_at=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        features=list(_MEASURES), encoded_features=list(_MEASURES), k=k, suggested_k=k,
        scale="log", fill="median", seed=0, elbow=[], silhouette=None, inertia=0.0,
        explained_variance=None, x_label=X_LABEL, y_label=Y_LABEL, rows_clustered=rows, rows_excluded=0,
        excluded_by_rule={}, filled={}, segments=[],
        k_reason=f"one segment per named RFM group present ({k}), ordered by size",
    )


def _group_segments(cur, run: Run, ids: list[tuple[str, int]], action_of) -> list[Segment]:
    table = run_table(run.run_id)
    stats = {
        int(r[0]): r for r in cur.execute(
            f"""
            SELECT {SEGMENT}, count(*), avg({X}), avg({Y}),
                   avg("recency_days"), avg("frequency"), avg("monetary")
            FROM {table} GROUP BY {SEGMENT}
            """
        ).fetchall()
    }
    total = max(1, run.rows_clustered)
    out = []
    for name, i in ids:
        r = stats[i]
        out.append(Segment(
            id=i, name=name, action=action_of(name), size=int(r[1]), share=int(r[1]) / total,
            centroid={m: float(v) for m, v in zip(_MEASURES, r[4:7]) if v is not None},
            xy=[float(r[2] or 0.0), float(r[3] or 0.0)],
            rule=group_rule(name), rule_precision=1.0, rule_recall=1.0,
        ))
    return out


def segment_by_groups(store: Store, path, *, mapping: dict | None = None, date_order: str = "auto",
                      reference_date: str | None = None):
    """Load a transactions file and segment it by its named RFM groups (what `python -m core rfm
    --segments rfm-groups` does): a pipeline.SegmentationResult like segment_path's."""
    # deferred: core modules import each other; at the top this makes an import cycle
    from pathlib import Path

    # deferred: core modules import each other; at the top this makes an import cycle
    from core.filters import FilterSpec
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.pipeline import SegmentationResult, load_path
    # deferred: core modules import each other; at the top this makes an import cycle
    from core.profiling import profile_segments

    path = Path(path)
    info = load_path(store, path, path.stem, transactions=True, mapping=mapping, date_order=date_order,
                     reference_date=reference_date, source_name=path.name)
    run = run_rfm_groups(store, info.dataset_id)
    return SegmentationResult(info, run, profile_segments(store, FilterSpec(run.run_id)))


def add_group_mix(store: Store, run: Run, summary: dict) -> dict:
    """The CLI's JSON summary with each segment's `rfm_groups` ({group: share})."""
    mix = rfm_group_mix(store, run)
    for seg in summary.get("segments", []):
        seg["rfm_groups"] = mix.get(int(seg["id"]), {})
    return summary
