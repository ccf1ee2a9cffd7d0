"""Finding the digit in real-world pictures: orientation, polarity, uneven light, grain, several marks, the noise kept.

Every picture is made here (numpy and Pillow, or `denoiser.photos` from a test digit)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage import draw

from denoiser.bench import realworld, sheets, simulate
from denoiser.classifier import load_classifier, predict
from denoiser.digitize import ImageError, extract, extract_image, image_to_mnist
from denoiser.mnist_style import mnist_digit


def encode(arr: np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def page_with(digit: np.ndarray, size: int, ink: int, paper: int, top: int = 0, left: int = 0) -> np.ndarray:
    """A grey page of `size` with a 28x28 digit (white on black, in [0, 1]) written on it enlarged 4 times."""
    big = np.kron(digit, np.ones((4, 4)))
    page = np.full((size, size), float(paper))
    page[top : top + 112, left : left + 112] = paper + (ink - paper) * big
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def seven(test_digits) -> torch.Tensor:
    return test_digits.images[0]  # (1, 28, 28), a 7


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def test_dark_ink_on_a_dim_page_is_found_white_on_black(seven):
    """A page darker than mid-grey (a dimly lit sheet) is still the page: its ink becomes the white digit."""
    dim = image_to_mnist(encode(page_with(seven[0].numpy(), 200, ink=10, paper=90, top=40, left=50)))
    assert realworld.aligned_psnr(dim, seven) > 20
    assert dim[0, 0, 0] == 0 and dim.max() == 1


def test_a_small_dark_on_light_digit_is_read_like_the_same_digit_with_a_margin(seven):
    """Polarity does not depend on the picture's size: 28x28 dark-on-light gives what 64x64 does."""
    tight = (255 - seven[0].numpy() * 255).astype(np.uint8)
    padded = np.pad(tight, 18, constant_values=255)
    assert (image_to_mnist(encode(tight)) - image_to_mnist(encode(padded))).abs().mean() < 0.02
    assert realworld.aligned_psnr(image_to_mnist(encode(tight)), seven) > 25


def test_chalk_on_a_board_is_found_too(seven):
    board = page_with(seven[0].numpy(), 200, ink=230, paper=40, top=30, left=60)
    assert realworld.aligned_psnr(image_to_mnist(encode(board)), seven) > 20


def test_uneven_light_leaves_no_grey_cast(seven):
    """A page lit from one side (bright to dim across it) gives a black background, not a grey ramp."""
    page = page_with(seven[0].numpy(), 240, ink=15, paper=230, top=64, left=64).astype(float)
    page *= np.linspace(1.0, 0.45, 240)[None, :]  # the right side gets less than half the light
    found = image_to_mnist(encode(page.astype(np.uint8)))
    assert realworld.aligned_psnr(found, seven) > 20
    assert found[0][seven[0] == 0].mean() < 0.02


def test_the_exif_orientation_of_a_photo_is_applied(seven):
    """A phone stores the sensor's pixels turned and a tag that turns them back: the digit comes out upright."""
    upright = page_with(seven[0].numpy(), 200, ink=20, paper=220, top=40, left=40)
    turned = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # as the sensor saw it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    buffer = io.BytesIO()
    turned.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    assert realworld.aligned_psnr(image_to_mnist(buffer.getvalue()), seven) > 20


def test_grain_and_specks_do_not_move_the_box(seven):
    rng = np.random.default_rng(0)
    page = page_with(seven[0].numpy(), 200, ink=20, paper=200, top=40, left=40).astype(float)
    page += rng.normal(0, 25, page.shape)
    page[180:183, 10:13] = 0  # a speck of dirt far from the digit
    found = extract_image(encode(np.clip(page, 0, 255).astype(np.uint8)))
    top, left, bottom, right = found.box
    assert top >= 40 and left >= 40 and bottom <= 152 and right <= 152
    assert found.marks == 1


def test_several_marks_the_largest_is_the_digit_and_they_are_counted(test_digits, classifier):
    rng = np.random.default_rng(1)
    picture = simulate.with_a_second_digit(test_digits.images[0, 0].numpy(), rng, test_digits.images[1, 0].numpy())
    found = extract_image(picture)
    assert found.marks == 2
    assert int(predict(classifier, found.digit[None])) == int(test_digits.labels[0])


def test_keep_noise_crops_the_same_box_but_keeps_the_pictures_grain(seven):
    rng = np.random.default_rng(2)
    page = page_with(seven[0].numpy(), 160, ink=30, paper=160, top=20, left=20).astype(float)
    data = encode(np.clip(page + rng.normal(0, 45, page.shape), 0, 255).astype(np.uint8))
    clean, as_is = extract_image(data), extract_image(data, keep_noise=True)
    assert clean.box == as_is.box
    margin = (slice(0, 3), slice(None))  # the field's top rows, outside MNIST's 20x20 box
    assert clean.digit[0][margin].max() < 0.01  # only the strokes
    assert as_is.digit[0][margin].std() > 0.02  # the picture's grain, all around the digit
    assert realworld.aligned_psnr(as_is.digit, seven) > 12  # the digit is there, under its grain


@pytest.mark.parametrize("scene", ["blank"])
def test_a_blank_page_is_refused_whatever_its_light(scene):
    rng = np.random.default_rng(3)
    for _ in range(5):
        with pytest.raises(ImageError, match="No digit found"):
            image_to_mnist(simulate.SCENES[scene][0](np.zeros((28, 28)), rng))


