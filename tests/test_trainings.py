"""On-page trainings: a worker process does the work, a machine-wide limit and queue decide who trains when.

Every training here is tiny (32 digits, one epoch) and every folder of slots is a fresh temporary one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from denoiser.noise import NoiseRange
from denoiser.train import TrainConfig
from denoiser.weights import load_checkpoint
from webapp import slots, worker

APP = str(Path(__file__).resolve().parent.parent / "app.py")

pytestmark = pytest.mark.training


def tiny_request(epochs: int = 1, digits: int = 32, max_seconds: float = 0.0) -> dict:
    curriculum = (NoiseRange("gaussian", 0.4, 0.6),)
    config = TrainConfig(epochs=epochs, batch_size=8, lr=1e-3, curriculum=curriculum, threads=1,
                         max_seconds=max_seconds)  # fmt: skip
    return {"arch": "seed-ae", "scratch": True, "config": config, "digits": digits, "holdout": 16,
            "curriculum": curriculum}  # fmt: skip


def finish(job: worker.Worker, timeout: float = 120.0, wait: float = 1.0) -> tuple[list[dict], tuple[str, object]]:
    """Every progress reply of the job, and its final reply, each waited for `wait` seconds at most."""
    progress, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = job.receive(timeout=wait)
        if reply is None:
            continue
        if reply[0] != "progress":
            return progress, reply
        progress.append(reply[1])
    raise AssertionError("the worker gave no result in time")


def worker_processes() -> list[int]:
    """The training processes this test process has started and that still run."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
            name = (stat.parent / "comm").read_text().strip()  # a forked worker names itself
        except OSError:  # ended meanwhile
            continue
        ours = int(fields[1]) == os.getpid() and fields[0] != "Z"
        if ours and (b"spawn_main" in command or name == worker.WORKER_NAME):  # spawned, or named by itself
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def pool():
    pool = worker.Pool(keep=1)
    yield pool
    pool.close()


def test_a_training_in_the_worker_reports_progress_and_returns_loadable_weights(pool):
    job = pool.take()
    assert job.process.pid != os.getpid()
    job.send(tiny_request())
    progress, (kind, result) = finish(job)
    assert kind == "done" and not result["cancelled"]
    assert progress and progress[-1]["step"] == progress[-1]["total_steps"] == result["steps"] == 4
    assert sum(len(p["losses"]) for p in progress) == len(result["losses"]) == 4  # the live curve misses no step
    name, _, meta = load_checkpoint(result["bytes"])
    assert name == "seed-ae" and meta["retrained_in"] == "app"
    assert torch.isfinite(torch.tensor([result["before"], result["after"]])).all()
    assert result["shipped"] > result["before"] + 3  # from scratch, set beside the shipped seed-ae on the same digits
    pool.give_back(job)
    assert pool.take() is job  # the process is reused: no second start-up


def test_a_worker_started_ahead_is_the_one_that_trains_and_never_a_second_beside_a_training(pool):
    """Opening the training controls starts a worker; pressing the button uses it; while it trains,
    no other worker is started (each holds its own torch in memory)."""
    others = set(worker_processes())  # other tests' pools
    pool.warm()
    pool.warm()  # the same visitor's next rerun
    ahead = set(worker_processes()) - others
    job = pool.take()
    started = job.process.pid
    assert ahead == {started}
    job.send(tiny_request())
    pool.warm()  # another visitor opens the controls during the training
    assert set(worker_processes()) - others == {started}
    assert finish(job)[1][0] == "done"
    pool.give_back(job)
    assert pool.take().process.pid == started


def test_a_forked_worker_trains_and_holds_none_of_the_servers_connections(pool):
    """Forked at the server's start, the worker shares its memory but not its sockets: a visitor's
    connection or the listening socket held open there would outlive the server."""
    listening = socket.create_server(("127.0.0.1", 0))
    try:
        pool.warm(fork=True)
        job = pool.take()
        child = job.process.pid
        job.send(tiny_request())
        assert finish(job)[1][0] == "done"  # by now the copy has set itself up
        assert (Path("/proc") / str(child) / "comm").read_text().strip() == worker.WORKER_NAME
        sockets = [fd for fd in (Path("/proc") / str(child) / "fd").iterdir() if "socket" in os.readlink(fd)]
        assert len(sockets) == 1  # its own end of the pipe to the server, nothing else
    finally:
        listening.close()
    os.kill(child, signal.SIGKILL)
    with pytest.raises(worker.WorkerDied):
        finish(job)
    pool.give_back(job)
    assert pool.take().process.pid != child  # a dead worker is replaced (by a spawned one)


