"""What keeps a long `train` run from being lost: one run per output file, and a clean stop on a signal.

A run that writes OUT holds OUT.lock (an flock, which the kernel releases when the process dies,
however it dies), checks that OUT's folder can be written and has room for what the run writes
before the first step, and keeps its state in OUT.resume until it finishes. A file that still
cannot be written (the disk filled up meanwhile) is kept in another folder that can be, and the
run says where. SIGINT (Ctrl-C) and SIGTERM ask it to stop after the current step, so that the
state it writes is a consistent one it can be resumed from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path


class RunBusyError(RuntimeError):
    """Another process is training into the same output file."""


def resume_path(out: Path) -> Path:
    """Where a run that writes `out` keeps its state until it finishes: beside it, as OUT.resume."""
    return out.with_name(out.name + ".resume")


def lock_path(out: Path) -> Path:
    return out.with_name(out.name + ".lock")


def check_writable(out: Path, flag: str = "--out") -> None:
    """ValueError naming `flag` unless a file can be written at `out` (its folder is created if missing)."""
    if out.is_dir():
        raise ValueError(f"{flag} {out} is a folder; name a file, e.g. {out / 'model.pt'}")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"{flag} {out} cannot be written ({blocking} is a file, not a folder)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(
            f"{flag} {out} cannot be written ({err.strerror or err}: {err.filename or out.parent})"
        ) from None


def bytes_to_write(n_parameters: int) -> int:
    """What a run writes beside OUT at most at once, in bytes: OUT (the weights) and OUT.resume (the weights
    again, Adam's two moments, the digits' order), each first as a temporary file, with room to spare."""
    return 2 * (4 * 4 * n_parameters) + 2**20


def check_space(out: Path, n_parameters: int) -> None:
    """OSError (exit status 1) unless OUT's folder has room for what a run of a model this size writes there."""
    need, free = bytes_to_write(n_parameters), shutil.disk_usage(out.parent).free
    if free < need:
        mb = lambda n: f"{n / 2**20:.1f} MB"  # noqa: E731
        raise OSError(f"{out.parent} has {mb(free)} free; the run writes about {mb(need)} there ({out.name} and "
                      f"{resume_path(out).name}): make room, or give another --out")  # fmt: skip


def write_or_keep(path: Path, data: bytes, write) -> Path:
    """`write(path, data)`; if `path` cannot be written, `data` is kept in the temporary or the home folder
    instead, and the one line on stderr says where. Returns where it is; OSError if nowhere could take it."""
    try:
        write(path, data)
        return path
    except OSError as err:
        reason = err.strerror or str(err)
        kept = _keep_elsewhere(path, data, write)
    if kept is None:
        raise OSError(f"{path} could not be written ({reason}), nor kept in {tempfile.gettempdir()} or {Path.home()}")
    print(f"{path} could not be written ({reason}); kept it as {kept}: move it there once there is room",
          file=sys.stderr)  # fmt: skip
    return kept


def _keep_elsewhere(path: Path, data: bytes, write) -> Path | None:
    for folder in (Path(tempfile.gettempdir()), Path.home()):
        kept = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            write(kept, data)
            return kept
        except OSError:
            continue
    return None


@contextlib.contextmanager
def claim(out: Path) -> Iterator[None]:
    """Hold OUT.lock for the block, or raise RunBusyError if another live process holds it.

    Under torchrun only rank 0 takes the lock: it alone writes OUT, and the other ranks of the
    same run would otherwise find the lock taken by their own rank 0."""
    import fcntl

    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    lock = lock_path(out)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunBusyError(
                f"another train run (pid {owner}) is writing {out}; wait for it to finish or choose another --out"
            ) from None
        # The holder we waited for may have unlinked the file meanwhile: lock the one at the path.
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)  # before closing: a waiting process then finds the path gone and retries
        os.close(fd)


class StopSignals:
    """Within the block, SIGINT and SIGTERM only set `signum`, for the training loop to stop after its step.

    A second signal raises KeyboardInterrupt: someone pressing Ctrl-C twice wants out now. Outside
    the main thread, where Python cannot install handlers, nothing changes."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum: int, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM); 0 if none came."""
        return 128 + self.signum if self.signum else 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""
