"""The denoiser app: pick, draw or upload a digit, add noise, compare denoisers, retrain on the page.

`streamlit run app.py`. A `main()` and small `*_ui()` functions that draw widgets and return
values; every computation is in the `denoiser` package. Shipped models and the offline digits
are loaded once per server (`st.cache_resource`, never mutated); a model retrained by a
visitor lives in that visitor's `st.session_state` only. Widget keys are stable: the tests
and the URL query parameters use them.
"""

from __future__ import annotations

import functools
import gc

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from denoiser import classifier, data, digitize, methods, metrics, weights
from denoiser.evaluate import Method, make_noisy, model_method, psnr_by_level, rank
from denoiser.noise import NOISE_KINDS

from . import cache, figures, retrain, view

SOURCES = {"pick": "Pick", "draw": "Draw", "upload": "Upload"}
SCALE = 10  # downloads are 280x280, upscaled nearest-neighbour so the pixels stay crisp
SLIDER_LEVELS = [round(0.01 * i, 2) for i in range(101)]  # the noise slider's positions: 0 to 1 in steps of 0.01
LEVELS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # x axis of the PSNR-vs-level chart
BATCH = 10  # digits in the batch view
TABS = ("Compare methods", "Across noise levels", "Batch", "Retrain")
INTRO = """Noise is added to a handwritten digit (28×28 pixels, MNIST style) and a denoiser removes it.
The three pictures are the **original**, the **noisy** one and the **denoised** one. Under them,
**MSE** (mean squared error, lower is better), **PSNR** (peak signal-to-noise ratio in dB, higher is
better; ∞ means identical) and **SSIM** (structural similarity, 1 is identical) compare each with the
original; the small numbers show what the denoiser changed. The tabs compare every method, sweep the
noise level, show a batch of digits, and let you retrain a model in your own session."""
# Digits are sent to the page already enlarged (nearest neighbour, so the pixels stay square): a
# page-wide `image-rendering: pixelated` style would have to be re-sent with every rerun, and
# re-inserting it cost the browser ~38 ms per slider move, against ~1 ms to encode three 224x224 PNGs.
SHOWN_SCALE = 8  # the three main pictures: 224x224
BATCH_SCALE = 3  # the batch view's small pictures: 84x84


@st.cache_resource
def sample() -> data.Digits:
    """The 5,000 offline MNIST digits (sorted by class), shared read-only by every visitor."""
    return data.load_sample()


@st.cache_resource
def class_indices() -> list[torch.Tensor]:
    """For each class 0-9, the positions of its digits in `sample()`."""
    labels = sample().labels
    return [torch.nonzero(labels == c).flatten() for c in range(10)]


@st.cache_resource
def unavailable_models() -> dict[str, str]:
    """The shipped models whose weights do not load (damaged or missing), with why; checked once per server."""
    problems = {}
    for name in methods.MODEL_NAMES:
        try:
            methods.get(name)
        except weights.WeightsError as err:
            problems[name] = str(err)
    return problems


def shared_methods() -> list[str]:
    """Names of the methods every visitor has: the shipped models that load, then the classical filters."""
    broken = unavailable_models()
    return [name for name in methods.MODEL_NAMES if name not in broken] + list(methods.FILTER_NAMES)


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
    run_whole_page_for_new_sessions()
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


def sample_digit(digit_class: int, index: int) -> torch.Tensor:
    """Sample digit number `index` of class `digit_class` (1, 28, 28)."""
    return sample().images[class_indices()[digit_class][index]]


def precompute_default_page() -> None:
    """Every shared method at every slider position on the page a new visitor opens (about 0.6 s of CPU, once).

    Nearly every visitor of a hosted demo starts by moving the noise slider on this page; with its
    results computed once at start, those moves cost a lookup instead of every method's run."""
    clean = sample_digit(view.DEFAULTS["digit_class"], view.DEFAULTS["digit_index"])
    kind, seed = view.DEFAULTS["noise_kind"], view.DEFAULTS["noise_seed"]
    cache.precompute(clean, kind, SLIDER_LEVELS, seed, tuple(shared_methods()))


def run_whole_page_for_new_sessions() -> None:
    """Make a rerun of a fragment the session does not hold a run of the whole page, with the same widget values.

    When its server goes away (a replica is killed, the server restarts), an open page reconnects to
    a new session and goes on asking for reruns of the `results` fragment only. Streamlit drops a
    rerun of a fragment the session has not registered, and only a run of the whole page registers
    it: without this the page would never answer the level slider again. Process-wide, applied once."""
    from streamlit.runtime.app_session import AppSession

    original = AppSession.request_rerun
    if getattr(original, "runs_whole_page", False) or not hasattr(AppSession, "has_fragment"):
        return

    @functools.wraps(original)
    def request_rerun(session: AppSession, client_state=None) -> None:
        if client_state is not None and client_state.fragment_id and not session.has_fragment(client_state.fragment_id):
            whole_page = type(client_state)()
            whole_page.CopyFrom(client_state)
            whole_page.ClearField("fragment_id")
            client_state = whole_page
        original(session, client_state)

    request_rerun.runs_whole_page = True
    AppSession.request_rerun = request_rerun


