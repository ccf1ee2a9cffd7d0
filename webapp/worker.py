"""On-page trainings in a process of their own, so that a training never holds the web server's interpreter lock.

The web process keeps a small `Pool` of workers, each a `multiprocessing.Process` started on first
use (or ahead of it, `Pool.warm`) and reused. A request names what to train; the worker loads the
shipped model and the offline digits itself (nothing large crosses the pipe on the way in), trains,
and sends back progress and, at the end, the checkpoint bytes. Messages are pickled over a
`multiprocessing.Pipe`, between this package's own processes only. A "cancel" from the web process
stops the run at its next step; a worker that dies mid-run is noticed at once (the pipe closes)
and replaced by the next request; one that stops answering, or runs past its request's deadline, is
killed from the web side (`Worker.receive`).

    request  {"arch", "scratch", "config": TrainConfig (with what it learns from: its targets), "digits",
              "holdout", "curriculum"}
    replies  ("progress", {"step", "total_steps", "epoch", "loss", "images_per_s", "losses"})
             ("done", {"bytes", "before", "after", "shipped", "losses", "steps", "seconds", "stopped_early",
                       "cancelled"})
             ("error", "one line for the visitor")
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

PROGRESS_SECONDS = 0.25  # how often a worker reports progress: the page redraws at most once a second anyway
WORKER_NAME = "webapp.worker"  # a worker's process name, as ps shows it (at most 15 characters)
WORKER_NICE = 10  # trainings are background work: the web processes' reruns come first on a busy machine
DRAIN_SECONDS = 30.0  # how long a cancelled run may take to stop before its worker is killed
# A busy worker reports every PROGRESS_SECONDS; one silent this long is stopped (SIGSTOP, a deadlock, swapped
# out) and is killed: its own time limit runs inside it and cannot fire. Generous: a worker started afresh
# imports torch and loads the digits before its first report, at a low priority on a busy machine.
SILENT_SECONDS = 45.0
# Forking a process that runs threads is safe enough on Linux; macOS's system libraries may crash the copy.
CAN_FORK = sys.platform.startswith("linux")


class WorkerDied(RuntimeError):
    """The training process ended without a result (killed, or out of memory)."""


class WorkerStuck(WorkerDied):
    """The training process stopped answering, or ran past its deadline; it has been killed."""


class Worker:
    """One training process (a `multiprocessing.Process`) and the web process's end of its pipe.

    Forked from the calling process where it can be (`fork=True`, Linux): the copy shares that process's
    memory until either writes to it, so torch's libraries and the ~280 MB that importing it allocates
    are held once for both. Fork only where no other thread is inside torch (a lock one holds would stay
    locked in the copy): the server forks its first worker while it starts. Otherwise, or when the fork
    fails (no memory for the copy's page tables, a process limit), a fresh interpreter is spawned."""

    def __init__(self, fork: bool = False) -> None:
        self.process, self.conn = _start(fork and CAN_FORK)
        self.busy = False  # a request was sent and its final reply not yet received
        self.heard = time.monotonic()  # when the worker last answered (or was last sent a request)
        self.deadline = float("inf")  # when the request being run must have ended (monotonic clock)

    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, message: object, limit: float | None = None) -> None:
        """Send a request (a dict) or "cancel"; a request must have ended within `limit` seconds, if given."""
        try:
            self.conn.send(message)
        except OSError as err:
            raise WorkerDied(f"the training process ended ({err})") from None
        if isinstance(message, dict):
            self.busy, self.heard = True, time.monotonic()
            self.deadline = self.heard + limit if limit is not None else float("inf")

    def receive(self, timeout: float) -> tuple[str, object] | None:
        """The next reply, or None if none came within `timeout` seconds.

        WorkerDied if the process ended; WorkerStuck (the process killed) if a busy worker has been silent for
        `SILENT_SECONDS` or is past its request's deadline."""
        try:
            if not self.conn.poll(timeout):
                self._check_deadlines()
                return None
            kind, body = self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise WorkerDied(f"the training process ended (exit status {self.process.exitcode})") from None
        self.heard = time.monotonic()
        if kind != "progress":
            self.busy = False
        else:  # a run that reports progress more often than `timeout` must be held to its deadline too
            self._check_deadlines()
        return kind, body

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        if not self.busy or (now - self.heard < SILENT_SECONDS and now < self.deadline):
            return
        self.stop()
        if now >= self.deadline:
            raise WorkerStuck("the training process ran past its time limit and was stopped")
        raise WorkerStuck(f"the training process stopped answering for {now - self.heard:.0f} s and was stopped")

    def stop(self) -> None:
        """End the process (a busy or broken worker is not reused)."""
        self.conn.close()
        if self.alive():
            self.process.kill()
        self.process.join()


def _start(fork: bool) -> tuple[multiprocessing.Process, Connection]:
    """A started worker process and the web process's end of its pipe: forked if asked and possible."""
    for method in ("fork", "spawn") if fork else ("spawn",):
        context = multiprocessing.get_context(method)
        ours, theirs = context.Pipe()
        # daemon: a server that exits ends its workers (multiprocessing terminates daemonic children at exit)
        process = context.Process(target=_main, args=(theirs, ours if method == "fork" else None), daemon=True)
        try:
            process.start()
        except OSError:  # the fork failed: a fresh interpreter may still start
            ours.close()
            theirs.close()
            continue
        theirs.close()  # the child's end, held only by the child: its death closes the pipe for us at once
        return process, ours
    raise WorkerDied("no training process could be started")


def _main(conn: Connection, server_end: Connection | None) -> None:
    """The worker process: a forked copy first drops all that is the server's; then it answers requests."""
    if server_end is not None:
        _drop_the_servers(conn, server_end)
    with contextlib.suppress(OSError):  # Linux: how ps and the load reports tell it from the server
        Path("/proc/self/comm").write_text(WORKER_NAME)
    os.nice(WORKER_NICE)
    serve(conn)


