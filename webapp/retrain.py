"""The app's Retrain tab: train a model for one visitor's session, with live progress.

The retrained model is a copy: it lives in this visitor's `st.session_state["retrained"]` and
never replaces the shipped weights on disk or another visitor's model. The training itself runs in
a worker process (`webapp.worker`), so it never holds the web process's interpreter lock while
other visitors move sliders. A machine-wide limit (`denoiser.slots`: one core fewer than the
machine has, `DENOISER_MAX_TRAININGS`) is shared by every server on the machine; visitors beyond
it wait in one queue, their place shown. A training stops after `TRAIN_SECONDS`, when the visitor
changes the page, or when they close the tab.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import streamlit as st

from denoiser import weights
from denoiser.noise import NOISE_KINDS, NoiseRange
from denoiser.noisy_targets import sound_loss
from denoiser.train import TrainConfig

from . import figures, slots, view, worker

TRAIN_SECONDS = 60.0  # a retraining stops after this wall time, whatever its settings
# The worker measures the model before and after, and may first have to start: a run not over this long after
# TRAIN_SECONDS is killed from here (the limit inside the worker cannot fire in a stopped process).
FINISH_SECONDS = 45.0
# How often a training redraws its progress bar and its loss curve. Every redraw costs the visitor's
# browser a render of the page, and a plotly chart more. At 4 and 1 per second, with st.status's
# spinner, a training page took 0.26 of a core in headless Chromium; at 1 and 1/5 without it, 0.10
# (`python -m scripts.abandon_test --keep-open --settle 5 --watch 15`).
PROGRESS_SECONDS, CHART_SECONDS = 1.0, 5.0
HELD_OUT = 200  # sample digits never retrained on, to measure a retraining
QUEUE_SECONDS = 1.0  # how often a waiting visitor's place in the queue is refreshed


@st.cache_resource
def workers() -> worker.Pool:
    """This server's training processes, started on first use and reused."""
    return worker.Pool(keep=1)


# What the Retrain tab offers before a visitor changes anything, with the noise chosen in the sidebar
# (scripts/bench_speed.py times exactly this). Ten epochs on 4,000 digits take about 45 s on one core.
DEFAULT_SPEC = {"arch": "unet", "scratch": False, "epochs": 10, "digits": 4000, "targets": "clean"}
# What a retraining learns from (`TrainConfig.targets`): the tab's choices, and the line that says what each means.
LEARN_FROM = {
    "clean digits": ("clean", "a noisy digit in, its clean original out: how the shipped models learned"),
    "two noisy copies": ("noisy", "Noise2Noise: a noisy digit in, a second noisy copy out; the noise averages away"),
    "the noisy digits alone": ("self", "Noise2Self: a few pixels hidden, each guessed from its neighbours and "
                               "scored against its own noisy value"),
}  # fmt: skip


def default_curriculum(kind: str, level: float) -> tuple[NoiseRange, ...]:
    """Train at the noise on screen: its kind, and levels within about 0.1 of its level (on the slider's 0.05 grid)."""
    low, high = round(max(0.0, level - 0.1) * 20) / 20, round(min(1.0, level + 0.1) * 20) / 20
    return (NoiseRange(kind, low, high),)


def retrain_config(spec: dict) -> TrainConfig:
    """The training settings of a retraining: one thread, bounded by `TRAIN_SECONDS`."""
    lr = 3e-3 if spec["scratch"] else 3e-4  # gentler when fine-tuning the shipped weights
    targets = spec.get("targets", "clean")
    # Without clean targets the model's own loss may not fit the noise (`noisy_targets`): then the one that does
    loss = weights.REGISTRY[spec["arch"]].loss
    loss = loss if targets == "clean" else sound_loss(spec["curriculum"], loss)
    return TrainConfig(epochs=spec["epochs"], batch_size=64, lr=lr, loss=loss, curriculum=spec["curriculum"],
                       threads=1, max_seconds=TRAIN_SECONDS, targets=targets)  # fmt: skip


def learn_from_ui(curriculum: tuple[NoiseRange, ...]) -> str | None:
    """The "Learn from" choice as `TrainConfig.targets`; None (with the reason shown) if it cannot fit this noise."""
    labels = list(LEARN_FROM)
    choice = st.radio("Learn from", labels, key="retrain_targets", captions=[LEARN_FROM[k][1] for k in labels])
    targets = LEARN_FROM[choice][0]
    if targets != "clean" and curriculum and sound_loss(curriculum) is None:
        st.warning("Without clean digits, Poisson noise needs the mean (an L2 loss) and salt-and-pepper the "
                   "median (L1): train on one of them at a time.")  # fmt: skip
        return None
    return targets


