"""Batch `make`: one worker function, three ways to run it.

    run_batch(files, config)                       # in this process, one input after another
    run_batch(files, config)  with config.jobs > 1 # local worker processes (spawned)
    run_batch(files, config)  with config.ray      # actors on a Ray cluster (local or remote)

Every way calls `make_one` (→ `pipeline.process_one`) on each input, so results, error records and
exit codes are the same whichever runs them. What batches share:

- a failing input never stops the others: it gets a `MakeResult` with its one-line error;
- resume: with several inputs (always written into a folder), a ledger (`.emoget-make.jsonl`) records each finished input with the
  hash of the options that made it; a rerun with the same options skips inputs whose outputs are
  all still there (`MakeResult.skipped`), a rerun with other options redoes them;
- Ctrl-C (KeyboardInterrupt) cancels what has not finished; every output is written to a temporary
  name and renamed into place, so only complete files are left.

Ray: a pool of actors (`MakeWorker`), each loading the landmark models, style engine and any
generator once and keeping them for every input it gets. Inputs are streamed: at most two per
worker are in flight, so the driver never holds every image. When the workers see the output
folder (shared storage: the driver writes a probe file there and each worker looks for it), they
read the inputs and write the outputs themselves; otherwise the driver sends each input's bytes
and writes the bytes the worker returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from .core.errors import DependencyError, OutputError, UsageError

if TYPE_CHECKING:  # pipeline imports this module lazily; keep the import one-way at run time
    from .pipeline import MakeConfig, MakeResult

ProgressFn = Callable[[int, int, str], None]

LEDGER_NAME = ".emoget-make.jsonl"
LEDGER_FORMAT = "emoget.make-ledger"
#: options that change how a batch runs, not what it writes: left out of the options hash
EXECUTION_FIELDS = frozenset({"jobs", "ray", "gpus_per_worker", "device", "output_is_folder"})
#: inputs in flight per Ray worker (one running, one queued): enough to hide the round trip
IN_FLIGHT_PER_WORKER = 2
#: seconds the cancelled tasks get to stop cleanly before their actors are killed
CANCEL_GRACE_S = 10.0
#: how large an input the driver sends to a worker without shared storage (bytes)
MAX_SENT_INPUT_BYTES = 64 * 1024 * 1024


# ------------------------------------------------------------------------------ worker function --

def make_one(src: str, config: "MakeConfig", n_inputs: int, debug: bool = False,
             warn: Optional[Callable[[str], None]] = None) -> "MakeResult":
    """The one worker function of every batch: the whole chain for one input file.

    warn: where warnings go (only in this process: workers elsewhere have no terminal)."""
    from .pipeline import process_one

    return process_one(Path(src), config, n_inputs, warn=warn, debug=debug)


def _make_one_in_process(src: str, config: "MakeConfig", n_inputs: int, debug: bool) -> "MakeResult":
    """`make_one` in a --jobs worker process: a stop signal removes its temporary files too."""
    from .core.signals import install_signal_handlers

    install_signal_handlers()
    return make_one(src, config, n_inputs, debug)


# ------------------------------------------------------------------------------------- resume --

def options_hash(config: "MakeConfig") -> str:
    """sha256 (first 16 hex digits) of every option that changes what `make` writes."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
              if f.name not in EXECUTION_FIELDS}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _input_key(path: Path) -> dict[str, Any]:
    """Identity of an input file without reading it: resolved path, size, modification time."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class Ledger:
    """The resume record of a batch in a folder: one JSON line per finished input.

    Lines are appended and flushed one at a time, so a killed run loses at most the line it was
    writing; unreadable lines are ignored (that input is simply redone).
    """

    def __init__(self, folder: Path, options: str):
        self.path = folder / LEDGER_NAME
        self.options = options
        self._done: dict[str, dict[str, Any]] = {}
        self._read()

    def _read(self) -> None:
        try:
            if not self.path.is_file() or self.path.stat().st_size > 64 * 1024 * 1024:
                return
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(rec, dict) and rec.get("format") == LEDGER_FORMAT \
                    and isinstance(rec.get("input"), dict) and isinstance(rec.get("outputs"), list):
                self._done[str(rec["input"].get("path"))] = rec

    def finished(self, path: Path) -> Optional["MakeResult"]:
        """The recorded result of `path` (marked skipped) when it was made with these options
        from the same file and every output still exists; else None."""
        from .pipeline import MakeResult

        rec = self._done.get(str(path.resolve()))
        if rec is None or rec.get("options") != self.options or rec.get("input") != _input_key(path):
            return None
        outputs = [str(o) for o in rec["outputs"]]
        if not outputs or not all(Path(o).is_file() for o in outputs):
            return None
        known = {f.name for f in dataclasses.fields(MakeResult)} - {"input", "ok", "skipped"}
        summary = rec.get("result") if isinstance(rec.get("result"), dict) else {}
        try:
            return MakeResult(input=str(path), ok=True, skipped=True,
                              **{k: v for k, v in summary.items() if k in known})
        except TypeError:
            return None

    def record(self, path: Path, result: "MakeResult") -> None:
        files = list(result.outputs) + [p for p in (result.sheet, result.zip) if p]
        summary = {k: v for k, v in result.to_dict().items()
                   if k not in ("input", "ok", "skipped", "stages", "seconds")}
        rec = {"format": LEDGER_FORMAT, "version": 1, "options": self.options,
               "input": _input_key(path), "outputs": files, "result": summary}
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
        except OSError:
            pass  # resume is a convenience: a read-only ledger must not fail the batch


# ---------------------------------------------------------------------------------- the batch --

def run_batch(files: Sequence[Path], config: "MakeConfig", progress: Optional[ProgressFn] = None,
              debug: bool = False, warn: Optional[Callable[[str], None]] = None) -> list["MakeResult"]:
    """Results of `make_one` on every file, in input order (skipped ones marked `skipped`).

    files: already expanded, validated, targets checked; config.output exists when it is a folder.
    """
    from .core.atomic import record_completed, remove_stray_temporaries

    n = len(files)
    results: list[Optional[MakeResult]] = [None] * n
    # a ledger only for several inputs: one selfie's pack folder holds the stickers alone
    ledger = Ledger(config.output, options_hash(config)) if n > 1 else None
    todo: list[int] = []
    for i, f in enumerate(files):
        results[i] = ledger.finished(f) if ledger else None
        if results[i] is None:
            todo.append(i)
    finished = n - len(todo)

    def collect(i: int, result: "MakeResult") -> None:
        nonlocal finished
        results[i] = result
        finished += 1
        if result.ok and (config.ray is not None or config.jobs > 1):  # written by a worker
            record_completed(list(result.outputs) + [p for p in (result.sheet, result.zip) if p])
        if ledger is not None and result.ok:
            ledger.record(files[i], result)
        if progress:
            progress(finished, n, files[i].name)

    if progress and finished:
        progress(finished, n, "(already done)")
    try:
        if config.ray is not None:
            _run_ray(files, todo, config, collect, debug)
        elif config.jobs > 1 and len(todo) > 1:
            _run_processes(files, todo, config, collect, debug)
        else:
            for i in todo:
                collect(i, make_one(str(files[i]), config, n, debug, warn))
    except KeyboardInterrupt:  # SIGINT/SIGTERM (core.signals): the CLI reports what was left
        from .pipeline import _all_targets

        for i in todo:
            if results[i] is None:
                for target in _all_targets(files[i], config, n):
                    remove_stray_temporaries(target)
        raise
    return [r for r in results if r is not None]


def _worker_died(src: Path, exc: BaseException) -> "MakeResult":
    from .pipeline import MakeResult

    return MakeResult(input=str(src), ok=False, exit_code=1,
                      error=f"worker failed: {type(exc).__name__}: {exc}")


def _run_processes(files: Sequence[Path], todo: list[int], config: "MakeConfig",
                   collect: Callable[[int, "MakeResult"], None], debug: bool) -> None:
    """--jobs N: spawned processes (safe with torch/dlib state); one crash cannot take others down."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(config.jobs, len(todo)), mp_context=ctx)
    try:
        futures = {pool.submit(_make_one_in_process, str(files[i]), config, len(files), debug): i
                   for i in todo}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # the worker process died (e.g. killed for memory)
                if debug:
                    raise
                result = _worker_died(files[i], exc)
            collect(i, result)
    except BaseException:  # interrupted: stop the workers (each removes its temporary files)
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------ Ray --

