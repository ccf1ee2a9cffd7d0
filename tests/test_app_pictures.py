"""The app with real-world pictures: a phone photo's digit is found and shown where it was found,
and a drawing or an upload can be denoised as it is, with figures that need no clean original."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import figures, number_picture, table_rows
from PIL import Image
from streamlit.testing.v1 import AppTest

from denoiser.bench import simulate
from denoiser.digitize import image_to_mnist
from denoiser.evaluate import make_noisy
from denoiser.metrics import mean_metrics
from webapp.view import AS_IS, KIND_LABELS, format_metric

APP = str(Path(__file__).resolve().parent.parent / "app.py")

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def pictures(test_digits) -> dict[str, bytes]:
    """A phone photo, a dim grainy picture and a photo of two digits, made from test digits."""
    rng = np.random.default_rng(3)
    clean, other = test_digits.images[0, 0].numpy(), test_digits.images[1, 0].numpy()
    return {
        "phone": simulate.phone_photo(clean, rng, height=200),
        "dim": simulate.dim_scan(clean, rng),
        "two": simulate.with_a_second_digit(clean, rng, other),
    }


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(APP, default_timeout=90).run()


def upload(app: AppTest, data: bytes) -> AppTest:
    app.button_group(key="source").set_value("upload").run()
    return app.file_uploader(key="upload").upload("photo.jpg", data, "image/jpeg").run()


def metric(app: AppTest, label: str) -> str:
    return figures(app)[label].value


def test_a_phone_photo_shows_where_the_digit_was_found_and_becomes_the_digit(at, pictures):
    """The uploaded photo is shown small with the box, and the digit found in it is what gets noised."""
    upload(at, pictures["phone"])
    assert not at.exception
    captions = [shown.caption for img in at.image for shown in img.proto.imgs]
    assert any("red box" in caption for caption in captions)  # the picture, with the box
    clean = image_to_mnist(pictures["phone"])
    expected = format_metric("psnr", mean_metrics(clean, make_noisy(clean, "gaussian", 0.5, 0))["psnr"])
    assert metric(at, "Noisy PSNR") == expected


def test_a_picture_with_two_digits_shows_both_numbered_and_the_first_in_the_main_view(at, pictures):
    """Two digits are no longer one digit and a mark left out: both are found, and the visitor chooses."""
    from denoiser.reading import find_digits

    upload(at, pictures["two"])
    assert not at.exception
    assert any("every digit found, numbered" in shown.caption for img in at.image for shown in img.proto.imgs)
    choice = at.selectbox(key="picture_digit")
    assert len(choice.options) == 2 and choice.value == 0
    first = find_digits(pictures["two"]).marks[0].digit
    expected = format_metric("psnr", mean_metrics(first, make_noisy(first, "gaussian", 0.5, 0))["psnr"])
    assert metric(at, "Noisy PSNR") == expected


def test_as_it_is_denoises_the_pictures_own_noise_with_no_reference_figures(at, pictures):
    """In "as it is" mode there is no original: the page shows the noise level and the classifier's reading."""
    upload(at, pictures["dim"])
    at.selectbox(key="noise_kind").set_value(AS_IS).run()
    assert not at.exception
    labels = set(figures(at))
    assert "Noisy PSNR" not in labels
    assert {"Noise level, as it is", "Noise level, denoised", "The classifier reads, denoised"} <= labels
    assert float(metric(at, "Noise level, denoised")) < float(metric(at, "Noise level, as it is"))
    assert at.slider(key="noise_level").disabled
    shown = [element.value for element in [*at.markdown, *at.code, *at.text]]
    assert not any(str(value).strip("`") == "None" for value in shown)  # no stray value written by magic


def test_as_it_is_compares_every_method_without_a_reference(at, pictures):
    upload(at, pictures["dim"])
    at.selectbox(key="noise_kind").set_value(AS_IS).run()
    assert not at.exception
    rows = table_rows(at)
    assert {"as it is", "unet", "seed-ae"} <= {row["method"] for row in rows}
    at.session_state["view"] = "Across noise levels"
    at.run()
    assert not at.exception and any("clean digit" in info.value for info in at.info)


def test_as_it_is_is_offered_for_uploads_and_drawings_only(at):
    """A sample digit has no noise of its own: the choice is not offered, and a link asking for it falls back."""
    assert KIND_LABELS[AS_IS] not in at.selectbox(key="noise_kind").options
    at.button_group(key="source").set_value("draw").run()
    assert KIND_LABELS[AS_IS] in at.selectbox(key="noise_kind").options
    linked = AppTest.from_file(APP, default_timeout=90)
    linked.query_params["source"], linked.query_params["kind"] = "pick", AS_IS
    linked.run()
    assert not linked.exception and linked.selectbox(key="noise_kind").value == "gaussian"