@pytest.mark.timeout(30)  # the grouping of marks once took minutes on such a picture
@pytest.mark.parametrize(
    ("shape", "count", "side"), [((600, 800), 5000, 2), ((1000, 1000), 5000, 3), ((400, 400), 5000, 2),
                                 ((1000, 1000), 20000, 3), ((1000, 1000), 500, 4)]
)  # fmt: skip
def test_a_picture_of_specks_holds_no_digit(shape, count, side):
    """Thousands of specks are not one digit the size of the picture: the upload is refused, with a reason."""
    data = sheets.specks(shape, count, side, seed=1)
    assert len(data) < 70_000
    with pytest.raises(ImageError, match=r"No digit found: .* blank but for specks"):
        extract_image(data)


def test_a_digit_among_a_few_specks_is_still_found(seven):
    page = page_with(seven[0].numpy(), 300, ink=20, paper=220, top=90, left=90)
    rng = np.random.default_rng(4)
    for y, x in rng.integers(0, 297, (30, 2)):
        if not (80 < y < 212 and 80 < x < 212):
            page[y : y + 3, x : x + 3] = 0
    found = extract_image(encode(page))
    top, left, bottom, right = found.box
    assert top >= 90 and left >= 90 and bottom <= 202 and right <= 202


@pytest.mark.slow
def test_phone_photos_are_read_by_the_classifier(test_digits, classifier):
    """Simulated phone photos of ten test digits: each digit found is read as the digit written."""
    digits = test_digits.subset(slice(0, 10))
    result = realworld.extraction("phone", digits, classifier, seed=0)
    assert result["refused"] == 0 and result["read"] >= 0.9


def test_extract_takes_arrays_and_refuses_nan():
    with pytest.raises(ImageError, match="NaN"):
        extract(np.full((32, 32), np.nan))


def test_denoise_reads_a_small_dark_on_light_digit_like_the_same_digit_with_a_margin(tmp_path, seven):
    """`denoise` on a 28x28 dark-on-light picture inverts it as it does the same digit padded to 64x64."""
    from denoiser.cli import main
    from denoiser.picture_io import load_png_as_is

    dark = (255 - seven[0].numpy() * 255).round().astype(np.uint8)
    scores = []
    for name, picture in (("tight.png", dark), ("padded.png", np.pad(dark, 18, constant_values=255))):
        (tmp_path / name).write_bytes(encode(picture))
        assert main(["denoise", "--model", "unet", str(tmp_path / name), str(tmp_path / f"out-{name}")]) == 0
        scores.append(realworld.aligned_psnr(load_png_as_is((tmp_path / f"out-{name}").read_bytes()), seven))
    assert min(scores) > 25


def test_a_bold_marker_digit_keeps_its_thinner_strokes_when_thinned_to_mnist_widths():
    """A 9 in a bold, soft-edged marker: its loop inked in nearly shut, its tail half as wide. Brought to MNIST's
    stroke widths, the tail stays a stroke as wide as MNIST's (2 px and more) all the way down; thinning it as
    much as the loop left a hairline, which the classifier reads as a 9's loop on nothing, or a dot."""
    ink = np.zeros((140, 120))
    rows, cols = draw.disk((45, 60), 35)
    ink[rows, cols] = 1
    rows, cols = draw.disk((45, 60), 6)
    ink[rows, cols] = 0
    rows, cols = draw.polygon([45, 45, 130, 130], [77, 95, 82, 64])
    ink[rows, cols] = 1
    ink = ndimage.gaussian_filter(ink, 3)
    field, _ = mnist_digit(ink, ink, ink > 0.2, level=float(np.percentile(ink[ink > 0.5], 90)))
    strokes = field > 0.5
    tail = strokes[18:][strokes[18:].any(1)]  # the rows of the tail, under the loop
    assert len(tail) >= 6 and tail.sum(1).min() >= 2


def test_a_digit_cropped_close_has_no_copies_of_its_strokes_as_it_is(seven):
    """A photo cropped to a digit's own box: "as it is", the 28x28 field reaches beyond the picture's edge.
    There the page's noise goes on, but no stroke: the digit mirrored at the edge put copies of its strokes
    beside it, which the denoiser kept and the classifier read (an 8 beside an 8 read as a 0)."""
    page = page_with(seven[0].numpy(), 160, ink=40, paper=215, top=24, left=24)
    rows, cols = np.nonzero(page < 128)
    crop = page[rows.min() - 1 : rows.max() + 2, cols.min() - 1 : cols.max() + 2]
    clean = image_to_mnist(encode(crop))[0].numpy()
    as_is = image_to_mnist(encode(crop), keep_noise=True)[0].numpy()
    strokes = ndimage.binary_dilation(clean > 0.2, iterations=2)
    assert as_is[strokes].max() > 0.8 and as_is[~strokes].max() < 0.3


def test_a_bold_marker_digit_keeps_an_inked_in_loop_as_wide_as_it_was_drawn():
    """A 9 in a bold marker whose loop is inked in shut: a round blob half as wide as the digit is tall, on a
    tail. Brought to MNIST's stroke widths, the tail is thinned, the blob is not: worn down with the strokes,
    it became the thick top of a 1, and the classifier read it so."""
    ink = np.zeros((140, 110))
    rows, cols = draw.disk((40, 55), 30)
    ink[rows, cols] = 1
    rows, cols = draw.polygon([40, 40, 130, 130], [72, 86, 76, 62])
    ink[rows, cols] = 1
    ink = ndimage.gaussian_filter(ink, 2)
    field, (top, _, bottom, _) = mnist_digit(ink, ink, ink > 0.2, level=float(np.percentile(ink[ink > 0.5], 90)))
    drawn = 60 * 20 / (bottom - top)  # the blob's width in the 20x20 digit
    strokes = field > 0.5
    assert strokes.sum(1).max() >= 0.9 * drawn and strokes[18:].sum(1).max() <= 4