@dataclasses.dataclass(frozen=True)
class RayPlan:
    """How many actors, and what each asks the cluster for."""

    workers: int
    cpus_per_worker: float
    gpus_per_worker: float


def plan_workers(resources: dict[str, float], n_inputs: int, gpus_per_worker: float) -> RayPlan:
    """Size the actor pool from the cluster's resources (`ray.cluster_resources()`).

    One CPU per worker; with gpus_per_worker > 0 the GPUs bound the pool too (0.5 → two workers
    share a GPU). Never more workers than inputs.
    """
    cpus = float(resources.get("CPU", 0))
    if cpus < 1:
        raise DependencyError("the Ray cluster has no CPU to run a worker on")
    workers = int(cpus)
    if gpus_per_worker > 0:
        gpus = float(resources.get("GPU", 0))
        if gpus < gpus_per_worker:
            raise DependencyError(f"--gpus-per-worker {gpus_per_worker:g}: the Ray cluster has "
                                  f"{gpus:g} GPUs")
        workers = min(workers, int(gpus / gpus_per_worker + 1e-9))
    return RayPlan(max(1, min(workers, n_inputs)), 1.0, gpus_per_worker)


class MakeWorker:
    """A Ray actor's state: the batch's options, kept for every input it is sent.

    The landmark backend, style engine and generators are cached per process by the modules that
    load them, so an actor loads each once, on its first input.
    """

    def __init__(self, config: "MakeConfig", n_inputs: int, probe: str, debug: bool):
        self.config, self.n_inputs, self.debug = config, n_inputs, debug
        self.shared = Path(probe).is_file()
        if self.config.device == "auto" and _ray_gpu_ids():
            self.config = dataclasses.replace(self.config, device="cuda")

    def sees_output(self) -> bool:
        return self.shared

    def run(self, src: str, data: Optional[bytes]) -> tuple["MakeResult", Optional[dict[str, bytes]]]:
        """Make one input. data=None: read `src` and write the outputs in place (shared storage);
        else `data` is the input's bytes, and the outputs come back as {file name: bytes}."""
        if data is None:
            return make_one(src, self.config, self.n_inputs, self.debug), None
        with tempfile.TemporaryDirectory(prefix="emoget-ray-") as tmp:
            local_in = Path(tmp) / "in" / Path(src).name
            local_in.parent.mkdir()
            local_in.write_bytes(data)
            out = Path(tmp) / "out"
            out.mkdir()
            cfg = dataclasses.replace(self.config, output=out, output_is_folder=True)
            result = make_one(str(local_in), cfg, self.n_inputs, self.debug)
            blobs = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} if result.ok else {}
        return result, blobs


