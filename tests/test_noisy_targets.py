"""Learning without clean digits: Noise2Noise's targets average to the clean digit, the clipped ones do not,
the blind spot hides what it scores, and a loss that cannot fit the noise is refused."""

import math

import pytest
import torch

from denoiser.noise import NoiseRange, add_noise, curriculum_copies
from denoiser.noisy_targets import MASK_SHARE, blind_spot, sound_loss, trained_on, training_batch
from denoiser.train import TrainConfig, _loss
from denoiser.weights import pretrained_meta

GAUSSIAN = (NoiseRange("gaussian", 0.5, 0.5),)


def test_noise2noise_targets_average_to_the_clean_digit_and_clipped_ones_to_grey(clean, gen):
    """Unclipped, a black pixel's noisy copies average 0; clipped as add_noise gives them, level / sqrt(2 pi)."""
    black = torch.zeros(256, 1, 28, 28)
    _, target, mask = training_batch(black, GAUSSIAN, "noisy", gen)
    _, clipped, _ = training_batch(black, GAUSSIAN, "noisy-clipped", gen)
    assert mask is None and abs(float(target.mean())) < 0.005
    assert float(clipped.mean()) == pytest.approx(0.5 / math.sqrt(2 * math.pi), abs=0.005)  # the grey background
    noisy, target, _ = training_batch(clean, GAUSSIAN, "noisy", gen)
    assert noisy.min() >= 0 and noisy.max() <= 1  # the input is a picture as any other: clipped
    assert not torch.equal(noisy, target.clamp(0, 1))  # a second copy, with noise of its own
    assert abs(float((target - clean).mean())) < 0.01


def test_both_copies_share_each_digits_noise_kind_and_level(gen):
    """A digit's target copy has the noise its input has: the loss chosen for that kind fits it."""
    grey = torch.full((64, 1, 28, 28), 0.5)
    curriculum = (NoiseRange("gaussian", 0.1, 0.1), NoiseRange("gaussian", 0.6, 0.6))
    first, second = curriculum_copies(grey, curriculum, gen, copies=2)
    spread = lambda x: (x - 0.5).flatten(1).std(1)  # noqa: E731
    assert torch.allclose(spread(first), spread(second), rtol=0.2)
    assert {round(s, 1) for s in spread(first).tolist()} == {0.1, 0.6}  # both levels were drawn


def test_the_first_copy_clipped_is_what_add_noise_gives():
    """The noise before the clip is the noise every other part of the project draws: same seed, same pixels."""
    clean = torch.rand(4, 1, 28, 28)
    for kind in ("gaussian", "speckle", "poisson", "salt_pepper"):
        (copy,) = curriculum_copies(clean, (NoiseRange(kind, 0.3, 0.3),), torch.Generator().manual_seed(5), 1)
        g = torch.Generator().manual_seed(5)
        torch.randint(1, (4,), generator=g), torch.rand(4, generator=g)  # the kind and level draws come first
        assert torch.equal(copy.clamp(0, 1), add_noise(clean, kind, 0.3, g)), kind