def retrain_ui(kind: str, level: float) -> dict | None:
    """Training controls, defaulting to the noise on screen; their settings when "Retrain" is pressed, else None."""
    left, right = st.columns(2)
    arch = left.selectbox("Architecture", list(weights.REGISTRY), key="retrain_arch")
    start = left.radio("Start from", ("shipped weights", "scratch"), key="retrain_start", horizontal=True)
    epochs = left.number_input("Epochs", 1, 20, value=DEFAULT_SPEC["epochs"], key="retrain_epochs")
    sizes = (64, 250, 500, 1000, 2000, 4000)
    digits = right.select_slider("Training digits", sizes, value=DEFAULT_SPEC["digits"], key="retrain_digits")
    default = default_curriculum(kind, level)[0]
    kinds = right.multiselect("Noise kinds", NOISE_KINDS, default=[default.kind], format_func=view.KIND_LABELS.get,
                              key="retrain_kinds")  # fmt: skip
    default_levels = (default.low, default.high)
    levels = right.slider("Noise levels", 0.0, 1.0, default_levels, step=0.05, key="retrain_levels")
    curriculum = tuple(NoiseRange(k, *levels) for k in kinds)
    targets = learn_from_ui(curriculum)
    st.caption(f"Stops after {TRAIN_SECONDS:.0f} s at most. Changing anything on the page stops a training.")
    if not st.button("Retrain", key="retrain", type="primary", disabled=not kinds or targets is None):
        return None
    return {"arch": arch, "scratch": start == "scratch", "epochs": int(epochs), "digits": int(digits),
            "curriculum": curriculum, "targets": targets}  # fmt: skip


def visitor_connected() -> Callable[[], bool]:
    """A check that this visitor's browser is still connected; always True outside a server (AppTest)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return lambda: True
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def wait_for_slot(connected: Callable[[], bool]) -> slots.Slot | None:
    """A machine-wide training slot, waiting in the queue with the visitor's place shown; None if they gave up."""
    ticket, note, start = slots.Ticket(), st.empty(), time.monotonic()
    wait = float(os.environ.get("DENOISER_TRAIN_WAIT", "600"))  # seconds a visitor waits for a slot
    try:
        while time.monotonic() - start < wait and connected():
            slot = ticket.try_start()
            if slot is not None:
                note.empty()
                return slot
            # An st call every QUEUE_SECONDS also lets Streamlit stop this run if the visitor changes the page.
            note.info(f"Waiting for a training slot: number {ticket.place()} in the queue "
                      f"({time.monotonic() - start:.0f} s). Trainings run a few at a time here.")  # fmt: skip
            time.sleep(QUEUE_SECONDS)
        if connected():
            note.warning("The server is still busy training for other visitors. Please try again in a minute.")
        return None
    finally:
        ticket.cancel()


def worker_request(spec: dict) -> dict:
    """What the worker process is asked to train (see `webapp.worker`)."""
    return {"arch": spec["arch"], "scratch": spec["scratch"], "config": retrain_config(spec),
            "digits": spec["digits"], "holdout": HELD_OUT, "curriculum": spec["curriculum"]}  # fmt: skip


def relay(job: worker.Worker, spec: dict, connected: Callable[[], bool]) -> dict | None:
    """Draw the worker's progress (epoch, loss, images/s) and a live loss curve; its result, or None if the
    visitor closed the tab (Streamlit keeps the session then, so the training is stopped here)."""
    bar, chart, losses = st.progress(0.0, text="Starting…"), st.empty(), []
    drawn = {"bar": 0.0, "chart": 0.0}  # when each was last redrawn: every step would flood the browser
    while connected():
        reply = job.receive(timeout=0.5)
        if reply is None:
            continue
        kind, body = reply
        if kind != "progress":
            return body if kind == "done" else {"error": body}
        losses += body["losses"]
        now, last = time.monotonic(), body["step"] == body["total_steps"]
        if now - drawn["bar"] >= PROGRESS_SECONDS or last:
            drawn["bar"] = now
            bar.progress(body["step"] / body["total_steps"], text=f"Epoch {body['epoch']}/{spec['epochs']} · step "
                         f"{body['step']}/{body['total_steps']} · loss {body['loss']:.4f} · "
                         f"{body['images_per_s']:.0f} images/s")  # fmt: skip
        if now - drawn["chart"] >= CHART_SECONDS or last:
            drawn["chart"] = now
            chart.plotly_chart(figures.loss_figure(losses), key=f"loss_live_{body['step']}")
    return None


