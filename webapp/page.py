"""The denoiser app's page: pick, draw or upload a digit, add noise, compare denoisers, retrain on the page.

`streamlit run app.py`. A `main()` and small `*_ui()` functions that draw widgets and return
values; every computation is in the `denoiser` package. The digit's sources are in `sources`, the
tabs in `tabs`, what the server shares between visitors in `resources`, its start in `startup`.
Widget keys are stable: the tests and the URL query parameters use them.
"""

from __future__ import annotations

import streamlit as st
import torch

from denoiser import methods, metrics
from denoiser.evaluate import rank
from denoiser.noise import NOISE_KINDS

from . import cache, panel, view
from .panel import Picture
from .resources import (
    SCALE,
    method_for,
    method_label,
    png,
    readings,
    row,
    session_methods,
    shown,
    unavailable_models,
)
from .sources import source_ui
from .startup import prepare
from .tabs import TABS, retrain_opened, retrain_view, tabs_ui

INTRO = "Noise is added to a handwritten digit and a denoiser removes it: the original, noisy and denoised digit."
MORE = """The three pictures are the **original** (28×28 pixels, MNIST style), the **noisy** one and the
**denoised** one. Under them, **MSE** (mean squared error, lower is better), **PSNR** (peak signal-to-noise
ratio in dB, higher is better; ∞ means identical) and **SSIM** (structural similarity, 1 is identical)
compare each with the original; the small numbers show what the denoiser changed. The noise kind, its seed
and the denoiser are in the sidebar. The tabs compare every method, sweep the noise level, show a batch of
digits, and let you retrain a model in your own session."""
NOISE_HELP = (
    "What is left on the digit's black background, away from its strokes (the root mean square of those "
    "pixels): noise. Sharp strokes are not counted, so a clean picture denoised stays at 0."
)
# On a phone (Streamlit stacks columns at 640 px and below): smaller figures and title, less space above
# the title, so that the pictures and the noise slider fit on the first screen. Sent with the whole page
# only, never with a slider move's rerun of the results.
PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3rem; }
  h1 { font-size: 1.6rem !important; padding-bottom: 0.25rem; }
  [data-testid="stMetricValue"] { font-size: 1.1rem; }
  [data-testid="stMetricLabel"] p { font-size: 0.75rem; }
  [data-testid="stMetricDelta"] { font-size: 0.7rem; }
  [data-testid="stImageCaption"], [data-testid="caption"] { font-size: 0.7rem; }
  /* The rows that never wrap (the as-it-is view, the picker's buttons) share the phone's width. */
  [class*="st-key-row-"] [data-testid="stColumn"] { min-width: 0 !important; }
}
</style>"""


def init_state(models: list[str]) -> None:
    """Give every widget its value before it is drawn: from the URL, else the defaults.

    On a session's first run this reads a shared link. Later, Streamlit drops the value of a
    widget that a run did not draw (the digit picker while drawing) or that an interrupted run
    had not reached yet; the URL mirrors the last complete run, so the value is restored from it.
    """
    state = st.session_state
    missing = [key for key in view.DEFAULTS if key not in state]
    if missing:
        values, notices = view.parse_query(st.query_params.to_dict(), models)
        if "started" not in state:
            state["notices"], state["started"] = notices, True
        defaults = view.DEFAULTS | {"model": view.DEFAULTS["model"] if view.DEFAULTS["model"] in models else models[0]}
        for key in missing:
            state[key] = values.get(key, defaults[key])
    if "select_model" in state:  # set by a finished retraining, before the model widget exists
        state["model"] = state.pop("select_model")
    if state["model"] not in models + (["retrained"] if "retrained" in state else []):
        state["model"] = models[0]


def mirror_url() -> None:
    """Write the current view into the URL so it can be shared as a link."""
    state = st.session_state
    model = state["retrained"]["arch"] if state["model"] == "retrained" else state["model"]
    wanted = view.to_query({key: state[key] for key in view.URL_NAMES} | {"model": model})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _new_noise() -> None:
    """The next noise seed (a button callback)."""
    st.session_state.noise_seed = (st.session_state.noise_seed + 1) % view.MAX_SEED


def noise_ui() -> tuple[str, int]:
    """Noise kind and seed. For a drawing or an upload, the kind may also be "as it is": no noise added."""
    kinds = NOISE_KINDS if st.session_state.source == "pick" else (*NOISE_KINDS, view.AS_IS)
    if st.session_state.noise_kind not in kinds:  # a sample digit has no noise of its own to remove
        st.session_state.noise_kind = view.DEFAULTS["noise_kind"]
    kind = st.selectbox("Noise kind", kinds, format_func=view.KIND_LABELS.get, key="noise_kind")
    as_is = kind == view.AS_IS
    seed = st.number_input("Noise seed", 0, view.MAX_SEED, step=1, key="noise_seed", disabled=as_is)
    st.button("New noise", key="new_noise", on_click=_new_noise, width="stretch", disabled=as_is)
    return kind, int(seed)


def level_ui(disabled: bool) -> float:
    """The noise level, above the pictures it changes."""
    hint = "The noise's standard deviation on a white pixel; for salt & pepper, the share of pixels hit."
    low, high, step = view.SLIDER_LEVELS[0], view.SLIDER_LEVELS[-1], view.SLIDER_LEVELS[1]
    return st.slider("Noise level", low, high, step=step, key="noise_level", help=hint, disabled=disabled)


def model_ui(models: list[str]) -> tuple[str, bool]:
    """The denoiser shown, and whether to show the residual image."""
    options = (["retrained"] if "retrained" in st.session_state else []) + models
    name = st.selectbox("Denoiser", options, format_func=method_label, key="model")
    residual = st.toggle("Show the residual |denoised − original|", key="residual")
    if name == "retrained":
        info = st.session_state["retrained"]
        st.caption(f"{info['arch']} retrained in this session: {info['before']:.2f} → {info['after']:.2f} dB held out.")
    for missing, why in unavailable_models().items():
        st.warning(f"Model {missing} is unavailable ({why[:300]}). The other methods still work.")
    return name, residual


def images_ui(clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor, residual: bool,
              figures: tuple[dict, dict]) -> None:  # fmt: skip
    """Original, noisy, denoised (and residual) side by side, with PNG downloads and the figures
    (`figures`: MSE, PSNR and SSIM of the noisy and of the denoised digit, each by key).

    One block of HTML (`panel`): a move sends one element where Streamlit's images, buttons and metrics were
    twenty. Markdown, not st.html, since st.html drops a link's `data:` URL. Everything in it is escaped."""
    pictures = [
        Picture(shown(clean), "Original (28×28, what the model sees)"),
        Picture(shown(noisy), "Noisy", "noisy.png"),
        Picture(shown(denoised), "Denoised", "denoised.png"),
    ]
    if residual:
        pictures.append(Picture(shown((denoised - clean).abs()), "|denoised − original|"))
    st.markdown(panel.view_html(pictures, view.figure_columns(*figures)), unsafe_allow_html=True)


