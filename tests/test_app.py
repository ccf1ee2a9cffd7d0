"""The Streamlit app through `streamlit.testing.v1.AppTest`: one behaviour per test, widgets found by key.

AppTest cannot draw, so the drawing test puts a canvas result into session state the way the
canvas component itself stores it. Trainings here are tiny (64 digits, one epoch).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from conftest import figures, shown_pictures, table_rows
from PIL import Image
from streamlit.testing.v1 import AppTest

from denoiser.data import load_sample
from denoiser.digitize import canvas_to_mnist, image_to_mnist
from denoiser.evaluate import make_noisy
from denoiser.methods import NOISY
from denoiser.metrics import mean_metrics
from denoiser.noise import NOISE_KINDS
from denoiser.weights import load_checkpoint, load_pretrained
from webapp.view import DEFAULTS, format_metric

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")

pytestmark = pytest.mark.app


@pytest.fixture
def at() -> AppTest:
    """The app after its first run."""
    app = AppTest.from_file(APP, default_timeout=90)
    return app.run()


def metric(app: AppTest, label: str) -> str:
    return figures(app)[label].value


def psnr(app: AppTest, which: str = "Noisy") -> float:
    text = metric(app, f"{which} PSNR")
    return float("inf") if text.startswith("∞") else float(text.split()[0])


def expected_noisy_psnr(clean, kind: str = "gaussian", level: float = 0.5, seed: int = 0) -> str:
    """The noisy PSNR the page should show for `clean` (1, 28, 28) at the default noise."""
    return format_metric("psnr", mean_metrics(clean, make_noisy(clean, kind, level, seed))["psnr"])


def digit_png(light_background: bool = True) -> bytes:
    """A 120x90 picture of a thick "1", dark ink on light paper, as a phone photo might give."""
    pixels = np.full((120, 90), 235 if light_background else 10, np.uint8)
    pixels[15:105, 38:52] = 20 if light_background else 240
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def open_tab(app: AppTest, label: str) -> AppTest:
    app.session_state["view"] = label
    return app.run()


def test_default_page_renders_images_and_metrics(at):
    """The default page runs without an exception and shows three pictures, the noisy and the denoised one
    with a download, and six figures, each of the denoised digit with what denoising changed."""
    assert not at.exception
    pictures = shown_pictures(at)
    assert [p.caption.split(" (")[0] for p in pictures] == ["Original", "Noisy", "Denoised"]
    assert [p.download for p in pictures] == [None, "noisy.png", "denoised.png"]
    shown = figures(at)
    assert set(shown) == {f"{w} {m}" for w in ("Noisy", "Denoised") for m in ("PSNR", "SSIM", "MSE")}
    assert all(f.delta for label, f in shown.items() if label.startswith("Denoised"))


def shown_pixels(app: AppTest, index: int) -> np.ndarray:
    """The pixels of the page's `index`-th main picture, decoded from what the browser is sent."""
    url = shown_pictures(app)[index].url
    assert url.startswith("data:image/png;base64,"), url[:40]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_pictures_are_shown_pixel_for_pixel(at):
    """The digits reach the browser losslessly: the original's every pixel, enlarged eight times, with no
    JPEG ringing around the strokes."""
    digits = load_sample()
    first = digits.images[digits.labels == DEFAULTS["digit_class"]][DEFAULTS["digit_index"]]
    clean = (first[0] * 255).round().to(torch.uint8).numpy()
    shown = shown_pixels(at, 0)
    assert shown.shape == (224, 224)
    assert np.array_equal(shown, np.kron(clean, np.ones((8, 8), np.uint8)))
    at.slider(key="noise_level").set_value(0.3).run()
    assert not np.array_equal(shown_pixels(at, 1), shown_pixels(at, 2))  # noisy and denoised differ


def test_noise_level_moves_noisy_psnr(at):
    """More noise gives a lower noisy PSNR; less noise a higher one."""
    at.slider(key="noise_level").set_value(0.2).run()
    low = psnr(at)
    at.slider(key="noise_level").set_value(0.8).run()
    assert psnr(at) < low


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_every_noise_kind_works(at, kind):
    """Each noise kind renders without an exception and actually adds noise."""
    at.selectbox(key="noise_kind").set_value(kind).run()
    assert not at.exception
    assert psnr(at) < 40


def test_new_noise_button_changes_seed(at):
    """ "New noise" draws a new seed and so a different noisy image."""
    before = psnr(at)
    at.button(key="new_noise").click().run()
    assert at.number_input(key="noise_seed").value == 1
    assert psnr(at) != before


