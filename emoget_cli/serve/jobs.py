"""Jobs, their folders, and the lanes that run them.

A job owns one folder `<root>/<id>/` holding the uploaded photo (`upload/`, removed as soon as
the worker returns) and its results (`out/`). Ids are `secrets.token_urlsafe` strings and are only ever looked up in a dict; file
names come from the job's own result list, never from a request. Deleting a job (by the user,
or when it expires) removes its whole folder, photo included; a job deleted while it runs is
removed as soon as its worker returns.

Lanes: the CPU lane runs up to `workers` jobs at once; each GPU gets a lane of its own that runs
one job at a time. A lane is a dispatcher thread pool (its threads wait) in front of a process
pool (its processes work), so `running` means a worker process has the job and everything else
is `queued`, with an honest position in the queue.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

log = logging.getLogger("emoget.serve")

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STATUSES = ("queued", "running", "done", "failed")


@dataclass
class Job:
    """One upload and what was asked of it. expected: the result names the worker will write,
    in display order (progress = how many exist); files: the names it did write."""

    id: str
    kind: str
    folder: Path
    photo: Path
    expected: list[str]
    created: float
    lane: str = "cpu"
    status: str = "queued"
    error: Optional[str] = None
    error_kind: Optional[str] = None
    files: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    started: Optional[float] = None
    finished: Optional[float] = None
    deleted: bool = False

    @property
    def out(self) -> Path:
        return self.folder / "out"

    def progress(self) -> tuple[int, int]:
        """(results written, results expected)."""
        if self.status == "done":
            return len(self.files), len(self.files)
        if self.status != "running":
            return 0, len(self.expected)
        return sum((self.out / name).is_file() for name in self.expected), len(self.expected)

    def result_path(self, name: str) -> Optional[Path]:
        """The file `name` of this job's results, or None: only names the worker reported,
        only regular files directly inside the job's own output folder."""
        if self.status != "done" or name not in self.files:
            return None
        path = self.out / name
        try:
            if path.is_symlink() or not path.is_file() or path.resolve().parent != self.out.resolve():
                return None
        except OSError:
            return None
        return path


