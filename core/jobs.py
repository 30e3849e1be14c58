"""Background jobs of the app process (imports, segmentation runs): start one, ask how far it is.

A job runs `work(progress)` in a thread; `progress(stage, fraction)` records where it is, so a page can
poll it (dcc.Interval) and show the stage and a percentage instead of a spinner. Jobs are kept in this
module, keyed by a random id: the server's own work queue, not session state (a page holds only the
job id), lost on restart, when what was published is what counts.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from core.errors import InputError

log = logging.getLogger("csi.jobs")

MAX_JOBS_KEPT = 50
ProgressFn = Callable[[str, float], None]


@dataclass
class Job:
    job_id: str
    name: str
    stage: str = "queued"  # queued | <the work's own stages> | done | failed
    fraction: float = 0.0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    dataset_id: str | None = None  # what the work produced
    run_id: str | None = None
    message: str = ""
    kind: str = "import"  # import | run

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def percent(self) -> int:
        return int(round(self.fraction * 100))


@dataclass(frozen=True)
class JobResult:
    """What a job's work returns (a plain string means a dataset id)."""

    dataset_id: str | None = None
    run_id: str | None = None
    message: str = ""


_jobs: dict[str, Job] = {}
_jobs_lock = threading.Lock()


def start_job(name: str, work: Callable[[ProgressFn], JobResult | str], *, kind: str = "import",
              done_message: str = "imported") -> Job:
    """Run `work(progress)` in a background thread; return its job at once. InputError ends the job
    with its own message; anything else with a generic one (the traceback goes to the log)."""
    job = Job(uuid.uuid4().hex[:16], name, kind=kind)
    with _jobs_lock:
        _jobs[job.job_id] = job
        for old in sorted(_jobs.values(), key=lambda j: j.started)[:-MAX_JOBS_KEPT]:
            _jobs.pop(old.job_id, None)

    def progress(stage: str, fraction: float) -> None:
        with _jobs_lock:
            job.stage, job.fraction = stage, max(0.0, min(1.0, float(fraction)))

    def target() -> None:
        try:
            result = work(progress)
            if isinstance(result, str):
                result = JobResult(dataset_id=result)
            with _jobs_lock:
                job.stage, job.fraction = "done", 1.0
                job.dataset_id, job.run_id = result.dataset_id, result.run_id
                job.message = result.message or done_message
        except InputError as exc:
            with _jobs_lock:
                job.stage, job.message = "failed", str(exc)
        except Exception:  # a bug: the message stays generic, the log has the traceback
            log.exception("%s job %s failed", kind, name)
            with _jobs_lock:
                job.stage, job.message = "failed", f"the {kind} failed on the server; the error was logged"
        finally:
            with _jobs_lock:
                job.finished = time.time()

    threading.Thread(target=target, name=f"{kind}-{job.job_id}", daemon=True).start()
    return job


def job_status(job_id: object, what: str = "job") -> Job:
    """A copy of the job's current state; InputError for an unknown id."""
    if not isinstance(job_id, str):
        raise InputError(f"unknown {what}")
    with _jobs_lock:
        job = _jobs.get(job_id)
        if job is None:
            raise InputError(f"unknown {what} (the server may have restarted)")
        return Job(**job.to_dict())