def test_the_blind_spot_replaces_a_sixteenth_of_the_pixels_each_by_a_neighbour(gen):
    noisy = torch.rand(64, 1, 28, 28)
    seen, mask = blind_spot(noisy, gen)
    assert float(mask.float().mean()) == pytest.approx(MASK_SHARE, abs=0.005)
    assert torch.equal(seen[~mask], noisy[~mask])  # the rest is untouched
    assert not (seen == noisy)[mask].any()  # never a pixel's own value, at the edges neither
    padded = torch.nn.functional.pad(noisy, (1, 1, 1, 1), mode="reflect")
    around = torch.stack([padded[..., 1 + dy : 29 + dy, 1 + dx : 29 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                          if dy or dx])  # fmt: skip
    assert (around == seen).any(0)[mask].all()  # each hidden pixel shows one of its 8 neighbours


def test_noise2self_scores_the_hidden_pixels_only(gen):
    """What the model outputs where it saw the pixel itself does not count: it cannot learn to copy its input."""
    clean = torch.rand(8, 1, 28, 28)
    noisy, target, mask = training_batch(clean, GAUSSIAN, "self", gen)
    guess = torch.rand_like(clean)
    copied = torch.where(mask, guess, target)  # right wherever the pixel was seen, as copying the input would be
    assert _loss("mse", copied, target, mask=mask) == _loss("mse", guess, target, mask=mask) > 0.1
    assert not torch.equal(noisy[mask], target.clamp(0, 1)[mask])


@pytest.mark.parametrize(
    ("curriculum", "loss"),
    [((NoiseRange("gaussian", 0, 0.8),), "mse"), ((NoiseRange("salt_pepper", 0, 0.5),), "l1"),
     ((NoiseRange("poisson", 0.1, 0.5), NoiseRange("speckle", 0.1, 0.5)), "mse"),
     ((NoiseRange("gaussian", 0, 0.8), NoiseRange("salt_pepper", 0, 0.5)), "l1"),
     ((NoiseRange("poisson", 0, 0.8), NoiseRange("salt_pepper", 0, 0.5)), None)],
)  # fmt: skip
def test_the_loss_that_fits_the_noise(curriculum, loss):
    """The mean for zero-mean noise; the median for salt-and-pepper; none for Poisson and salt-and-pepper at once."""
    assert sound_loss(curriculum) == loss
    assert sound_loss(curriculum, "psnr") == loss  # the unet's own loss never fits noisy targets
    assert sound_loss(curriculum, "bce") == ("bce" if loss == "mse" else loss)  # seed-ae's does where the mean does


def test_bce_takes_noisy_targets_outside_0_1_and_its_best_guess_is_the_clean_value():
    """Linear in the target, binary cross-entropy averaged over noisy copies is least at the clean value."""
    target = 0.3 + 0.5 * torch.randn(20_000, generator=torch.Generator().manual_seed(0))
    assert target.min() < 0 and target.max() > 1
    guesses = torch.linspace(0.1, 0.5, 41)
    losses = [float(_loss("bce", torch.full_like(target, g), target)) for g in guesses]
    assert float(guesses[losses.index(min(losses))]) == pytest.approx(0.3, abs=0.015)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [({"curriculum": (NoiseRange("salt_pepper", 0.2, 0.2),), "loss": "mse"}, r"loss 'mse' does not fit salt_pepper.*"
      r"pulled to 0\.5.*use the l1 loss"),
     ({"curriculum": (NoiseRange("poisson", 0.5, 0.5),), "loss": "l1"}, "loss 'l1' does not fit poisson.*skewed.*mse"),
     ({"curriculum": (NoiseRange("salt_pepper", 0.2, 0.2),), "loss": "bce"}, "loss 'bce'.*pulled to 0\\.5"),
     ({"curriculum": GAUSSIAN, "loss": "psnr"}, "loss 'psnr' does not fit gaussian.*its own error.*use the mse"),
     ({"loss": "mse"}, "curriculum: .*none fits both poisson .mse. and salt_pepper .l1."),
     ({"curriculum": GAUSSIAN, "loss": "mse", "pictures": 0.5}, "pictures must be 0 with targets 'noisy'")],
)  # fmt: skip
def test_a_loss_that_cannot_learn_from_noisy_targets_is_refused_saying_why(kwargs, says):
    for targets in ("noisy", "self"):
        with pytest.raises(ValueError, match=says.replace("'noisy'", repr(targets))):
            TrainConfig(**kwargs, targets=targets)


def test_targets_are_checked_and_clean_ones_take_any_loss():
    with pytest.raises(ValueError, match="targets must be one of clean, noisy, noisy-clipped, self; got 'noise'"):
        TrainConfig(targets="noise")
    assert TrainConfig(loss="bce", pictures=0.5).targets == "clean"


def test_a_config_stored_before_targets_existed_loads_as_clean_targets():
    """Checkpoints store TrainConfig.to_dict(); older ones have no "targets" and learned from clean digits."""
    stored = pretrained_meta("unet")["train"]
    assert "targets" not in stored  # the shipped weights predate the field
    assert TrainConfig(**stored).targets == "clean" and trained_on(pretrained_meta("unet")) == "clean"
    assert trained_on({}) is None  # a checkpoint that does not say how it was trained
    assert TrainConfig(**TrainConfig(targets="self", curriculum=GAUSSIAN).to_dict()).targets == "self"