def _ray_gpu_ids() -> list:
    try:
        import ray

        return list(ray.get_gpu_ids())
    except Exception:  # not inside a Ray worker
        return []


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DependencyError("--ray needs Ray: pip install -e \".[ray]\" (it leaves torch as it "
                              "is)") from None
    return ray


def _connect(ray, address: str) -> bool:
    """Join `address` ('auto' or HOST:PORT) or start a local cluster ('local'); True when we
    started it (and so must stop it)."""
    if ray.is_initialized():
        return False
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 configure_logging=True)
    try:
        if address != "local":
            ray.init(address=address, **quiet)
            return False
        ray.init(**quiet)
        return True
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise DependencyError(f"--ray {address}: cannot reach the Ray cluster: "
                              f"{' '.join(str(exc).split())[:200]}") from None


def _run_ray(files: Sequence[Path], todo: list[int], config: "MakeConfig",
             collect: Callable[[int, "MakeResult"], None], debug: bool) -> None:
    if not todo:
        return
    ray = _import_ray()
    started = _connect(ray, config.ray or "local")
    actors: list = []
    pending: dict[Any, tuple[int, Any]] = {}  # object ref → (input index, actor)
    probe = _write_probe(config)
    try:
        plan = plan_workers(ray.cluster_resources(), len(todo), config.gpus_per_worker)
        actor_cls = ray.remote(num_cpus=plan.cpus_per_worker, num_gpus=plan.gpus_per_worker,
                               max_restarts=0)(MakeWorker)
        actors = [actor_cls.remote(config, len(files), str(probe) if probe else "", debug)
                  for _ in range(plan.workers)]
        shared = probe is not None and all(ray.get([a.sees_output.remote() for a in actors]))
        if not shared and config.keep_intermediate is not None:
            raise UsageError("--keep-intermediate with --ray needs an output folder that the "
                             "workers share")
        queue = iter(todo)

        def submit(actor) -> bool:
            i = next(queue, None)
            if i is None:
                return False
            data = None if shared else _read_input(files[i])
            pending[actor.run.remote(str(files[i]), data)] = (i, actor)
            return True

        for actor in actors:
            for _ in range(IN_FLIGHT_PER_WORKER):
                submit(actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            i, actor = pending.pop(ready[0])
            try:
                result, blobs = ray.get(ready[0])
                if blobs:
                    result = _write_returned(files[i], config, len(files), result, blobs)
            except Exception as exc:  # the actor died, or the driver could not write
                if debug:
                    raise
                result = _worker_died(files[i], exc)
            collect(i, result)
            submit(actor)
    except BaseException:
        # Non-forced: a running task gets KeyboardInterrupt and removes its temporary files.
        for ref in pending:
            ray.cancel(ref, force=False)
        if pending:
            ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_GRACE_S)
        raise
    finally:
        for actor in actors:
            ray.kill(actor)
        if probe is not None:
            probe.unlink(missing_ok=True)
        if started:
            ray.shutdown()


