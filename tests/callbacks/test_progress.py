"""Long work with progress (callbacks/progress.py): runs and imports as background jobs, polled."""
from __future__ import annotations

import shutil
import threading

from dash import no_update
from dash.testing.wait import until

from callbacks.progress import import_list, poll, start_folder_import, start_run_job
from core.jobs import JobResult, job_status, start_job
from core.config import PROJECT_DIR

from cb_helpers import text_of


def finished(job: dict) -> bool:
    return job_status(job["job_id"]).stage in {"done", "failed"}


def test_a_job_in_progress_shows_its_stage_and_percentage(fresh):
    release = threading.Event()

    def work(progress):
        progress("fit", 0.6)
        release.wait(10)
        return JobResult(run_id=fresh.run.run_id, dataset_id=fresh.run.dataset_id, message="Segmented.")

    job = start_job("'mall'", work, kind="run")
    until(lambda: job_status(job.job_id).stage == "fit", 10)
    view = poll(fresh.store, {"job_id": job.job_id, "kind": "run"})
    assert text_of(view.progress).startswith("Segmenting 'mall': Fitting K-Means — 60%")
    assert view.poll_disabled is False and view.run_id is no_update
    release.set()
    until(lambda: finished({"job_id": job.job_id}), 10)
    done = poll(fresh.store, {"job_id": job.job_id, "kind": "run"})
    assert done.poll_disabled is True and done.progress is None
    assert done.run_id == fresh.run.run_id and "Segmented." in text_of(done.run_alert)


def test_the_run_button_segments_in_the_background(fresh):
    start = start_run_job(fresh.store, fresh.run.dataset_id, ["Age", "Annual Income (k$)"], "standard",
                          "median", 3, False)
    assert start.alert is None and start.poll_disabled is False
    until(lambda: finished(start.job), 60)
    view = poll(fresh.store, start.job)
    run = fresh.store.get_run(view.run_id)
    assert run.k == 3 and run.features == ["Age", "Annual Income (k$)"] and run.dataset_id == fresh.run.dataset_id
    assert "Segmented 200 customers into 3 segments." in text_of(view.run_alert)


def test_a_bad_run_request_starts_nothing(fresh):
    runs = len(fresh.store.list_runs())
    start = start_run_job(fresh.store, fresh.run.dataset_id, [], "standard", "median", 3, False)
    assert start.job is no_update and start.alert.color == "danger"
    assert len(fresh.store.list_runs()) == runs


def test_a_file_placed_in_the_import_folder_is_listed_and_imported(fresh, tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    assert import_list(folder) == []
    shutil.copy(PROJECT_DIR / "data" / "mall_customers.csv", folder / "big_customers.csv")
    options = import_list(folder)
    assert [o["value"] for o in options] == ["big_customers.csv"]
    assert options[0]["label"].startswith("big_customers.csv (")
    start = start_folder_import(fresh.store, folder, "big_customers.csv")
    assert start.job["kind"] == "import"
    until(lambda: finished(start.job), 60)
    view = poll(fresh.store, start.job)
    assert "Imported big_customers.csv" in text_of(view.import_alert)
    info = fresh.store.get_dataset(view.dataset_id)
    assert info.name == "big_customers" and info.rows_loaded == 200
    assert view.dataset_id in [o["value"] for o in view.options]


def test_a_name_outside_the_import_folder_is_refused(fresh, tmp_path):
    start = start_folder_import(fresh.store, tmp_path, "../secrets.csv")
    assert start.job is no_update and start.alert.color == "danger"
