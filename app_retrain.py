"""The app's Retrain tab: train a model in one visitor's session, with live progress.

The retrained model is a copy: it lives in this visitor's `st.session_state["retrained"]`
and never replaces the shipped weights on disk or another visitor's model. Two CPU cores are
shared by every visitor, so a server-wide semaphore (default 1, `DENOISER_MAX_TRAININGS`)
lets one training run at a time; others wait with a message. A training stops after
`TRAIN_SECONDS`, or at its next step when the visitor changes the page or leaves.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable

import streamlit as st
import torch

from denoiser import data, plots, view, weights
from denoiser.evaluate import curriculum_psnr
from denoiser.noise import NOISE_KINDS, NoiseRange
from denoiser.train import TrainConfig, train

TRAIN_SECONDS = 60.0  # a retraining stops after this wall time, whatever its settings
# How often a training redraws its progress bar and its loss curve. Every redraw costs the visitor's
# browser a render of the page, and a plotly chart more. At 4 and 1 per second, with st.status's
# spinner, a training page took 0.26 of a core in headless Chromium; at 1 and 1/5 without it, 0.10
# (`python -m scripts.abandon_test --keep-open --settle 5 --watch 15`).
PROGRESS_SECONDS, CHART_SECONDS = 1.0, 5.0
HELD_OUT = 200  # sample digits never retrained on, to measure a retraining
# While other visitors are using the page, a training is background work: after each step it sleeps
# YIELD_RATIO times as long as the step took (at most MAX_YIELD_SECONDS), so it takes about a third of
# a core and leaves the rest to their reruns. Alone on the server it runs flat out. A visitor counts
# as active for ACTIVE_SECONDS after a rerun of their page started.
YIELD_RATIO, MAX_YIELD_SECONDS, ACTIVE_SECONDS = 2.0, 0.5, 2.0
ShippedLoader = Callable[[str], tuple[torch.nn.Module | None, str]]


@st.cache_resource
def training_slots() -> threading.Semaphore:
    """The server-wide limit on concurrent trainings (default 1): two CPU cores are shared by every visitor."""
    return threading.Semaphore(int(os.environ.get("DENOISER_MAX_TRAININGS", "1")))


class Activity:
    """When each visitor's page last started a rerun: how a training tells whether others are using the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}  # session id -> time.monotonic() of its last rerun

    def touch(self, session: str) -> None:
        """Record that `session` started a rerun now."""
        now = time.monotonic()
        with self._lock:
            self._started[session] = now
            if len(self._started) > 1000:  # forget visitors long gone
                self._started = {s: t for s, t in self._started.items() if now - t < ACTIVE_SECONDS}

    def others_active(self, session: str, within: float = ACTIVE_SECONDS) -> bool:
        """Whether a session other than `session` started a rerun in the last `within` seconds."""
        now = time.monotonic()
        with self._lock:
            return any(s != session and now - t < within for s, t in self._started.items())


@st.cache_resource
def activity() -> Activity:
    """The server-wide record of visitors' reruns (the app touches it at the start of every rerun)."""
    return Activity()


