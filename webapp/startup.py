"""A server's start: what is done once, before (or while) the first visitor's page is drawn."""

from __future__ import annotations

import gc

import streamlit as st
import torch

from . import cache, figures, retrain, streamlit_patch, tabs, view
from .resources import sample, sample_digit, shared_methods, shown


def prepare() -> list[str]:
    """The start-up every page run asks for, the shipped models loaded first; the names of the shared methods.

    Cached, so the first page run finds it done when `webapp.server` did it before the server opened."""
    models = shared_methods()
    prepare_server()  # after shared_methods() has loaded the models
    return models


@st.cache_resource
def prepare_server() -> None:
    """Once per server, after the models are loaded: the thread count, the sample, a frozen heap, a training worker.

    The heap: what is loaded once per server (torch, the models, the sample) is exempted from garbage collection.

    Streamlit runs a full `gc.collect(2)` after every rerun. Over the ~300,000 objects that torch,
    plotly and scipy leave on the heap it cost ~200 ms of CPU: ten times the rerun itself, and
    the first thing to saturate the CPU with many visitors. Frozen objects are skipped; whatever a
    session creates later is still collected as before.
    """
    torch.set_num_threads(view.SERVE_THREADS)  # process-wide; a training sets its own and restores this
    sample()
    warm_up()
    streamlit_patch.apply()  # a page that reconnects to a new session keeps answering its slider
    gc.collect()
    gc.freeze()
    # Forked now, while no visitor's run is inside torch: it shares this process's torch, models and digits.
    retrain.workers().warm(fork=True)


def warm_up() -> None:
    """Do once at start what would otherwise hold the interpreter lock in the middle of visitors' moves.

    Importing pandas for the first chart (a training's loss curve, say) took about a second, and the
    first call of each method and metric (lazy imports, first-call set-up) tens of milliseconds: with
    twenty visitors moving at that moment, each of their moves waited for it. The methods' and metrics'
    first calls are those of `precompute_default_page`."""
    figures.import_pandas()
    precompute_default_page()


def precompute_default_page() -> None:
    """Every shared method at every slider position on the page a new visitor opens, its pictures and its Batch and
    levels tabs (about 1 s of CPU, once; the models run on all 21 slider positions in one batch).

    Nearly every visitor of a hosted demo starts by moving the noise slider on this page; with its
    results computed once at start, those moves cost a lookup instead of every method's run."""
    clean = sample_digit(view.DEFAULTS["digit_class"], view.DEFAULTS["digit_index"])
    kind, seed = view.DEFAULTS["noise_kind"], view.DEFAULTS["noise_seed"]
    names = tuple(shared_methods())
    cache.precompute(clean, kind, view.SLIDER_LEVELS, seed, names)
    if view.DEFAULTS["model"] in names:  # and the pictures a move there shows, encoded (~0.1 s once)
        for level in view.SLIDER_LEVELS:
            noisy, outputs, _ = cache.shared_results(clean, kind, level, seed, names)
            for picture in (noisy[0], outputs[view.DEFAULTS["model"]][0]):
                shown(picture)
        tabs.precompute_batch(kind, seed, view.DEFAULTS["model"], view.SLIDER_LEVELS)
    tabs.precompute_levels(clean, kind, seed, names, view.SLIDER_LEVELS)
