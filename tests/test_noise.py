"""Noise generators: the strength scale, seeding, validation, and agreement with scikit-image."""

import math

import pytest
import torch
from skimage.util import random_noise

from denoiser.noise import BLIND_CURRICULUM, NOISE_KINDS, NoiseRange, add_curriculum_noise, add_noise


def _grey(value: float, shape=(64, 1, 28, 28)) -> torch.Tensor:
    return torch.full(shape, value)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_level_zero_returns_the_input_unchanged(kind, clean, gen):
    assert torch.equal(add_noise(clean, kind, 0.0, gen), clean)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_output_keeps_shape_and_range_and_leaves_input_alone(kind, clean, gen):
    before = clean.clone()
    noisy = add_noise(clean, kind, 0.7, gen)
    assert noisy.shape == clean.shape
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert not torch.equal(noisy, clean)
    assert torch.equal(clean, before)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_same_seed_same_noise_other_seed_other_noise(kind, clean):
    a = add_noise(clean, kind, 0.4, torch.Generator().manual_seed(7))
    b = add_noise(clean, kind, 0.4, torch.Generator().manual_seed(7))
    c = add_noise(clean, kind, 0.4, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("kind", ["gaussian", "speckle", "poisson"])
def test_level_is_the_noise_std_a_white_pixel_sees(kind, gen):
    """On a mid-grey image (so clipping barely matters) the spread grows with level as documented."""
    white = _grey(1.0)
    level = 0.1
    noisy = add_noise(white * 0.5, kind, level, gen)
    expected = {"gaussian": level, "speckle": level * 0.5, "poisson": level * math.sqrt(0.5)}[kind]
    assert (noisy - 0.5).std().item() == pytest.approx(expected, rel=0.05)


def test_salt_pepper_replaces_the_given_fraction_half_salt_half_pepper(gen):
    grey = _grey(0.5)
    noisy = add_noise(grey, "salt_pepper", 0.2, gen)
    changed = noisy != 0.5
    assert changed.float().mean().item() == pytest.approx(0.2, abs=0.01)
    assert (noisy[changed] == 1).float().mean().item() == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(
    ("kind", "skimage_kwargs"),
    [
        ("gaussian", lambda lv: {"mode": "gaussian", "var": lv**2}),
        ("speckle", lambda lv: {"mode": "speckle", "var": lv**2}),
        ("salt_pepper", lambda lv: {"mode": "s&p", "amount": lv}),
    ],
)
def test_statistics_match_scikit_image_random_noise(kind, skimage_kwargs, clean, gen):
    """Our definitions are the field's: residual mean and spread agree with skimage.util.random_noise."""
    level = 0.3
    ours = (add_noise(clean, kind, level, gen) - clean).numpy()
    img = clean.numpy()
    theirs = random_noise(img, rng=0, clip=True, **skimage_kwargs(level)) - img
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.01)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.1)  # a var/std mix-up would be off 3x


def test_poisson_matches_photon_counting(gen):
    """Poisson noise is Poisson(clean * peak) / peak with peak = 1 / level^2 photons at white."""
    level, value = 0.1, 0.6  # peak 100: clipping at 1 is then 5 std away
    peak = 1 / level**2
    noisy = add_noise(_grey(value, (200, 1, 28, 28)), "poisson", level, gen)
    counts = (noisy * peak).round()
    assert torch.allclose(counts, noisy * peak, atol=1e-3)  # whole photon counts
    assert counts.mean().item() == pytest.approx(value * peak, rel=0.01)
    assert counts.var().item() == pytest.approx(value * peak, rel=0.05)


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (3, 1, 28, 28)])
def test_works_on_single_images_and_batches(shape, gen):
    assert add_noise(torch.rand(shape), "gaussian", 0.3, gen).shape == shape


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"kind": "pink"}, "kind"),
        ({"level": 1.5}, "level"),
        ({"level": -0.1}, "level"),
        ({"level": float("nan")}, "level"),
        ({"level": float("inf")}, "level"),
        ({"level": "0.3"}, "level"),
        ({"clean": torch.rand(2, 2, 1, 28, 28)}, "clean"),
        ({"clean": torch.rand(28)}, "clean"),
        ({"clean": torch.full((28, 28), float("nan"))}, "clean"),
        ({"clean": torch.full((28, 28), 2.0)}, "clean"),
        ({"clean": [[0.0] * 28] * 28}, "clean"),
        ({"clean": torch.zeros(28, 28, dtype=torch.uint8)}, "clean"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, names):
    args = {"clean": torch.rand(28, 28), "kind": "gaussian", "level": 0.3} | kwargs
    with pytest.raises(ValueError, match=names):
        add_noise(args["clean"], args["kind"], args["level"])


def test_curriculum_mixes_kinds_within_a_batch_and_repeats_with_its_seed():
    clean = _grey(0.5, (256, 1, 28, 28))
    a = add_curriculum_noise(clean, BLIND_CURRICULUM, torch.Generator().manual_seed(3))
    b = add_curriculum_noise(clean, BLIND_CURRICULUM, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    binary = ((a == 0) | (a == 1) | (a == 0.5)).flatten(1).all(1)  # salt & pepper leaves only 0, 1, 0.5
    assert 0.1 < binary.float().mean() < 0.5
    assert a.min() >= 0 and a.max() <= 1


def test_noise_range_rejects_bad_bounds():
    with pytest.raises(ValueError, match="low"):
        NoiseRange("gaussian", 0.5, 0.2)
    with pytest.raises(ValueError, match="kind"):
        NoiseRange("blue", 0.1, 0.2)