def session_id() -> str:
    """This visitor's session id; "" outside a server (AppTest)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else ""


@st.cache_resource
def retrain_split(_digits: data.Digits) -> tuple[data.Digits, data.Digits]:
    """Digits to retrain on, and `HELD_OUT` others kept aside to measure the retrained model."""
    return data.split_holdout(_digits, HELD_OUT, seed=0)


# What the Retrain tab offers before a visitor changes anything, with the noise chosen in the sidebar
# (scripts/bench_speed.py times exactly this). Ten epochs on 4,000 digits take about 45 s on one core.
DEFAULT_SPEC = {"arch": "unet", "scratch": False, "epochs": 10, "digits": 4000}


def default_curriculum(kind: str, level: float) -> tuple[NoiseRange, ...]:
    """Train at the noise on screen: its kind, and levels within about 0.1 of its level (on the slider's 0.05 grid)."""
    low, high = round(max(0.0, level - 0.1) * 20) / 20, round(min(1.0, level + 0.1) * 20) / 20
    return (NoiseRange(kind, low, high),)


def retrain_config(spec: dict) -> TrainConfig:
    """The training settings of a retraining: one thread, bounded by `TRAIN_SECONDS`."""
    lr = 3e-3 if spec["scratch"] else 3e-4  # gentler when fine-tuning the shipped weights
    return TrainConfig(epochs=spec["epochs"], batch_size=64, lr=lr, loss=weights.REGISTRY[spec["arch"]].loss,
                       curriculum=spec["curriculum"], threads=1, max_seconds=TRAIN_SECONDS)  # fmt: skip


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
    st.caption(f"Stops after {TRAIN_SECONDS:.0f} s at most. Changing anything on the page stops a training.")
    if not st.button("Retrain", key="retrain", type="primary", disabled=not kinds):
        return None
    return {"arch": arch, "scratch": start == "scratch", "epochs": int(epochs), "digits": int(digits),
            "curriculum": tuple(NoiseRange(k, *levels) for k in kinds)}  # fmt: skip


def acquire_slot(slots: threading.Semaphore) -> bool:
    """Take a training slot, waiting with a message while other visitors train."""
    if slots.acquire(blocking=False):
        return True
    note, start = st.empty(), time.monotonic()
    wait = float(os.environ.get("DENOISER_TRAIN_WAIT", "120"))  # seconds a visitor waits for a slot
    while time.monotonic() - start < wait:
        note.info(f"Another visitor is training; yours starts when a slot frees up ({time.monotonic() - start:.0f} s).")
        if slots.acquire(timeout=1.0):  # the st call above lets Streamlit stop this run if the visitor leaves
            note.empty()
            return True
    note.warning("The server is still busy training for other visitors. Please try again in a minute.")
    return False


def visitor_connected() -> Callable[[], bool]:
    """A check that this visitor's browser is still connected; always True outside a server (AppTest)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return lambda: True
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def train_with_progress(model: torch.nn.Module, spec: dict, train_set: data.Digits, losses: list[float]) -> str:
    """Train `model` in place, drawing progress (epoch, loss, images/s) and a live loss curve; say how it went."""
    bar, chart, connected = st.progress(0.0, text="Starting…"), st.empty(), visitor_connected()
    drawn = {"bar": 0.0, "chart": 0.0}  # when each was last redrawn: every step would flood the browser
    session, stepped = session_id(), [time.monotonic()]  # when the last step (and this callback) ended

    def on_step(info) -> bool:
        if not connected():  # the tab was closed: Streamlit keeps the session, so stop the training here
            return True
        if activity().others_active(session):  # background work while other visitors use the page
            time.sleep(min(MAX_YIELD_SECONDS, YIELD_RATIO * (time.monotonic() - stepped[0])))
        losses.append(info.loss)
        now, last = time.monotonic(), info.step == info.total_steps
        if now - drawn["bar"] >= PROGRESS_SECONDS or last:
            drawn["bar"] = now
            bar.progress(info.step / info.total_steps, text=f"Epoch {info.epoch}/{spec['epochs']} · step {info.step}/"
                         f"{info.total_steps} · loss {info.loss:.4f} · {info.images_per_s:.0f} images/s")  # fmt: skip
        if now - drawn["chart"] >= CHART_SECONDS or last:
            drawn["chart"] = now
            chart.plotly_chart(plots.loss_figure(losses), key=f"loss_live_{info.step}")
        stepped[0] = time.monotonic()
        return False

    # The training runs in this visitor's script thread. It yields by sleeping between steps, not by
    # a lower OS priority: descheduled while holding the GIL, a niced training stalled the other
    # visitors' reruns (load test p95: 22 s).
    result = train(model, train_set.subset(slice(0, spec["digits"])), retrain_config(spec), on_step=on_step)
    limit = f", stopped at the {TRAIN_SECONDS:.0f} s limit" if result.stopped_early else ""
    return f"{result.steps} steps in {result.seconds:.0f} s{limit}"


def retrain(spec: dict, shipped: ShippedLoader, digits: data.Digits) -> None:
    """Retrain a copy of the model for this session only, then make it the session's denoiser."""
    if not acquire_slot(training_slots()):
        return
    try:
        # A bordered box, not st.status: its spinner animates all through a training, redrawing the
        # page many times a second in the visitor's browser (the progress bar shows that it runs).
        with st.container(border=True):
            st.markdown(f"**Retraining {spec['arch']}…**")
            base = shipped(spec["arch"])[0]
            model = (
                weights.build_model(spec["arch"], seed=0) if spec["scratch"] or base is None else copy.deepcopy(base)
            )
            (train_set, held_out), losses = retrain_split(digits), []
            before = curriculum_psnr(model, held_out, spec["curriculum"])["psnr"]
            how = train_with_progress(model, spec, train_set, losses)
            after = curriculum_psnr(model, held_out, spec["curriculum"])["psnr"]
    finally:
        training_slots().release()
    meta = {"retrained_in": "app", "train": {k: v for k, v in spec.items() if k != "curriculum"}}
    weights_bytes = weights.checkpoint_bytes(spec["arch"], model, meta)
    st.session_state["retrained"] = {"arch": spec["arch"], "model": model, "before": before, "after": after,
                                     "losses": losses, "bytes": weights_bytes, "how": how}  # fmt: skip
    st.session_state["select_model"] = "retrained"
    st.rerun()


def _revert() -> None:
    """Drop the session's retrained model and show the shipped one again (a button callback)."""
    st.session_state["model"] = st.session_state.pop("retrained")["arch"]  # the page checks it is available


def retrained_ui() -> None:
    """The session's retrained model: held-out PSNR before and after, loss curve, revert and download."""
    info = st.session_state.get("retrained")
    if info is None:
        return
    st.success(f"Your session uses a retrained **{info['arch']}**. Held-out PSNR ({HELD_OUT} digits): "
               f"{info['before']:.2f} dB before, **{info['after']:.2f} dB** after ({info['how']}).")  # fmt: skip
    st.plotly_chart(plots.loss_figure(info["losses"]), key="loss_final")
    left, right = st.columns(2)
    left.button("Back to the shipped weights", key="revert", on_click=_revert)
    right.download_button(
        "Download retrained weights", info["bytes"], f"{info['arch']}-retrained.pt", key="download_weights"
    )


def retrain_tab(shipped: ShippedLoader, digits: data.Digits, kind: str, level: float) -> None:
    """The Retrain tab: controls, a training when asked, and the session's retrained model."""
    spec = retrain_ui(kind, level)
    if spec:
        retrain(spec, shipped, digits)
    retrained_ui()