def test_pick_source_next_and_class(at):
    """Next moves to the following sample digit; choosing a class shows a digit of that class."""
    at.button(key="next").click().run()
    assert at.number_input(key="digit_index").value == 1
    at.selectbox(key="digit_class").set_value(7).run()
    assert not at.exception and at.query_params["digit"] == "7"


def test_draw_source_uses_the_canvas(at):
    """A drawing (set through session state, as the canvas component stores it) becomes the digit."""
    rgba = np.zeros((240, 240, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:200, 100:130, :3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    at.button_group(key="source").set_value("draw").run()
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}
    at.run()
    assert not at.exception
    assert metric(at, "Noisy PSNR") == expected_noisy_psnr(canvas_to_mnist(rgba))


def test_upload_source_uses_the_file(at):
    """An uploaded picture (dark ink on light paper) is made MNIST-style and becomes the digit."""
    at.button_group(key="source").set_value("upload").run()
    at.file_uploader(key="upload").upload("one.png", digit_png(), "image/png").run()
    assert not at.exception
    assert metric(at, "Noisy PSNR") == expected_noisy_psnr(image_to_mnist(digit_png()))


def test_bad_upload_shows_a_message(at):
    """A file that is not an image gives a short warning, no exception, and the page keeps working."""
    at.button_group(key="source").set_value("upload").run()
    at.file_uploader(key="upload").upload("digit.png", b"not an image at all", "image/png").run()
    assert not at.exception
    assert any("not an image" in w.value for w in at.warning)
    assert len(figures(at)) == 6


def test_view_is_mirrored_in_the_url(at):
    """The current noise and model are written to the query parameters."""
    at.selectbox(key="noise_kind").set_value("speckle").run()
    assert at.query_params["kind"] == "speckle"
    assert at.query_params["level"] == "0.5"


def test_url_sets_the_view():
    """A shared link's parameters set the widgets on the first run."""
    app = AppTest.from_file(APP, default_timeout=90)
    app.query_params.update({"kind": "poisson", "level": "0.3", "seed": "5", "digit": "8"})
    app.run()
    assert app.selectbox(key="noise_kind").value == "poisson"
    assert app.slider(key="noise_level").value == 0.3
    assert app.number_input(key="noise_seed").value == 5
    assert app.selectbox(key="digit_class").value == 8


def test_bad_url_falls_back_with_a_notice():
    """Bad link parameters fall back to the defaults and the page says so."""
    app = AppTest.from_file(APP, default_timeout=90)
    app.query_params.update({"kind": "pink", "level": "nan", "seed": "-1"})
    app.run()
    assert not app.exception
    assert app.selectbox(key="noise_kind").value == "gaussian"
    assert app.slider(key="noise_level").value == 0.5
    assert len([w for w in app.warning if "Ignored" in w.value]) == 3


def test_compare_tab_lists_every_method(at):
    """The comparison table has the noisy input and every model and filter, best PSNR first."""
    table = table_rows(at)
    assert NOISY in {row["method"] for row in table}
    assert len(table) == len(at.selectbox(key="model").options) + 1
    psnr = [float(row["psnr"].removesuffix(" dB").replace("∞", "inf")) for row in table]
    assert psnr == sorted(psnr, reverse=True)


def test_compare_bar_chart_is_drawn_on_request(at):
    """The comparison opens as a plain table; the "Bar chart" toggle adds the plotly chart of the same rows."""
    assert not at.get("plotly_chart")
    at.toggle(key="compare_chart_on").set_value(True).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1


def test_levels_and_batch_tabs_render(at):
    """The PSNR-vs-level tab and the batch tab (ten digits in three rows) render without an exception."""
    open_tab(at, "Across noise levels")
    assert not at.exception
    open_tab(at, "Batch")
    assert not at.exception
    assert len(shown_pictures(at)) == 3 + 3 * 10


def test_residual_toggle_adds_an_image(at):
    """The residual toggle shows a fourth image."""
    before = len(shown_pictures(at))
    at.toggle(key="residual").set_value(True).run()
    assert len(shown_pictures(at)) == before + 1


def test_retrain_changes_session_model_not_weights(at):
    """A tiny retraining finishes, becomes this session's model and leaves the weights file untouched."""
    weights_file = ROOT / "weights" / "unet.pt"
    before = weights_file.read_bytes() if weights_file.exists() else None
    open_tab(at, "Retrain")
    at.select_slider(key="retrain_digits").set_value(64)
    at.button(key="retrain").click().run(timeout=180)
    assert not at.exception
    assert at.session_state["model"] == "retrained"
    assert at.selectbox(key="model").value == "retrained"
    assert any("retrained" in s.value for s in at.success)
    assert (weights_file.read_bytes() if weights_file.exists() else None) == before
    name, model, _ = load_checkpoint(at.session_state["retrained"]["bytes"])  # what the download button gives
    retrained = at.session_state["retrained"]["model"].state_dict()
    assert name == "unet" and all(torch.equal(v, retrained[k]) for k, v in model.state_dict().items())
    if weights_file.exists():  # and it is not the shipped model any more
        shipped = load_pretrained("unet").state_dict()
        assert any(not torch.equal(v, retrained[k]) for k, v in shipped.items())


def test_retrain_learns_from_each_of_the_three_choices_and_compares_with_clean_digits(at):
    """The tab offers clean digits, two noisy copies and the noisy digits alone; a tiny run of each finishes with
    weights that record what they learned from, and a run without clean digits is set beside the same on clean."""
    open_tab(at, "Retrain")
    choices = {"clean digits": "clean", "two noisy copies": "noisy", "the noisy digits alone": "self"}
    assert at.radio(key="retrain_targets").options == list(choices)
    at.select_slider(key="retrain_digits").set_value(64)
    at.number_input(key="retrain_epochs").set_value(1)
    for choice, targets in choices.items():
        at.radio(key="retrain_targets").set_value(choice)
        at.button(key="retrain").click().run(timeout=180)
        assert not at.exception
        assert any(f"learned from {choice}" in s.value for s in at.success)
        assert load_checkpoint(at.session_state["retrained"]["bytes"])[2]["train"]["targets"] == targets
    assert any(m.value.startswith("The same run from clean digits: ") for m in at.markdown)


def test_retrain_refuses_noise_no_one_loss_can_learn_without_clean_digits(at):
    """Poisson and salt-and-pepper together need two losses: without clean digits the tab says so, no run starts."""
    open_tab(at, "Retrain")
    at.multiselect(key="retrain_kinds").set_value(["poisson", "salt_pepper"])
    at.radio(key="retrain_targets").set_value("two noisy copies").run()
    assert any("train on one of them at a time" in w.value for w in at.warning)
    assert at.button(key="retrain").disabled


def test_revert_goes_back_to_shipped(at):
    """After a retraining, "Back to the shipped weights" removes the session's model."""
    open_tab(at, "Retrain")
    at.select_slider(key="retrain_digits").set_value(64)
    at.button(key="retrain").click().run(timeout=180)
    at.button(key="revert").click().run()
    assert "retrained" not in at.session_state
    assert at.selectbox(key="model").value != "retrained"


def test_damaged_weights_leave_the_filters_working(monkeypatch):
    """If no shipped model loads, the page says so and still denoises with the classical filters."""
    from denoiser import methods, weights

    def damaged(name, *args, **kwargs):
        raise weights.WeightsError(f"weights file weights/{name}.pt is damaged (test)")

    monkeypatch.setattr(weights, "load_pretrained", damaged)
    st.cache_resource.clear()  # forget the models loaded by earlier tests...
    methods.forget_models()  # ...in the app and in the library
    try:
        app = AppTest.from_file(APP, default_timeout=90).run()
        assert not app.exception
        assert sum("unavailable" in w.value for w in app.sidebar.warning) == len(weights.REGISTRY)
        assert app.selectbox(key="model").value not in weights.REGISTRY
        assert len(figures(app)) == 6
    finally:
        monkeypatch.undo()
        st.cache_resource.clear()
        methods.forget_models()


def test_digit_choice_survives_a_detour_to_drawing(at):
    """The digit picker is not drawn while drawing; back on "pick", the chosen digit is still there."""
    at.selectbox(key="digit_class").set_value(7).run()
    at.button_group(key="source").set_value("draw").run()
    at.button_group(key="source").set_value("pick").run()
    assert at.selectbox(key="digit_class").value == 7


def test_a_dropped_widget_value_comes_back_from_the_url():
    """A session that has run before but lost its widget values (an interrupted run) takes them from the URL."""
    app = AppTest.from_file(APP, default_timeout=90)
    app.session_state["started"] = True  # not a first run: only the dropped values are missing
    app.query_params.update({"level": "0.3", "source": "draw"})
    app.run()
    assert not app.exception
    assert app.slider(key="noise_level").value == 0.3
    assert app.button_group(key="source").value == "draw"


def test_what_the_server_loads_once_is_exempt_from_the_garbage_collector(at):
    """Streamlit runs gc.collect(2) after every rerun; over torch's unfrozen heap that took ~200 ms a rerun."""
    import gc

    assert not at.exception
    assert gc.get_freeze_count() > 50_000  # torch, the models and the sample, frozen once per server
