"""A machine-wide limit on concurrent trainings, and a first-come queue for the visitors who wait.

Every web process on a machine (one `streamlit run`, or each replica behind a load balancer)
shares one folder. Training slot K is an flock on `slot-K.lock`: the kernel releases it when its
holder dies, however it dies, so a crashed server never keeps a slot. A waiting visitor holds a
ticket file named by its arrival time; only the first `limit` tickets may take a slot, so
trainings start in the order they were asked for, whichever process asked.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
import uuid
from pathlib import Path

LIMIT_ENV, DIR_ENV = "DENOISER_MAX_TRAININGS", "DENOISER_TRAINING_DIR"


def default_limit() -> int:
    """Concurrent trainings on this machine: $DENOISER_MAX_TRAININGS, else one core fewer than it has (at least 1).

    One core is left to the web processes, so the pages stay quick while trainings run."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return max(1, len(os.sched_getaffinity(0)) - 1)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{LIMIT_ENV} must be a whole number >= 1; got {text!r}")
    return int(text)


def default_folder() -> Path:
    """Where the slots and the queue live: $DENOISER_TRAINING_DIR, else one folder per user in the temp dir."""
    return Path(os.environ.get(DIR_ENV) or Path(tempfile.gettempdir()) / f"denoiser-trainings-{os.getuid()}")


class Slot:
    """A held training slot; `release()` frees it (so does the holder's death)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops its flock
            self._fd = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


class Ticket:
    """One visitor's place in the machine-wide queue for a training slot."""

    def __init__(self, limit: int | None = None, folder: Path | None = None) -> None:
        self.limit = default_limit() if limit is None else limit
        if self.limit < 1:
            raise ValueError(f"limit must be >= 1; got {self.limit}")
        self.folder = default_folder() if folder is None else Path(folder)
        (self.folder / "queue").mkdir(parents=True, exist_ok=True)
        # Arrival time first, so the names sort in arrival order; the pid tells a dead owner's ticket.
        self.path = self.folder / "queue" / f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex}"
        self.path.touch()

    def place(self) -> int:
        """1 for the next visitor to start, 2 for the one after, ...; 0 once the ticket is used or cancelled."""
        names = sorted(p.name for p in (self.folder / "queue").iterdir())
        live = []
        for name in names:
            if _alive(int(name.split("-")[1])):
                live.append(name)
            else:  # its server died while the visitor waited
                (self.folder / "queue" / name).unlink(missing_ok=True)
        return live.index(self.path.name) + 1 if self.path.name in live else 0

    def try_start(self) -> Slot | None:
        """A training slot if this ticket is among the first `limit` and a slot is free; else None."""
        place = self.place()
        if place == 0 or place > self.limit:
            return None
        for k in range(self.limit):
            fd = os.open(self.folder / f"slot-{k}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.cancel()
            return Slot(fd)
        return None

    def cancel(self) -> None:
        """Leave the queue (a slot was taken, or the visitor stopped waiting)."""
        self.path.unlink(missing_ok=True)