def method_for(name: str, kind: str, level: float) -> Method:
    """noisy -> denoised for a method name: "retrained" (this session's), a shipped model or a filter."""
    if name == "retrained":
        return model_method(st.session_state["retrained"]["model"])
    return methods.get(name, kind, level)  # shipped models are loaded once per server, filters are cheap to make


def session_methods(models: list[str]) -> list[str]:
    """The methods this visitor has: their retrained model, if any, then the shared ones."""
    return (["retrained"] if "retrained" in st.session_state else []) + models


def method_label(name: str) -> str:
    """How a method is named in the model picker."""
    if name == "retrained":
        return "retrained model (this session)"
    return f"{name} (model)" if name in weights.REGISTRY else f"{name} (filter)"


@st.cache_data(max_entries=256)
def level_curves(clean: np.ndarray, kind: str, seed: int, names: tuple[str, ...]) -> dict[str, list[float]]:
    """PSNR against noise level for the noisy input and every shared method, on one digit."""
    methods_at = lambda level: {n: method_for(n, kind, level) for n in names}  # noqa: E731
    return psnr_by_level(methods_at, torch.from_numpy(clean), kind, LEVELS, seed)


@st.cache_data(max_entries=64)
def upload_extraction(data_bytes: bytes, keep_noise: bool) -> digitize.Extraction:
    """The digit found in an uploaded file, and where; ImageError with a message for the visitor."""
    return digitize.extract_image(data_bytes, keep_noise=keep_noise)


@st.cache_resource
def reader() -> torch.nn.Module | None:
    """The shipped digit classifier, or None if its weights are missing or damaged."""
    try:
        return classifier.load_classifier()
    except weights.WeightsError:
        return None


def png(image: torch.Tensor, scale: int = 1) -> bytes:
    """A digit as PNG bytes, upscaled `scale` times nearest-neighbour (a download)."""
    return digitize.tensor_to_png(image, scale)


def shown(image: torch.Tensor, scale: int = SHOWN_SCALE) -> str:
    """A digit as the page shows it: enlarged, in a PNG `data:` URL encoded once per server."""
    return cache.png_url(image, scale)


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


def _move_index(step: int) -> None:
    """Previous/next sample of the class (a button callback, so it may set the widget's value)."""
    count = len(class_indices()[st.session_state.digit_class])
    st.session_state.digit_index = (st.session_state.digit_index + step) % count


def _random_digit() -> None:
    """A random class and sample (a button callback)."""
    rng = np.random.default_rng()
    st.session_state.digit_class = int(rng.integers(10))
    st.session_state.digit_index = int(rng.integers(len(class_indices()[st.session_state.digit_class])))


def pick_ui() -> torch.Tensor:
    """A sample digit by class and number, with previous / next / random; returns it (1, 28, 28)."""
    digit_class = st.selectbox("Digit", range(10), key="digit_class")
    count = len(class_indices()[digit_class])
    st.session_state.digit_index = min(st.session_state.digit_index, count - 1)
    cols = st.columns([1, 1, 1.6])
    cols[0].button("◀", key="prev", on_click=_move_index, args=(-1,), width="stretch", help="Previous sample")
    cols[1].button("▶", key="next", on_click=_move_index, args=(1,), width="stretch", help="Next sample")
    cols[2].button("Random", key="random", on_click=_random_digit, width="stretch", help="A random digit")
    index = st.number_input(f"Sample number (of {count})", 0, count - 1, key="digit_index")
    return sample_digit(digit_class, index)


def _clear_canvas() -> None:
    """Count a press of Clear (a button callback); `draw_ui` turns the count into an empty drawing."""
    st.session_state.canvas_clears = st.session_state.get("canvas_clears", 0) + 1