class Lane:
    """Runs jobs in worker processes, `size` at a time, on one device ("cpu", "cuda:0", ...)."""

    def __init__(self, name: str, device: str, size: int, on_start: Callable[[Job], bool],
                 on_finish: Callable[[Job, dict], None]):
        self.name, self.device, self.size = name, device, size
        self._on_start, self._on_finish = on_start, on_finish
        self._dispatch = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"emoget-{name}")
        self._pool_lock = threading.Lock()
        self._pool: Optional[ProcessPoolExecutor] = None
        self.queue: list[str] = []  # ids waiting, oldest first (guarded by the store's lock)

    def _processes(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                # spawn: torch, dlib and OpenCV state is not fork-safe
                self._pool = ProcessPoolExecutor(max_workers=self.size,
                                                 mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def call(self, fn: Callable, *args: Any) -> Any:
        """Run fn(*args) in a worker process now (blocking); used for warm-up and probes."""
        return self._processes().submit(fn, *args).result()

    def warm_up(self) -> None:
        """Start the worker processes and import the pipeline in each, in the background."""
        from .work import warm_up

        pool = self._processes()
        for _ in range(self.size):
            pool.submit(warm_up)

    def submit(self, job: Job, fn: Callable, *args: Any) -> None:
        self._dispatch.submit(self._run, job, fn, args)

    def _run(self, job: Job, fn: Callable, args: tuple) -> None:
        if not self._on_start(job):
            return  # deleted while it waited
        try:
            result = self._processes().submit(fn, *args).result()
        except BrokenProcessPool:
            with self._pool_lock:  # a worker died (killed for memory?): start a fresh pool
                self._pool = None
            result = {"ok": False, "error": "the worker stopped while making this (out of "
                      "memory?); try a smaller photo", "kind": "internal", "files": []}
        except Exception as exc:  # a bug in the worker plumbing
            log.exception("job %s failed", job.id)
            result = {"ok": False, "error": f"internal error: {type(exc).__name__}",
                      "kind": "internal", "files": []}
        self._on_finish(job, result)

    def close(self) -> None:
        self._dispatch.shutdown(wait=False, cancel_futures=True)
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


class JobStore:
    """Every job of one server, its folder under `root`, and its lanes."""

    def __init__(self, workers: int, keep_seconds: float, max_jobs: int, gpus: int = 0,
                 root: Optional[Path] = None, clock: Callable[[], float] = time.time):
        self.keep_seconds, self.max_jobs, self.clock = keep_seconds, max_jobs, clock
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="emoget-serve-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self.cpu = Lane("cpu", "cpu", workers, self._start, self._finish)
        self.gpu_lanes: list[Lane] = []
        self.add_gpu_lanes(gpus)

    def add_gpu_lanes(self, gpus: int) -> None:
        """One lane per GPU, one job at a time on each."""
        lanes = [Lane(f"cuda{i}", f"cuda:{i}", 1, self._start, self._finish)
                 for i in range(len(self.gpu_lanes), gpus)]
        self.gpu_lanes = self.gpu_lanes + lanes  # one assignment: readers see old or new list

    # ------------------------------------------------------------------------- lifecycle --

    def new_job(self, kind: str, photo_bytes: bytes, photo_suffix: str, expected: list[str],
                lane: Optional[Lane] = None) -> Job:
        """Write the upload into a fresh job folder. RuntimeError when the store is full."""
        with self._lock:
            if len(self._jobs) >= self.max_jobs:
                raise RuntimeError("busy")
            job_id = secrets.token_urlsafe(24)
            folder = self.root / job_id
            job = Job(job_id, kind, folder, folder / "upload" / f"emoget{photo_suffix}", expected,
                      self.clock(), lane=(lane or self.cpu).name)
            self._jobs[job_id] = job
        try:
            job.photo.parent.mkdir(parents=True)
            job.out.mkdir()
            job.photo.write_bytes(photo_bytes)
        except OSError:
            self.delete(job_id)
            raise
        return job

    def lane_for(self, wants_gpu: bool) -> Lane:
        """The GPU lane with the shortest queue for GPU work when there is a GPU, else the CPU."""
        if wants_gpu and self.gpu_lanes:
            with self._lock:
                return min(self.gpu_lanes, key=lambda lane: len(lane.queue))
        return self.cpu

    def lane_named(self, name: str) -> Lane:
        return next((lane for lane in (self.cpu, *self.gpu_lanes) if lane.name == name), self.cpu)

    def enqueue(self, job: Job, fn: Callable, *args: Any) -> None:
        lane = self.lane_named(job.lane)
        with self._lock:
            lane.queue.append(job.id)
        lane.submit(job, fn, *args)

    def _start(self, job: Job) -> bool:
        with self._lock:
            lane = self.lane_named(job.lane)
            if job.id in lane.queue:
                lane.queue.remove(job.id)
            if job.deleted:
                return False
            job.status, job.started = "running", self.clock()
            return True

    def _finish(self, job: Job, result: dict) -> None:
        with self._lock:
            job.finished = self.clock()
            job.info = {k: result[k] for k in ("seconds", "adjustments") if k in result}
            if result.get("ok"):
                job.status, job.files = "done", list(result["files"])
            else:
                job.status, job.error = "failed", result.get("error") or "failed"
                job.error_kind = result.get("kind") or "internal"
            remove = job.deleted
        if remove:
            self._remove_folder(job)
        else:  # the worker is done with the photo: it need not wait for the job to expire
            shutil.rmtree(job.photo.parent, ignore_errors=True)

    def get(self, job_id: str) -> Optional[Job]:
        if not ID_PATTERN.match(job_id or ""):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None or job.deleted else job

    def queue_position(self, job: Job) -> Optional[int]:
        """How many jobs wait before this one (0: next), None unless queued."""
        with self._lock:
            queue = self.lane_named(job.lane).queue
            return queue.index(job.id) if job.id in queue else None

    def delete(self, job_id: str) -> bool:
        """Forget the job and remove its folder (now, or when its worker returns)."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is None:
                return False
            job.deleted = True
            running = job.status == "running"
        if not running:
            self._remove_folder(job)
        return True

    def sweep(self, now: Optional[float] = None) -> int:
        """Delete every job older than keep_seconds; returns how many."""
        now = self.clock() if now is None else now
        with self._lock:
            old = [j.id for j in self._jobs.values() if now - j.created > self.keep_seconds]
        return sum(self.delete(job_id) for job_id in old)

    def stats(self) -> dict[str, Any]:
        """One consistent snapshot: jobs held, running and queued, and the lanes' sizes."""
        with self._lock:
            statuses = [j.status for j in self._jobs.values()]
            return {"jobs": len(statuses), "running": statuses.count("running"),
                    "queued": statuses.count("queued"), "cpu_workers": self.cpu.size,
                    "gpus": len(self.gpu_lanes)}

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _remove_folder(self, job: Job) -> None:
        shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        for lane in (self.cpu, *self.gpu_lanes):
            lane.close()
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job.deleted = True
            self._remove_folder(job)
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
