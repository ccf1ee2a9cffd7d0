"""Property-based tests (hypothesis): what must hold for any input, not just the examples we thought of.

Noise: outputs in [0, 1], shape and dtype kept, level 0 is the identity, seeded calls repeat, no NaN.
Preprocessing: any greyscale picture gives a (1, 28, 28) digit in [0, 1] inside a 20x20 box, or an
ImageError for a blank one; nothing else. Metrics: MSE in [0, 1], PSNR >= 0 or inf, SSIM in [-1, 1].
"""

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from denoiser.digitize import ImageError, canvas_to_mnist, image_to_mnist, to_mnist
from denoiser.metrics import image_metrics
from denoiser.noise import MAX_SEED, NOISE_KINDS, add_noise
from webapp.view import DEFAULTS, SOURCES, URL_NAMES, parse_query, to_query

# Modest budgets: the suite shares two cores with training runs. No deadline: timing is not the property.
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

kinds = st.sampled_from(NOISE_KINDS)
levels = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1e-12, 5e-324, 0.5, 1.0]))
seeds = st.integers(0, 2**32 - 1)
shapes = st.one_of(
    st.tuples(st.integers(1, 32), st.integers(1, 32)),  # (H, W)
    st.tuples(st.just(1), st.integers(1, 16), st.integers(1, 16)),  # (1, H, W)
    st.tuples(st.integers(1, 4), st.just(1), st.integers(1, 28), st.integers(1, 28)),  # (N, 1, H, W)
)


@st.composite
def images(draw) -> torch.Tensor:
    """Float images in [0, 1]: random, constant (black, white or grey), or binary like a drawn digit."""
    shape, dtype = draw(shapes), draw(st.sampled_from([torch.float16, torch.float32, torch.float64]))
    g = torch.Generator().manual_seed(draw(seeds))
    style = draw(st.sampled_from(["uniform", "constant", "binary"]))
    if style == "constant":
        return torch.full(shape, draw(st.sampled_from([0.0, 1.0, 0.5])), dtype=dtype)
    x = torch.rand(shape, generator=g, dtype=dtype)
    return (x > 0.7).to(dtype) if style == "binary" else x


@PROPERTY
@given(clean=images(), kind=kinds, level=levels, seed=seeds)
def test_noise_stays_in_range_keeps_shape_and_dtype_and_leaves_the_input_alone(clean, kind, level, seed):
    before = clean.clone()
    noisy = add_noise(clean, kind, level, torch.Generator().manual_seed(seed))
    assert noisy.shape == clean.shape and noisy.dtype == clean.dtype
    assert not noisy.isnan().any()
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert torch.equal(clean, before)


@PROPERTY
@given(clean=images(), kind=kinds, seed=seeds)
def test_level_zero_is_the_identity(clean, kind, seed):
    assert torch.equal(add_noise(clean, kind, 0.0, torch.Generator().manual_seed(seed)), clean)


@PROPERTY
@given(clean=images(), kind=kinds, level=levels, seed=seeds)
def test_the_same_seed_gives_the_same_noise(clean, kind, level, seed):
    first = add_noise(clean, kind, level, torch.Generator().manual_seed(seed))
    again = add_noise(clean, kind, level, torch.Generator().manual_seed(seed))
    assert torch.equal(first, again)


@st.composite
def pictures(draw) -> np.ndarray:
    """Greyscale pictures (H, W) as uint8 or float in [0, 1]: noise, blanks, or strokes on any background."""
    h, w = draw(st.integers(1, 120)), draw(st.integers(1, 120))
    rng = np.random.default_rng(draw(seeds))
    style = draw(st.sampled_from(["noise", "blank", "stroke", "sparse"]))
    if style == "noise":
        arr = rng.random((h, w))
    elif style == "blank":
        arr = np.full((h, w), draw(st.sampled_from([0.0, 1.0, 0.5, 0.09])))
    elif style == "sparse":  # a few bright specks on black, like a stray mark
        arr = (rng.random((h, w)) > draw(st.floats(0.9, 1.0))).astype(float)
    else:  # a stroke of ink on a background of any grey
        arr = np.full((h, w), draw(st.floats(0.0, 1.0)))
        top, left = rng.integers(0, h), rng.integers(0, w)
        arr[top : top + rng.integers(1, h + 1), left : left + rng.integers(1, w + 1)] = draw(st.floats(0.0, 1.0))
    return (arr * 255).round().astype(np.uint8) if draw(st.booleans()) else arr