def as_is_ui(noisy: torch.Tensor, denoised: torch.Tensor) -> None:
    """The picture as found and denoised, with figures that need no clean original: noise level and reading."""
    cols = row("as-is", 3)
    cols[0].image(shown(noisy), caption="Your digit as it is (28×28, what the model sees)", width="stretch")
    cols[1].image(shown(denoised), caption="Denoised", width="stretch")
    cols[1].download_button(
        "Denoised PNG", lambda: png(denoised, SCALE), "denoised.png", "image/png", key="download_denoised"
    )
    cols[2].caption("There is no clean original to compare with, so these figures need none.")
    pair = torch.stack([noisy, denoised])  # (2, 1, 28, 28)
    (sigma_before, sigma_after), (read_before, read_after) = metrics.background_noise(pair, denoised), readings(pair)
    cols[2].metric("Noise level, as it is", f"{sigma_before:.3f}", help=NOISE_HELP)
    change = round(sigma_after - sigma_before, 3)  # a change the figures cannot show is no change
    cols[2].metric("Noise level, denoised", f"{sigma_after:.3f}", f"{change:+.3f}" if change else None,
                   delta_color="inverse", help=NOISE_HELP)  # fmt: skip
    cols[2].metric("The classifier reads, as it is", read_before)
    cols[2].metric("The classifier reads, denoised", read_after)