def train_in_worker(spec: dict) -> dict | None:
    """Queue, train in a worker process and relay its progress; the worker's result, or None (with a message)."""
    connected = visitor_connected()
    slot = wait_for_slot(connected)
    if slot is None:
        return None
    job = None
    try:
        # A bordered box, not st.status: its spinner animates all through a training, redrawing the
        # page many times a second in the visitor's browser (the progress bar shows that it runs).
        with st.container(border=True):
            st.markdown(f"**Retraining {spec['arch']}…**")
            job = workers().take()
            job.send(worker_request(spec), limit=TRAIN_SECONDS + FINISH_SECONDS)
            result = relay(job, spec, connected)
    except worker.WorkerDied as err:
        st.error(f"The training failed: {err}. Nothing else is affected; please try again.")
        return None
    finally:  # also when Streamlit stops this run: a training still going is cancelled, then its slot freed
        if job is None:
            slot.release()
        else:
            workers().give_back(job, on_idle=slot.release)
    if result is not None and "error" in result:
        st.error(f"The training failed ({result['error']}). Please try again.")
        return None
    return result


def retrain(spec: dict) -> None:
    """Retrain a copy of the model for this session only, then make it the session's denoiser."""
    result = train_in_worker(spec)
    if result is None:
        return
    _, model, _ = weights.load_checkpoint(result["bytes"])  # the same checks as any weights file
    limit = f", stopped at the {TRAIN_SECONDS:.0f} s limit" if result["stopped_early"] else ""
    how = f"{result['steps']} steps in {result['seconds']:.0f} s{limit}"
    st.session_state["retrained"] = {"arch": spec["arch"], "model": model, "before": result["before"],
                                     "after": result["after"], "losses": result["losses"], "bytes": result["bytes"],
                                     "how": how, "targets": spec["targets"], "shipped": result["shipped"],
                                     "run": _same_run(spec)}  # fmt: skip
    # This session's results by settings, so that a run without clean digits can be set beside the same on clean ones
    runs = st.session_state.setdefault("retrain_runs", {}).setdefault(_same_run(spec), {})
    runs[spec["targets"]] = {"after": result["after"], "how": how}
    st.session_state["select_model"] = "retrained"
    st.rerun()


def _same_run(spec: dict) -> tuple:
    """What makes two retrainings the same run but for what they learned from."""
    return spec["arch"], spec["scratch"], spec["epochs"], spec["digits"], spec["curriculum"]


def _revert() -> None:
    """Drop the session's retrained model and show the shipped one again."""
    st.session_state["select_model"] = st.session_state.pop("retrained")["arch"]  # the page checks it is available


def _summary(info: dict) -> str:
    """What the retrained model learned from, and its held-out PSNR against where it started and the shipped model."""
    label = next(name for name, (targets, _) in LEARN_FROM.items() if targets == info["targets"])
    shipped = f"; the shipped {info['arch']}: {info['shipped']:.2f} dB" if info["shipped"] is not None else ""
    return (f"Your session uses a retrained **{info['arch']}**, learned from {label}. Held-out PSNR "
            f"({HELD_OUT} digits): {info['before']:.2f} dB before, **{info['after']:.2f} dB** after "
            f"({info['how']}){shipped}.")  # fmt: skip


def _same_run_lines(info: dict) -> list[str]:
    """The same run's held-out PSNR in this session from what else it learned from (clean digits first)."""
    runs = st.session_state.get("retrain_runs", {}).get(info["run"], {})
    others = [(label, runs[targets]) for label, (targets, _) in LEARN_FROM.items()
              if targets in runs and targets != info["targets"]]  # fmt: skip
    return [f"The same run from {label}: {run['after']:.2f} dB ({run['how']}); this one "
            f"{info['after'] - run['after']:+.2f} dB." for label, run in others]  # fmt: skip


def retrained_ui() -> None:
    """The session's retrained model: held-out PSNR before and after, against the shipped model and the same run
    from other targets; the loss curve, revert and download."""
    info = st.session_state.get("retrained")
    if info is None:
        return
    st.success(_summary(info))
    for line in _same_run_lines(info):
        st.markdown(line)
    st.plotly_chart(figures.loss_figure(info["losses"]), key="loss_final")
    if info["targets"] != "clean":
        st.caption("Scored against noisy pixels, the loss levels off near the noise's own variance, not at zero.")
    left, right = st.columns(2)
    if left.button("Back to the shipped weights", key="revert"):
        _revert()
        st.rerun()  # the whole page: the model picker sits outside the tab's part of it
    right.download_button(
        "Download retrained weights", info["bytes"], f"{info['arch']}-retrained.pt", key="download_weights"
    )


def retrain_tab(kind: str, level: float) -> None:
    """The Retrain tab: controls, a training when asked, and the session's retrained model."""
    workers().warm()  # while the visitor picks the settings
    spec = retrain_ui(kind, level)
    if spec:
        retrain(spec)
    retrained_ui()
