"""Who moved between two runs, in segment ids: how two runs are linked (the row, or a customer id
column) and the transition matrix of core.compare.compare_runs with each name's segment id, for the
dashboard's heatmap and the "transition" filter kind (core/model_filters.py)."""
from __future__ import annotations

from dataclasses import dataclass

from core.compare import CompareResult, compare_runs
from core.errors import InputError
from core.models import Run
from core.store import Store, check_id, run_table


@dataclass(frozen=True)
class RunLink:
    """How the customers of `run` (the new side) are found in `other` (the old side)."""

    other_run_id: str
    id_column: str | None  # None: one dataset, matched on __row
    columns: tuple[str, ...]  # the run tables' shared columns, to check id_column against


def link_runs(store: Store, run: Run, other_run_id: str) -> RunLink:
    """Runs of one dataset match on the row; runs of two datasets on their shared id column (the
    same rule as compare_runs). InputError when the other run is unknown or nothing links them."""
    other = store.get_run(check_id(other_run_id, "run"))
    if other.run_id == run.run_id:
        raise InputError("choose another run to compare with")
    if other.dataset_id == run.dataset_id:
        return RunLink(other.run_id, None, ())
    id_a = store.get_dataset(other.dataset_id).id_column
    id_b = store.get_dataset(run.dataset_id).id_column
    if not id_a or id_a != id_b:
        raise InputError("these runs are on different datasets without a shared customer id column; "
                         "compare runs of one dataset, or datasets with the same id column")
    shared = set(store.table_columns(run_table(other.run_id))) & set(store.table_columns(run_table(run.run_id)))
    if id_a not in shared:
        raise InputError(f"the id column '{id_a}' is missing from one of the runs")
    return RunLink(other.run_id, id_a, tuple(sorted(shared)))


@dataclass
class TransitionMatrix:
    """Counts of customers from each old segment (rows) to each new segment (columns)."""

    other_run_id: str
    run_id: str
    from_ids: list[int]
    from_names: list[str]
    to_ids: list[int]
    to_names: list[str]
    counts: list[list[int]]  # counts[i][j]: from_ids[i] -> to_ids[j]
    result: CompareResult


def transition_matrix(store: Store, other_run_id: str, run_id: str) -> TransitionMatrix:
    """compare_runs(other -> run) with every segment of both runs as a row or column (zeros kept)."""
    run = store.get_run(check_id(run_id, "run"))
    link = link_runs(store, run, other_run_id)
    other = store.get_run(link.other_run_id)
    result = compare_runs(store, other.run_id, run.run_id, link.id_column)
    old = sorted(other.segments, key=lambda s: s.id)
    new = sorted(run.segments, key=lambda s: s.id)
    row = {s.name: i for i, s in enumerate(old)}
    col = {s.name: j for j, s in enumerate(new)}
    counts = [[0] * len(new) for _ in old]
    for cell in result.matrix:  # names are unique within a run (core.profiling.name_segments)
        if cell["from"] in row and cell["to"] in col:
            counts[row[cell["from"]]][col[cell["to"]]] = int(cell["count"])
    return TransitionMatrix(other.run_id, run.run_id, [s.id for s in old], [s.name for s in old],
                            [s.id for s in new], [s.name for s in new], counts, result)