def assert_mnist_digit(digit: torch.Tensor) -> None:
    """A (1, 28, 28) float tensor in [0, 1], no NaN, its ink inside a 20x20 box as MNIST's."""
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.float32
    assert not digit.isnan().any()
    assert digit.min() >= 0 and digit.max() <= 1
    rows, cols = digit[0].nonzero(as_tuple=True)
    if len(rows):
        assert rows.max() - rows.min() < 20 and cols.max() - cols.min() < 20


@PROPERTY
@given(picture=pictures())
def test_any_picture_becomes_an_mnist_digit_or_a_blank_error(picture):
    try:
        digit = to_mnist(picture)
    except ImageError as err:
        # Refused: no contrast at all, or only pure noise, specks or areas larger than a stroke.
        assert "blank" in str(err) and len(str(err)) < 120
        return
    assert_mnist_digit(digit)


@PROPERTY
@given(value=st.sampled_from([0, 1, 128, 255]), h=st.integers(1, 80), w=st.integers(1, 80))
def test_a_blank_picture_of_any_size_and_grey_is_refused(value, h, w):
    with pytest.raises(ImageError, match="blank"):
        to_mnist(np.full((h, w), value, np.uint8))


@PROPERTY
@given(picture=pictures(), mode=st.sampled_from(["L", "RGB", "RGBA", "I;16"]))
def test_any_uploaded_file_becomes_an_mnist_digit_or_a_short_error(picture, mode):
    arr = picture if picture.dtype == np.uint8 else (picture * 255).round().astype(np.uint8)
    img = Image.fromarray(arr.astype(np.uint16) * 257) if mode == "I;16" else Image.fromarray(arr).convert(mode)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    try:
        digit = image_to_mnist(buffer.getvalue())
    except ImageError as err:
        assert "\n" not in str(err) and len(str(err)) < 120
        return
    assert_mnist_digit(digit)


@PROPERTY
@given(h=st.integers(1, 64), w=st.integers(1, 64), seed=seeds, alpha=st.sampled_from(["random", "opaque", "clear"]))
def test_any_canvas_becomes_an_mnist_digit_or_a_blank_error(h, w, seed, alpha):
    rgba = np.random.default_rng(seed).integers(0, 256, (h, w, 4)).astype(np.uint8)
    rgba[..., 3] = {"random": rgba[..., 3], "opaque": 255, "clear": 0}[alpha]
    try:
        digit = canvas_to_mnist(rgba)
    except ImageError as err:
        assert "blank" in str(err)
        return
    assert_mnist_digit(digit)


@st.composite
def image_pairs(draw) -> tuple[torch.Tensor, torch.Tensor]:
    """Two batches of images in [0, 1], at least 7x7 (SSIM's window), possibly identical or extreme."""
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(7, 32)), draw(st.integers(7, 32))
    g = torch.Generator().manual_seed(draw(seeds))
    a = torch.rand(n, 1, h, w, generator=g)
    how = draw(st.sampled_from(["random", "noisy", "inverse", "black_white", "constant"]))
    if how == "black_white":
        return torch.zeros(n, 1, h, w), torch.ones(n, 1, h, w)
    if how == "constant":
        return torch.full((n, 1, h, w), 0.3), torch.full((n, 1, h, w), 0.3)
    if how == "inverse":
        return a, 1 - a
    if how == "noisy":
        return a, add_noise(a, draw(kinds), draw(levels), g)
    return a, torch.rand(n, 1, h, w, generator=g)