def draw_ui(keep_noise: bool) -> torch.Tensor | None:
    """A canvas to draw on, white on black; the drawing made MNIST-style, or None while it is blank."""
    # A new initial drawing makes the canvas reload it, i.e. clear itself: "clears" counts the presses.
    empty = {"objects": [], "clears": st.session_state.get("canvas_clears", 0)}
    st.space(28)  # room for the canvas's toolbar, which sits above it
    result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", width=224,
                       height=224, initial_drawing=empty, return_image_data=True, key="canvas")  # fmt: skip
    st.button("Clear", key="clear_canvas", on_click=_clear_canvas)
    st.caption("Draw one digit, large, in the middle.")
    try:
        if result.image_data is None:
            return None
        return digitize.canvas_to_mnist(result.image_data, keep_noise=keep_noise)
    except digitize.ImageError as err:
        st.info(str(err))
        return None


def upload_ui(keep_noise: bool) -> torch.Tensor | None:
    """A file uploader; the digit found in the picture, MNIST-style, or None (with a message if there is none)."""
    types = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"]
    file = st.file_uploader("A picture of one digit: a photo, a scan, a drawing", types, key="upload")
    if file is None:
        return None
    try:
        found = upload_extraction(file.getvalue(), keep_noise)
    except digitize.ImageError as err:
        st.warning(str(err))
        return None
    st.image(digitize.boxed(found), caption="Your picture: the digit was found in the red box", width=240)
    if found.marks > 1:
        st.info(f"This picture holds {found.marks} separate marks; the largest one is taken as the digit.")
    return found.digit


def source_ui(keep_noise: bool) -> torch.Tensor:
    """Where the digit comes from; returns it (1, 28, 28); a sample digit until a drawing/upload exists.

    With `keep_noise`, a drawing or an upload keeps its own pixel values (and so its noise)."""
    source = st.segmented_control("Digit source", list(SOURCES), format_func=SOURCES.get, key="source",
                                  required=True)  # fmt: skip
    if source == "pick":
        return pick_ui()
    clean = draw_ui(keep_noise) if source == "draw" else upload_ui(keep_noise)
    if clean is None:
        st.caption("Meanwhile, the page shows the sample digit.")
        clean = sample_digit(st.session_state.digit_class, st.session_state.digit_index)
    return clean


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
    low, high, step = SLIDER_LEVELS[0], SLIDER_LEVELS[-1], SLIDER_LEVELS[1]
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


def metrics_ui(noisy_m: dict, denoised_m: dict) -> None:
    """MSE, PSNR and SSIM of the noisy and the denoised digit; the delta is what denoising changed."""
    for col, (key, label) in zip(st.columns(3), (("psnr", "PSNR"), ("ssim", "SSIM"), ("mse", "MSE")), strict=True):
        colour = "inverse" if key == "mse" else "normal"  # a lower MSE is better
        col.metric(f"Noisy {label}", view.format_metric(key, noisy_m[key]))
        delta = view.metric_delta(key, denoised_m[key], noisy_m[key])
        col.metric(f"Denoised {label}", view.format_metric(key, denoised_m[key]), delta, delta_color=colour)


def images_ui(clean: torch.Tensor, noisy: torch.Tensor, denoised: torch.Tensor, residual: bool,
              figures: tuple[dict, dict]) -> None:  # fmt: skip
    """Original, noisy, denoised (and residual) side by side, with PNG downloads and the metrics
    (`figures`: MSE, PSNR and SSIM of the noisy and of the denoised digit)."""
    cols = st.columns(4 if residual else 3)
    cols[0].image(shown(clean), caption="Original (28×28, what the model sees)", width="stretch")
    cols[1].image(shown(noisy), caption="Noisy", width="stretch")
    cols[2].image(shown(denoised), caption="Denoised", width="stretch")
    if residual:
        cols[3].image(shown((denoised - clean).abs()), caption="|denoised − original|", width="stretch")
    # The PNG is made only when the button is pressed, not on every slider move.
    cols[1].download_button("Noisy PNG", lambda: png(noisy, SCALE), "noisy.png", "image/png", key="download_noisy")
    cols[2].download_button(
        "Denoised PNG", lambda: png(denoised, SCALE), "denoised.png", "image/png", key="download_denoised"
    )
    metrics_ui(*figures)


def readings(images: torch.Tensor) -> list[str]:
    """What the classifier reads in each image (N, 1, 28, 28), with its confidence: "7 (98%)"."""
    model = reader()
    if model is None:
        return ["classifier unavailable"] * len(images)
    labels, confidence = classifier.read(model, images)
    return [f"{int(d)} ({100 * float(c):.0f}%)" for d, c in zip(labels, confidence, strict=True)]