def denoise_shown(clean: torch.Tensor, name: str, noise: tuple[str, float, int], models: list[str],
                  every: bool) -> tuple[torch.Tensor, dict, list[dict]]:  # fmt: skip
    """The noisy digit, method `name`'s output on it and with `every` every other method's (name -> (1, 1, 28, 28)),
    and their ranking (the noisy input among them)."""
    names = [n for n in session_methods(models) if every or n == name]
    shared = tuple(n for n in names if n != "retrained")  # in one order whichever is shown: one cache entry
    noisy, outputs, rows = cache.shared_results(clean, *noise, shared)
    if "retrained" in names:  # this visitor's own model: never cached for others
        outputs = outputs | {"retrained": method_for("retrained", *noise[:2])(noisy)}
        rows = rank(clean[None], {methods.NOISY: noisy} | outputs)
    return noisy[0], outputs, rows


@st.fragment
def results(clean: torch.Tensor, kind: str, seed: int, name: str, residual: bool, models: list[str]) -> None:
    """The noise level, the pictures and their figures, and the tabs: all that a move of the level slider changes.

    A fragment, so that a slider move reruns only this part of the page: the rest (the digit's source,
    the sidebar) is neither recomputed nor sent to the browser again. Anything that changes the rest
    (a retrained model, going back to the shipped one) reruns the whole page."""
    as_is = kind == view.AS_IS
    level = level_ui(disabled=as_is)
    if as_is:  # no noise is added; filters and the tabs use their settings for the default noise
        kind, level = view.DEFAULTS["noise_kind"], view.DEFAULTS["noise_level"]
        noisy, rows = clean, None
        as_is_ui(clean, method_for(name, kind, level)(clean[None])[0])
    else:
        # With the Compare tab open every method runs on this noisy digit anyway: the pictures take theirs from it.
        comparing = st.session_state.get("view", TABS[0]) == TABS[0]
        noisy, outputs, rows = denoise_shown(clean, name, (kind, level, seed), models, every=comparing)
        by_name = {row["method"]: row for row in rows}
        images_ui(clean, noisy, outputs[name][0], residual, (by_name[methods.NOISY], by_name[name]))
    tabs_ui(clean, noisy, rows, (kind, level, seed), name, models, as_is)
    mirror_url()


def main() -> None:
    """The page: settings in the sidebar, the digit on the left, and `results` (a fragment) on the right."""
    st.set_page_config(page_title="Denoiser: MNIST digits", page_icon="🧹", layout="wide")
    models = prepare()
    if not models:
        st.error("No denoiser is available: the weights are missing and the classical filters are not installed.")
        st.stop()
    init_state(models)
    st.html(PHONE_CSS)
    st.title("Denoise a handwritten digit")
    st.markdown(INTRO)
    with st.expander("What the pictures and figures mean"):
        st.markdown(MORE)
    for notice in st.session_state.pop("notices", []):
        st.warning(notice)
    with st.sidebar:
        kind, seed = noise_ui()
        name, residual = model_ui(models)
    left, right = st.columns([1.2, 2.6], gap="medium")  # the left one holds the four digit sources on one line
    with left:
        # A picture of many digits shows them all denoised as they are, filters with their default settings.
        as_found = method_for(name, view.DEFAULTS["noise_kind"], view.DEFAULTS["noise_level"])
        clean = source_ui(kind == view.AS_IS, as_found)
    with right:
        retraining = retrain_opened()
        results(clean, kind, seed, name, residual, models)
        if retraining:
            retrain_view(kind)


if __name__ == "__main__":
    main()