def test_a_worker_that_cannot_be_forked_is_started_afresh(pool, monkeypatch):
    """A server that cannot fork (no memory for the copy, a process limit) still gets a worker that trains."""

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    pool.warm(fork=True)
    job = pool.take()
    job.send(tiny_request())
    assert finish(job)[1][0] == "done"
    assert "spawn_main" in (Path("/proc") / str(job.process.pid) / "cmdline").read_text()  # a fresh interpreter
    pool.give_back(job)


def test_a_worker_started_afresh_inside_a_streamlit_server_trains(pool, monkeypatch):
    """Streamlit makes app.py the server's main module, which multiprocessing's spawn runs again in the new
    process: that must not load the page (its drawing canvas registers only inside a server)."""
    import types

    main = types.ModuleType("__main__")
    main.__file__ = APP
    monkeypatch.setitem(sys.modules, "__main__", main)
    job = pool.take()
    job.send(tiny_request())
    assert finish(job)[1][0] == "done"


def test_a_cancelled_training_stops_early_and_frees_its_slot(pool, tmp_path):
    slot = slots.Ticket(limit=1, folder=tmp_path).try_start()
    job = pool.take()
    job.send(tiny_request(epochs=20, digits=512))
    assert job.receive(timeout=120) is not None  # running
    freed = []
    pool.give_back(job, on_idle=lambda: (slot.release(), freed.append(time.monotonic())))
    deadline = time.monotonic() + 60
    while not freed and time.monotonic() < deadline:
        time.sleep(0.1)
    assert freed, "a cancelled training kept its slot"
    assert slots.Ticket(limit=1, folder=tmp_path).try_start() is not None
    assert pool.take() is job and not job.busy  # drained, idle again and reused


def test_a_killed_worker_is_reported_and_the_next_training_works(pool):
    job = pool.take()
    job.send(tiny_request(epochs=20, digits=512))
    assert job.receive(timeout=120) is not None
    os.kill(job.process.pid, signal.SIGKILL)
    with pytest.raises(worker.WorkerDied, match="training process ended"):
        finish(job)
    pool.give_back(job)
    fresh = pool.take()
    assert fresh is not job
    fresh.send(tiny_request())
    assert finish(fresh)[1][0] == "done"