def test_a_photo_of_a_number_is_read_and_any_of_its_digits_fills_the_main_view(at, test_digits):
    """A row of ten digits: the line read is on the page, each digit is numbered, and choosing the third
    puts that digit in the main view (its noisy PSNR is the third digit's)."""
    upload(at, number_picture(test_digits, "1234567890", fmt="JPEG"))
    assert not at.exception
    assert any("1234567890" in m.value for m in at.markdown)
    assert any("every digit found, numbered" in shown.caption for img in at.image for shown in img.proto.imgs)
    first = metric(at, "Noisy PSNR")
    at.selectbox(key="picture_digit").set_value(2).run()
    assert not at.exception
    from denoiser.reading import find_digits

    third = find_digits(number_picture(test_digits, "1234567890", fmt="JPEG")).marks[2].digit
    expected = format_metric("psnr", mean_metrics(third, make_noisy(third, "gaussian", 0.5, 0))["psnr"])
    assert metric(at, "Noisy PSNR") == expected != first


def test_a_letter_among_the_digits_is_read_as_no_digit_and_said_so(at, test_digits):
    upload(at, number_picture(test_digits, "12A34", fmt="JPEG"))
    assert not at.exception
    assert any("12?34" in m.value for m in at.markdown)
    assert any("3: ? (no digit" in c.value for c in at.caption)


def test_without_the_reading_classifiers_a_number_is_taken_as_one_digit_with_a_notice(at, test_digits, monkeypatch):
    """A missing or damaged classifier file: a notice says why numbers are not read, and the page still
    denoises the picture's largest mark as the digit."""
    from denoiser import mark_reading
    from denoiser.weights import WeightsError

    def unavailable(not_a_digit: bool = False):
        raise WeightsError("weights file weights/not-a-digit.pt does not exist")

    monkeypatch.setattr(mark_reading, "_classifier", unavailable)
    upload(at, number_picture(test_digits, "123", fmt="JPEG"))
    assert not at.exception
    assert any("Reading numbers is unavailable" in w.value and "not-a-digit.pt" in w.value for w in at.warning)
    assert metric(at, "Noisy PSNR")  # the main view shows the digit taken


def test_the_camera_is_a_digit_source(at):
    at.button_group(key="source").set_value("camera").run()
    assert not at.exception
    assert at.camera_input(key="camera")  # the page offers the device's camera
    assert any("Meanwhile, the page shows the sample digit." in c.value for c in at.caption)


def test_every_digit_of_a_number_can_be_denoised_as_it_is(at, test_digits):
    upload(at, number_picture(test_digits, "2468", fmt="JPEG"))
    at.selectbox(key="noise_kind").set_value(AS_IS).run()
    at.selectbox(key="picture_digit").set_value(3).run()
    assert not at.exception
    assert metric(at, "The classifier reads, as it is").startswith("8")


def test_denoising_a_clean_photo_as_it_is_never_shows_noise_added(at, test_digits):
    """A sharp, clean photo of a digit: the denoised digit's noise level is not shown as higher."""
    rng = np.random.default_rng(5)
    for i in range(3):
        photo = simulate.phone_photo(test_digits.images[i, 0].numpy(), rng, height=300)
        upload(at, photo)
        at.selectbox(key="noise_kind").set_value(AS_IS).run()
        assert not at.exception
        after = next(m for m in at.metric if m.label == "Noise level, denoised")
        assert not after.delta or after.delta.startswith("-")


def test_a_photo_taken_sideways_is_read_turned_and_said_so(at, test_digits):
    upright = Image.open(io.BytesIO(number_picture(test_digits, "31415")))
    sideways = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, format="PNG")
    upload(at, sideways.getvalue())
    assert not at.exception
    assert any("31415" in m.value for m in at.markdown)
    assert any("read turned a quarter to the right" in c.value for c in at.caption)


def test_a_small_number_in_a_large_picture_is_shown_around_its_digits_and_whole_on_request(at, test_digits):
    """A card in a tenth of a phone's frame: the numbered boxes are shown cut to the digits, large enough to read,
    each box where its digit is; the whole picture, boxes and all, is one click away."""
    from denoiser.reading import find_digits
    from webapp.numbers import BOXED_WIDTH, boxed_reading, digits_region

    row = np.asarray(Image.open(io.BytesIO(number_picture(test_digits, "123"))).convert("L"))
    page = np.full((8 * row.shape[0], 4 * row.shape[1]), 255, np.uint8)
    page[50 : 50 + row.shape[0], 70 : 70 + row.shape[1]] = row
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    reading = find_digits(buffer.getvalue())
    assert reading.lines == ["123"]
    top, left, bottom, right = digits_region(reading)
    boxes = np.array([m.box for m in reading.marks])
    assert (top, left) <= tuple(boxes[:, :2].min(0)) and (bottom, right) >= tuple(boxes[:, 2:].max(0))
    assert (bottom - top) * (right - left) < 0.1 * reading.picture.size
    shown = np.asarray(boxed_reading(reading))
    assert shown.shape[1] == BOXED_WIDTH
    assert abs(shown.shape[0] / shown.shape[1] - (bottom - top) / (right - left)) < 0.01
    scale = BOXED_WIDTH / (right - left)
    for y0, x0, _, x1 in boxes:  # the middle of each box's top edge is red
        y, x = round((y0 - top) * scale) - 2, round(((x0 + x1) / 2 - left) * scale)
        assert tuple(shown[y, x]) == (230, 30, 30)
    upload(at, buffer.getvalue())
    whole = [e for e in at.expander if e.label == "The whole picture"]
    assert len(whole) == 1 and len(whole[0].get("image")) == 1
