"""The page's tabs: every method compared, PSNR across noise levels, a batch of digits, and Retrain.

Only the open tab is drawn, so a slider move recomputes only what is shown."""

from __future__ import annotations

import functools

import streamlit as st
import torch

from denoiser import metrics
from denoiser.evaluate import make_noisy, psnr_by_level
from denoiser.metrics import psnr_from_mse

from . import cache, figures, panel, retrain, view
from .panel import Picture
from .resources import method_for, readings, sample, session_methods, shown

TABS = ("Compare methods", "Across noise levels", "Batch", "Retrain")
RETRAIN = TABS[3]  # drawn by the whole page's run, not by the fragment that a slider move reruns (`retrain_view`)


BATCH = 10  # digits in the batch view


LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # x axis of the PSNR-vs-level chart


BATCH_SCALE = 3  # the batch view's small pictures: 84x84


def as_is_compare_tab(noisy: torch.Tensor, models: list[str]) -> None:
    """Every method on the picture as it is: noise level left and the classifier's reading of its result."""
    names = session_methods(models)
    outputs = {view.AS_IS_LABEL: noisy.unsqueeze(0)} | {
        name: method_for(name, "gaussian", 0.5)(noisy.unsqueeze(0)) for name in names
    }
    images = torch.cat(list(outputs.values()))
    strokes = outputs[names[0]][0]  # every row measured away from the strokes of the first model's digit
    rows = zip(outputs, metrics.background_noise(images, strokes), readings(images), strict=True)
    st.caption("Filters use their settings for Gaussian noise at level 0.5. Noise level: what is left on the "
               "background, away from the strokes.")  # fmt: skip
    table = [{"method": n, "noise level": f"{s:.3f}", "classifier reads": r} for n, s, r in rows]
    st.markdown(view.markdown_table(table, ("method", "noise level", "classifier reads")))


def compare_tab(rows: list[dict]) -> None:
    """Every method on the same noisy digit (`rows`, best first): a table, and its bar chart on request."""
    # A static table: the browser draws it in a few ms, where the interactive grid and the plotly
    # chart cost ~160 ms per slider move, times every visitor whose page is open on this tab.
    table = [
        {"method": row["method"]} | {k: view.format_metric(k, row[k]) for k in ("psnr", "ssim", "mse")} for row in rows
    ]
    st.markdown(view.markdown_table(table, ("method", "psnr", "ssim", "mse")))
    if st.toggle("Bar chart", key="compare_chart_on"):
        st.plotly_chart(figures.comparison_figure(rows), key="compare_chart")


def levels_tab(clean: torch.Tensor, kind: str, level: float, seed: int, models: list[str]) -> None:
    """PSNR against noise level for this digit and noise kind, every method, the current level marked."""
    clean = clean.unsqueeze(0)  # (1, 1, 28, 28)
    curves = dict(cache.level_curves(clean, kind, LEVELS, seed, tuple(models)))  # a copy: the cached one is shared
    if "retrained" in st.session_state:
        retrained = method_for("retrained", kind, level)  # one object at every level: one batch (`psnr_by_level`)
        curves["retrained"] = psnr_by_level(lambda _: {"retrained": retrained}, clean, kind, LEVELS, seed)["retrained"]
    st.plotly_chart(level_chart(tuple((k, tuple(v)) for k, v in curves.items()), level, kind), key="level_chart")


@functools.lru_cache(maxsize=1024)
def level_chart(curves: tuple[tuple[str, tuple[float, ...]], ...], level: float, kind: str):
    """The levels tab's figure, made once per server for its curves and level: the one of its curves, moved."""
    return figures.moved_to(_level_base(curves, kind), level)


@functools.lru_cache(maxsize=256)
def _level_base(curves: tuple[tuple[str, tuple[float, ...]], ...], kind: str) -> dict:
    """The levels tab's figure for `curves`, checked by plotly once, as a dict (`figures.moved_to` moves its mark)."""
    return figures.level_base(list(LEVELS), {name: list(psnrs) for name, psnrs in curves}, kind)


def precompute_levels(clean: torch.Tensor, kind: str, seed: int, names: tuple[str, ...], levels: list[float]) -> None:
    """The levels tab's figure of the page a new visitor opens, at every slider position."""
    curves = cache.level_curves(clean.unsqueeze(0), kind, LEVELS, seed, names)
    for level in levels:
        level_chart(tuple((k, tuple(v)) for k, v in curves.items()), level, kind)