def test_a_stopped_worker_is_killed_and_replaced_and_frees_its_slot(pool, tmp_path, monkeypatch):
    """A worker that stops answering (here SIGSTOP) cannot hold the page or the machine's slot for ever."""
    monkeypatch.setattr(worker, "SILENT_SECONDS", 2.0)
    slot = slots.Ticket(limit=1, folder=tmp_path).try_start()
    job = pool.take()
    job.send(tiny_request(epochs=20, digits=512))
    assert job.receive(timeout=120) is not None  # running
    os.kill(job.process.pid, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(worker.WorkerStuck, match="stopped answering"):
        finish(job)
    assert time.monotonic() - started < 10
    assert not job.process.is_alive()  # killed, not left stopped
    freed = []
    pool.give_back(job, on_idle=lambda: (slot.release(), freed.append(True)))
    assert freed and slots.Ticket(limit=1, folder=tmp_path).try_start() is not None
    monkeypatch.undo()  # a worker started afresh is silent for seconds while it imports torch
    fresh = pool.take()
    assert fresh is not job
    fresh.send(tiny_request())
    assert finish(fresh)[1][0] == "done"


def test_a_run_past_its_deadline_is_killed_although_it_reports_progress(pool):
    """Its progress comes more often than each reply is waited for, so no wait runs out: the deadline is checked
    on each reply too (a run reporting progress all along ran to its end, however long)."""
    job = pool.take()
    job.send(tiny_request(epochs=200, digits=512), limit=3.0)
    started = time.monotonic()
    with pytest.raises(worker.WorkerStuck, match="time limit"):
        finish(job, wait=30.0)
    assert time.monotonic() - started < 10
    assert not job.process.is_alive()


def test_a_failing_request_is_an_error_reply_and_the_worker_carries_on(pool):
    job = pool.take()
    job.send(tiny_request() | {"arch": "no-such-model"})
    kind, message = finish(job)[1]
    assert kind == "error" and "no-such-model" in message
    job.send(tiny_request())
    assert finish(job)[1][0] == "done"


def test_the_limit_holds_and_visitors_start_in_the_order_they_came(tmp_path):
    first, second, third = (slots.Ticket(limit=2, folder=tmp_path) for _ in range(3))
    assert (first.place(), second.place(), third.place()) == (1, 2, 3)
    assert third.try_start() is None  # a free slot, but two visitors came before
    a, b = first.try_start(), second.try_start()
    assert a is not None and b is not None
    assert third.place() == 1 and third.try_start() is None  # both slots taken
    a.release()
    assert third.try_start() is not None


HOLD_A_SLOT = textwrap.dedent(
    """
    import sys, time
    from webapp import slots
    slot = slots.Ticket(limit=1, folder=sys.argv[1]).try_start()
    print("held" if slot else "none", flush=True)
    time.sleep(600)
    """
)


def test_another_process_holds_the_slot_until_it_dies(tmp_path):
    """Every server on the machine shares the limit, and a crashed one frees its slot."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_SLOT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        ticket = slots.Ticket(limit=1, folder=tmp_path)
        assert ticket.try_start() is None
        holder.kill()
        holder.wait()
        assert ticket.try_start() is not None
    finally:
        holder.kill()


def test_a_dead_servers_waiting_visitor_leaves_the_queue(tmp_path):
    ghost = slots.Ticket(limit=1, folder=tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ghost.path.rename(ghost.path.with_name(f"{0:020d}-{int(dead.stdout)}-ghost"))  # came first, then its server died
    mine = slots.Ticket(limit=1, folder=tmp_path)
    assert mine.place() == 1 and mine.try_start() is not None


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_wrong_training_limit_names_the_setting(monkeypatch, text):
    monkeypatch.setenv(slots.LIMIT_ENV, text)
    with pytest.raises(ValueError, match=slots.LIMIT_ENV):
        slots.default_limit()


def test_the_default_limit_leaves_a_core_to_the_pages(monkeypatch):
    monkeypatch.delenv(slots.LIMIT_ENV, raising=False)
    assert slots.default_limit() == max(1, len(os.sched_getaffinity(0)) - 1)


@pytest.mark.app
def test_a_visitor_whose_training_worker_stops_is_told_and_the_slot_is_freed(monkeypatch, tmp_path):
    """The Retrain tab's worker stops answering: the page says so instead of waiting for ever."""
    monkeypatch.setenv(slots.LIMIT_ENV, "1")
    monkeypatch.setenv(slots.DIR_ENV, str(tmp_path))
    monkeypatch.setattr(worker, "SILENT_SECONDS", 2.0)
    st.cache_resource.clear()  # a server of its own, whose start forks a worker
    others = set(worker_processes())
    try:
        app = AppTest.from_file(APP, default_timeout=90).run()
        app.session_state["view"] = "Retrain"
        app.run()  # the server's start forked a worker ahead of the button
        deadline = time.monotonic() + 10
        while not set(worker_processes()) - others and time.monotonic() < deadline:
            time.sleep(0.1)  # the copy names itself just after the fork
        (stuck,) = set(worker_processes()) - others
        os.kill(stuck, signal.SIGSTOP)
        app.select_slider(key="retrain_digits").set_value(64)
        app.button(key="retrain").click().run()
        assert not app.exception
        assert any("stopped answering" in e.value for e in app.error)
        assert "retrained" not in app.session_state
        assert stuck not in worker_processes()  # killed, not left stopped
        assert slots.Ticket(limit=1, folder=tmp_path).try_start() is not None
    finally:
        st.cache_resource.clear()


@pytest.mark.app
def test_a_visitor_waits_in_the_queue_then_hears_the_server_is_busy(monkeypatch, tmp_path):
    """With the machine's only slot held elsewhere, the Retrain tab shows the queue, then a busy notice."""
    monkeypatch.setenv(slots.LIMIT_ENV, "1")
    monkeypatch.setenv(slots.DIR_ENV, str(tmp_path))
    monkeypatch.setenv("DENOISER_TRAIN_WAIT", "1.5")
    held = slots.Ticket(limit=1, folder=tmp_path).try_start()
    try:
        app = AppTest.from_file(APP, default_timeout=90).run()
        app.session_state["view"] = "Retrain"
        app.run()
        app.select_slider(key="retrain_digits").set_value(64)
        app.button(key="retrain").click().run()
        assert not app.exception
        assert any("busy" in w.value for w in app.warning)
        assert "retrained" not in app.session_state
        assert not list((tmp_path / "queue").iterdir())  # the visitor left the queue
    finally:
        held.release()
        st.cache_resource.clear()
