"""Picture-like training digits: reshaped digits stay sharp targets, picture noise is correlated, all seeded."""

from __future__ import annotations

import pytest
import torch

from denoiser import augment
from denoiser.bench import realworld
from denoiser.noise import BLIND_CURRICULUM, add_curriculum_noise
from denoiser.train import TrainConfig


def test_reshape_keeps_shape_range_and_is_seeded(clean):
    a = augment.reshape(clean, torch.Generator().manual_seed(0))
    b = augment.reshape(clean, torch.Generator().manual_seed(0))
    assert a.shape == clean.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, augment.reshape(clean, torch.Generator().manual_seed(1)))


def test_reshaped_digits_stay_sharp_and_similar(clean):
    """Changed at 4x and averaged back: the strokes stay bright (only a thinned one dims a little), and each
    digit stays close to its source."""
    shaped = augment.reshape(clean, torch.Generator().manual_seed(0))
    assert shaped.amax((1, 2, 3)).min() > 0.6
    assert (shaped > 0.95).flatten(1).sum(1).float().mean() > 10
    moved = (shaped - clean).pow(2).flatten(1).mean(1)
    assert moved.max() < 0.1 and moved.mean() > 1e-4


def test_picture_noise_is_spatially_correlated(clean):
    """Neighbouring pixels' noise is correlated, as a resampled camera picture's is, unlike gaussian noise."""
    g = torch.Generator().manual_seed(0)
    background = torch.full((256, 1, 28, 28), 0.5)
    residual = augment.picture_noise(background, g) - background
    residual = residual - residual.mean((2, 3), keepdim=True)
    right = (residual[..., :, 1:] * residual[..., :, :-1]).mean() / residual.pow(2).mean()
    assert right > 0.2


def test_training_pair_changes_only_its_share_and_keeps_targets_clean(clean):
    g = torch.Generator().manual_seed(0)
    target, noisy = augment.training_pair(clean, BLIND_CURRICULUM, 0.5, g)
    assert target.shape == noisy.shape == clean.shape
    assert torch.equal(target[8:], clean[8:])  # the rest of the batch is untouched
    assert not torch.equal(target[:8], clean[:8])
    assert target.min() >= 0 and noisy.max() <= 1


def test_share_zero_draws_exactly_the_plain_curriculum(clean):
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    target, noisy = augment.training_pair(clean, BLIND_CURRICULUM, 0.0, g1)
    assert torch.equal(target, clean) and torch.equal(noisy, add_curriculum_noise(clean, BLIND_CURRICULUM, g2))


@pytest.mark.parametrize("share", [-0.1, 1.5, "half", float("nan")])
def test_a_share_outside_0_1_is_refused(share):
    with pytest.raises(ValueError, match="pictures must be a share in"):
        TrainConfig(pictures=share)


def test_aligned_psnr_forgives_a_shift_of_a_pixel_or_two(clean):
    moved = torch.roll(clean[0], (1, -2), dims=(-2, -1))
    assert realworld.aligned_psnr(moved, clean[0]) == float("inf")
    assert realworld.aligned_psnr(torch.roll(clean[0], 4, dims=-1), clean[0]) < 30


@pytest.mark.slow
def test_typeset_digits_look_like_mnist_and_are_read():
    from denoiser.classifier import accuracy, load_classifier

    digits = realworld.typeset_digits(seed=0, per_font=1)
    assert digits.images.shape == (80, 1, 28, 28) and digits.images.amax((1, 2, 3)).min() == 1
    assert accuracy(load_classifier(), digits.images, digits.labels) > 0.6