def _write_probe(config: "MakeConfig") -> Optional[Path]:
    """A uniquely named file in the output folder: a worker that sees it shares our storage."""
    folder = config.output if config.output.is_dir() else config.output.parent
    probe = folder / f".emoget-ray-probe-{secrets.token_hex(8)}"
    try:
        probe.write_bytes(b"")
    except OSError:
        return None
    return probe


def _read_input(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_SENT_INPUT_BYTES:
        raise OutputError(f"{path}: {size} bytes is too large to send to a Ray worker "
                          f"(limit {MAX_SENT_INPUT_BYTES}); use storage the workers share")
    return path.read_bytes()


def _write_returned(src: Path, config: "MakeConfig", n_inputs: int, result: "MakeResult",
                    blobs: dict[str, bytes]) -> "MakeResult":
    """Write a worker's returned files where a local run would have, and point the result there.

    All or nothing: a file that cannot be written removes the ones written before it."""
    from .core.atomic import write_bytes_atomic
    from .pipeline import _all_targets

    targets = {p.name: p for p in _all_targets(src, config, n_inputs)}
    unexpected = sorted(set(blobs) - set(targets))
    if unexpected:  # a name the local run would not write: never leave the folder
        raise OutputError(f"worker returned an unexpected file {unexpected[0]!r}")
    written: dict[str, str] = {}
    try:
        for name, data in blobs.items():
            written[name] = str(write_bytes_atomic(targets[name], data))
    except BaseException:
        for path in written.values():
            Path(path).unlink(missing_ok=True)
        raise

    def here(path: Optional[str]) -> Optional[str]:
        return written.get(Path(path).name) if path else None

    return dataclasses.replace(result, input=str(src), outputs=[here(o) for o in result.outputs],
                               sheet=here(result.sheet), zip=here(result.zip))