def as_is_ui(noisy: torch.Tensor, denoised: torch.Tensor) -> None:
    """The picture as found and denoised, with figures that need no clean original: noise level and reading."""
    cols = st.columns(3)
    cols[0].image(shown(noisy), caption="Your digit as it is (28×28, what the model sees)", width="stretch")
    cols[1].image(shown(denoised), caption="Denoised", width="stretch")
    cols[1].download_button(
        "Denoised PNG", lambda: png(denoised, SCALE), "denoised.png", "image/png", key="download_denoised"
    )
    cols[2].caption("There is no clean original to compare with, so these figures need none.")
    pair = torch.stack([noisy, denoised])  # (2, 1, 28, 28)
    (sigma_before, sigma_after), (read_before, read_after) = metrics.noise_sigma(pair), readings(pair)
    noise_help = "The noise's standard deviation, estimated from the picture alone (scikit-image, wavelets)."
    cols[2].metric("Noise level, as it is", f"{sigma_before:.3f}", help=noise_help)
    cols[2].metric("Noise level, denoised", f"{sigma_after:.3f}", f"{sigma_after - sigma_before:+.3f}",
                   delta_color="inverse", help=noise_help)  # fmt: skip
    cols[2].metric("The classifier reads, as it is", read_before)
    cols[2].metric("The classifier reads, denoised", read_after)


def as_is_compare_tab(noisy: torch.Tensor, models: list[str]) -> None:
    """Every method on the picture as it is: noise level left and the classifier's reading of its result."""
    names = session_methods(models)
    outputs = {view.AS_IS_LABEL: noisy.unsqueeze(0)} | {
        name: method_for(name, "gaussian", 0.5)(noisy.unsqueeze(0)) for name in names
    }
    images = torch.cat(list(outputs.values()))
    rows = zip(outputs, metrics.noise_sigma(images), readings(images), strict=True)
    st.caption("Filters use their settings for Gaussian noise at level 0.5.")
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
    curves = dict(level_curves(clean.numpy(), kind, seed, tuple(models)))
    if "retrained" in st.session_state:
        at = lambda lv: {"retrained": method_for("retrained", kind, lv)}  # noqa: E731
        curves["retrained"] = psnr_by_level(at, clean, kind, LEVELS, seed)["retrained"]
    st.plotly_chart(figures.level_figure(list(LEVELS), curves, level, kind), key="level_chart")


def batch_tab(kind: str, level: float, seed: int, name: str) -> None:
    """Original / noisy / denoised rows for `BATCH` sample digits chosen by the noise seed, with PSNR."""
    order = torch.randperm(len(sample()), generator=torch.Generator().manual_seed(seed))[:BATCH]
    clean = sample().images[order]  # (BATCH, 1, 28, 28)
    noisy = make_noisy(clean, kind, level, seed)
    denoised = method_for(name, kind, level)(noisy)
    for title, images in (("Original", clean), ("Noisy", noisy), ("Denoised", denoised)):
        psnr = metrics.image_metrics(clean, images)["psnr"]
        captions = (
            [str(int(c)) for c in sample().labels[order]]
            if title == "Original"
            else [view.format_metric("psnr", p) for p in psnr]
        )
        st.caption(title)
        st.image([shown(x, BATCH_SCALE) for x in images], caption=captions, width=28 * BATCH_SCALE)


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


def tabs_ui(clean: torch.Tensor, noisy: torch.Tensor, rows: list[dict] | None, noise: tuple[str, float, int],
            name: str, models: list[str], as_is: bool) -> None:  # fmt: skip
    """The tabs; only the open one is drawn, so a slider move recomputes only what is shown."""
    kind, level, seed = noise
    tabs = st.tabs(TABS, key="view", on_change="rerun")
    needs_original = lambda: st.info("This view adds noise to a clean digit: choose a noise kind to use it.")  # noqa: E731
    compared = lambda: compare_tab(rows)  # noqa: E731
    contents = (
        (lambda: as_is_compare_tab(noisy, models)) if as_is else compared,
        needs_original if as_is else lambda: levels_tab(clean, kind, level, seed, models),
        needs_original if as_is else lambda: batch_tab(kind, level, seed, name),
        lambda: retrain.retrain_tab(kind, level),
    )
    for tab, draw in zip(tabs, contents, strict=True):
        if tab.open:
            with tab:
                draw()


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
    models = shared_methods()
    prepare_server()  # after shared_methods() has loaded the models
    if not models:
        st.error("No denoiser is available: the weights are missing and the classical filters are not installed.")
        st.stop()
    init_state(models)
    st.title("Denoise a handwritten digit")
    st.markdown(INTRO)
    for notice in st.session_state.pop("notices", []):
        st.warning(notice)
    with st.sidebar:
        kind, seed = noise_ui()
        name, residual = model_ui(models)
    left, right = st.columns([1, 2.6], gap="large")
    with left:
        clean = source_ui(keep_noise=kind == view.AS_IS)
    with right:
        results(clean, kind, seed, name, residual, models)


if __name__ == "__main__":
    main()