def _drop_the_servers(conn: Connection, server_end: Connection) -> None:
    """In a forked copy: close the server's files and sockets, reset its signals and streams."""
    gc.freeze()  # the server's objects are never collected here: their finalizers would close its files
    server_end.close()
    keep = conn.fileno()
    # The server's listening socket and its visitors' connections: held here, they would outlive the server.
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)  # the server's event loop's, closed above: a file opened here could take its number
    # New stream objects: a thread of the server's (none runs here) may have held the old ones' locks.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - open for the process's life
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


class Pool:
    """The web process's training workers: an idle one is reused, else a new one is started."""

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep  # idle workers kept for the next request
        self._idle: list[Worker] = []
        self._taken = 0  # workers handed out and not yet given back
        self._lock = threading.Lock()

    def take(self) -> Worker:
        with self._lock:
            self._taken += 1
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return Worker()

    def warm(self, fork: bool = False) -> None:
        """Start a worker ahead of the first request (forked: see `Worker`), if this pool has none at all.

        A worker takes seconds to start (Python, torch, the digits): started when a visitor opens
        the training controls, it is ready by the time they press the button. Never a second one
        beside a running training: each worker holds its own copy of torch in memory."""
        with self._lock:
            if self._taken or any(worker.alive() for worker in self._idle):
                return
            self._idle.append(Worker(fork))

    def give_back(self, worker: Worker, on_idle=None) -> None:
        """Return a worker after its run. A run still going (cancelled) is drained in the background first;
        `on_idle` is called once the worker is idle or gone (the caller frees its training slot there)."""
        if worker.busy and worker.alive():
            threading.Thread(target=self._drain, args=(worker, on_idle), daemon=True).start()
            return
        self._keep_or_stop(worker)
        if on_idle:
            on_idle()

    def _drain(self, worker: Worker, on_idle) -> None:
        try:
            worker.send("cancel")
            deadline = time.monotonic() + DRAIN_SECONDS
            while worker.busy and time.monotonic() < deadline:
                worker.receive(timeout=1.0)
        except WorkerDied:
            pass
        if worker.busy:
            worker.stop()
        self._keep_or_stop(worker)
        if on_idle:
            on_idle()

    def _keep_or_stop(self, worker: Worker) -> None:
        with self._lock:
            self._taken -= 1
            if worker.alive() and not worker.busy and len(self._idle) < self.keep:
                self._idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


# ---- the worker process -------------------------------------------------------------------------


def _run(request: dict, conn: Connection, digits) -> dict:
    """Train what `request` asks for, reporting progress on `conn`; the "done" reply's body."""
    from denoiser import data, weights
    from denoiser.evaluate import curriculum_psnr
    from denoiser.train import train

    train_set, held_out = data.split_holdout(digits, request["holdout"], seed=0)
    arch, curriculum = request["arch"], request["curriculum"]
    shipped_model = _shipped(arch)  # also what a retraining from scratch is compared with
    shipped = curriculum_psnr(shipped_model, held_out, curriculum)["psnr"] if shipped_model is not None else None
    # Damaged or missing shipped weights: a retraining from scratch still works
    model = weights.build_model(arch, seed=0) if request["scratch"] or shipped_model is None else shipped_model
    before = shipped if model is shipped_model else curriculum_psnr(model, held_out, curriculum)["psnr"]
    losses, sent, cancelled = [], [0, time.monotonic()], [False]

    def on_step(info) -> bool:
        losses.append(info.loss)
        if conn.poll():  # the only message a busy worker gets is "cancel" (or EOF: the server is gone)
            cancelled[0] = True
            return True
        if time.monotonic() - sent[1] >= PROGRESS_SECONDS or info.step == info.total_steps:
            body = {k: getattr(info, k) for k in ("step", "total_steps", "epoch", "loss", "images_per_s")}
            conn.send(("progress", body | {"losses": losses[sent[0] :]}))
            sent[:] = [len(losses), time.monotonic()]
        return False

    result = train(model, train_set.subset(slice(0, request["digits"])), request["config"], on_step=on_step)
    after = before if cancelled[0] else curriculum_psnr(model, held_out, curriculum)["psnr"]
    meta = {"retrained_in": "app", "train": request["config"].to_dict(),  # how it trained, as `train` records it
            "retrain": {k: v for k, v in request.items() if k not in ("config", "curriculum")}}  # fmt: skip
    return {"bytes": weights.checkpoint_bytes(arch, model, meta), "before": before, "after": after, "losses": losses,
            "shipped": shipped, "steps": result.steps, "seconds": result.seconds,
            "stopped_early": result.stopped_early, "cancelled": cancelled[0]}  # fmt: skip


def _shipped(arch: str):
    """The shipped model `arch`, or None if its weights are damaged or missing."""
    from denoiser import weights

    try:
        return weights.load_pretrained(arch)
    except weights.WeightsError:
        return None


def serve(conn: Connection) -> None:
    """Answer requests until the web process closes its end."""
    import torch

    from denoiser import data

    torch.set_num_threads(1)
    try:  # before the first request, so that a worker started ahead of it is ready to train
        digits = data.load_sample()
    except data.DataUnavailableError:  # reported to the visitor with the first request
        digits = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if not isinstance(request, dict):  # a "cancel" that arrived after its run had ended
            continue
        try:
            digits = digits if digits is not None else data.load_sample()
            conn.send(("done", _run(request, conn, digits)))
        except (EOFError, OSError):
            return
        except Exception as err:  # reported to the visitor; the worker stays up for the next request
            conn.send(("error", f"{type(err).__name__}: {err}"[:500]))