def batch_digits(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The `BATCH` sample digits the noise seed chooses (BATCH, 1, 28, 28), and where they are in the sample."""
    order = torch.randperm(len(sample()), generator=torch.Generator().manual_seed(seed))[:BATCH]
    return sample().images[order], order


def batch_results(clean: torch.Tensor, kind: str, level: float, seed: int, name: str) -> tuple:
    """The noisy batch and method `name`'s output on it: shared methods' once per server, a retrained model's here."""
    if name == "retrained":
        noisy = make_noisy(clean, kind, level, seed)
        return noisy, method_for(name, kind, level)(noisy)
    return cache.batch_results(clean, kind, level, seed, name)


def precompute_batch(kind: str, seed: int, name: str, levels: list[float]) -> None:
    """The Batch tab of the page a new visitor opens, at every slider position, with its pictures encoded."""
    clean, _ = batch_digits(seed)
    for level in levels:
        for images in batch_results(clean, kind, level, seed, name):
            for digit in images:
                shown(digit, BATCH_SCALE)


def batch_tab(kind: str, level: float, seed: int, name: str) -> None:
    """Original / noisy / denoised rows for `BATCH` sample digits chosen by the noise seed, with PSNR."""
    clean, order = batch_digits(seed)
    noisy, denoised = batch_results(clean, kind, level, seed, name)
    labels = [str(int(c)) for c in sample().labels[order]]
    rows = []
    for title, images in (("Original", clean), ("Noisy", noisy), ("Denoised", denoised)):
        # PSNR alone, from the MSE: the captions show nothing else (SSIM cost most of a move here).
        mse = ((images - clean) ** 2).mean(dim=(1, 2, 3))
        captions = labels if title == "Original" else [view.format_metric("psnr", psnr_from_mse(float(m))) for m in mse]
        rows.append((title, [Picture(shown(x, BATCH_SCALE), c) for x, c in zip(images, captions, strict=True)]))
    st.markdown(panel.grid_html(rows), unsafe_allow_html=True)  # one element, not six (`panel`)


def tabs_ui(clean: torch.Tensor, noisy: torch.Tensor, rows: list[dict] | None, noise: tuple[str, float, int],
            name: str, models: list[str], as_is: bool) -> None:  # fmt: skip
    """The tabs; only the open one is drawn, so a slider move recomputes only what is shown.

    A segmented control, not st.tabs: st.tabs sends a block for every tab with every slider move, and
    each element a move sends costs the server ~0.3 ms of CPU, as much as the rest of a move."""
    kind, level, seed = noise
    st.session_state.setdefault("view", TABS[0])
    opened = st.segmented_control("View", TABS, key="view", required=True, label_visibility="collapsed",
                                  width="stretch")  # fmt: skip
    needs_original = lambda: st.info("This view adds noise to a clean digit: choose a noise kind to use it.")  # noqa: E731
    contents = {
        TABS[0]: (lambda: as_is_compare_tab(noisy, models)) if as_is else lambda: compare_tab(rows),
        TABS[1]: needs_original if as_is else lambda: levels_tab(clean, kind, level, seed, models),
        TABS[2]: needs_original if as_is else lambda: batch_tab(kind, level, seed, name),
        RETRAIN: lambda: None,  # drawn by the page (`retrain_view`)
    }
    if (opened == RETRAIN) != st.session_state.get("retrain_drawn", False):
        st.rerun()  # the Retrain view is opened or left: the whole page draws or removes it
    contents[opened]()


def retrain_opened() -> bool:
    """Whether the Retrain view is open. The page asks before its `results` fragment runs, which reruns the
    whole page when a visitor opens or leaves the view."""
    opened = st.session_state.get("view", TABS[0]) == RETRAIN
    st.session_state["retrain_drawn"] = opened
    return opened


def retrain_view(kind: str) -> None:
    """The Retrain view, drawn by the whole page's run after the `results` fragment: its ten training controls are
    then not sent again with every slider move (each element a move sends costs the server as much CPU as the
    rest of the move). The controls start from the noise on screen when the view is opened."""
    as_is = kind == view.AS_IS  # no noise is added: the default noise, as the other views use
    kind = view.DEFAULTS["noise_kind"] if as_is else kind
    retrain.retrain_tab(kind, view.DEFAULTS["noise_level"] if as_is else st.session_state["noise_level"])