@PROPERTY
@given(pair=image_pairs())
def test_metrics_stay_in_their_ranges_and_mse_is_symmetric(pair):
    a, b = pair
    forward, backward = image_metrics(a, b), image_metrics(b, a)
    assert all(len(v) == len(a) for v in forward.values())
    assert not any(np.isnan(v).any() for v in forward.values())
    assert ((forward["mse"] >= 0) & (forward["mse"] <= 1)).all()
    assert (forward["psnr"] >= 0).all()  # MSE <= 1 on the unit scale; inf when identical
    assert ((forward["ssim"] >= -1) & (forward["ssim"] <= 1 + 1e-9)).all()
    np.testing.assert_allclose(forward["mse"], backward["mse"])
    np.testing.assert_allclose(forward["psnr"], backward["psnr"])


@PROPERTY
@given(pair=image_pairs())
def test_an_image_against_itself_has_infinite_psnr_zero_mse_and_unit_ssim(pair):
    a, _ = pair
    same = image_metrics(a, a.clone())
    assert (same["mse"] == 0).all() and np.isinf(same["psnr"]).all() and (same["psnr"] > 0).all()
    np.testing.assert_allclose(same["ssim"], 1.0)


query_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0.5", "nan", "inf", "-1", "1e309", "2.5", " 0.3 ", "٣", "²", "0x10", "9" * 30, "unet", "pick"]),
)
queries = st.dictionaries(
    st.one_of(st.sampled_from(list(URL_NAMES.values())), st.text(max_size=8)),
    st.one_of(query_texts, st.lists(query_texts, max_size=3)),
    max_size=10,
)


@PROPERTY
@given(query=queries)
def test_any_shared_link_gives_valid_values_or_a_notice_never_an_error(query):
    models = ["unet", "seed-ae", "median"]
    values, notices = parse_query(query, models)
    assert set(values) <= set(DEFAULTS)
    assert len(values) + len(notices) == sum(name in query for name in URL_NAMES.values())
    assert all(isinstance(n, str) and len(n) < 300 for n in notices)
    assert values.get("source", "pick") in SOURCES and values.get("noise_kind", "gaussian") in NOISE_KINDS
    assert values.get("model", "unet") in models
    assert 0.0 <= values.get("noise_level", 0.5) <= 1.0
    assert 0 <= values.get("noise_seed", 0) <= MAX_SEED and 0 <= values.get("digit_class", 0) <= 9
    assert parse_query(to_query(values), models) == (values, [])  # a link the app writes reads back the same


def _sample_files() -> dict[str, bytes]:
    """One small digit saved in every format and colour mode an upload may come in."""
    digit = np.zeros((40, 40), np.uint8)
    digit[8:32, 18:24] = 255
    files = {}
    for fmt, mode in [("PNG", "L"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"), ("JPEG", "CMYK"), ("GIF", "P"),
                      ("BMP", "RGB"), ("TIFF", "L"), ("TIFF", "CMYK"), ("WEBP", "RGB")]:  # fmt: skip
        buffer = io.BytesIO()
        Image.fromarray(digit).convert(mode).save(buffer, format=fmt)
        files[f"{fmt} {mode}"] = buffer.getvalue()
    return files


SAMPLE_FILES = _sample_files()


@PROPERTY
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # Pillow warns about damaged tags
@given(
    name=st.sampled_from(sorted(SAMPLE_FILES)),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    keep=st.one_of(st.none(), st.floats(0, 1, exclude_min=True)),
)
def test_any_damaged_picture_file_gives_a_digit_or_a_short_image_error(name, flips, keep):
    """Random bytes overwritten (and maybe the end cut off) in a real file: never another exception."""
    data = bytearray(SAMPLE_FILES[name])
    for where, value in flips:
        data[int(where * len(data))] = value
    data = data[: max(1, int(len(data) * keep))] if keep else data
    try:
        digit = image_to_mnist(bytes(data))
    except ImageError as err:
        assert "\n" not in str(err) and len(str(err)) < 120
        return
    assert_mnist_digit(digit)
