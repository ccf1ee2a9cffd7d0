"""Training: a short dry run lowers the loss, is seeded, can stop early, and validates its config."""

import math
import os
import re

import pytest
import torch

from denoiser.augment import augment, shift_digits
from denoiser.metrics import image_metrics
from denoiser.noise import NoiseRange
from denoiser.train import TrainConfig, _loss, train
from denoiser.weights import build_model

TINY = {"epochs": 2, "batch_size": 16, "lr": 3e-3, "threads": 1}


def _few(train_digits, n=64):
    return train_digits.subset(slice(0, n))


def test_two_epoch_dry_run_gives_finite_falling_loss(train_digits):
    model = build_model("unet", {"widths": (8, 16, 32), "mid_blocks": 0}, seed=0)  # small: learns within 8 steps
    seen = []
    result = train(model, _few(train_digits), TrainConfig(**TINY, augment=False), on_step=lambda s: seen.append(s))
    assert result.steps == 8 == len(seen)
    assert all(math.isfinite(s.loss) for s in seen)
    assert result.epoch_losses[1] < result.epoch_losses[0]
    assert seen[-1].step == seen[-1].total_steps and seen[-1].images_per_s > 0
    assert not model.training


@pytest.mark.parametrize("targets", ["noisy", "self"])
def test_a_dry_run_without_clean_targets_gives_a_finite_falling_loss_and_other_weights(train_digits, targets):
    """Noise2Noise and Noise2Self train, and really on other targets than the clean digits."""

    def run(targets: str):
        model = build_model("unet", {"widths": (8, 16, 32), "mid_blocks": 0}, seed=0)
        config = TrainConfig(**TINY, curriculum=(NoiseRange("gaussian", 0.3, 0.3),), targets=targets)
        return model, train(model, _few(train_digits), config)

    model, result = run(targets)
    assert all(math.isfinite(v) for v in result.epoch_losses)
    assert result.epoch_losses[1] < result.epoch_losses[0]
    clean_model, _ = run("clean")
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), clean_model.parameters(), strict=True))


def test_seed_ae_trains_with_binary_cross_entropy(train_digits):
    model = build_model("seed-ae", seed=0)
    config = TrainConfig(**TINY, loss="bce", curriculum=(NoiseRange("gaussian", 0.5, 0.5),))
    result = train(model, _few(train_digits), config)
    assert all(math.isfinite(v) for v in result.epoch_losses)
    assert result.epoch_losses[1] < result.epoch_losses[0]


def test_psnr_loss_is_minus_the_benchmarks_mean_per_image_psnr(train_digits):
    """The "psnr" loss optimises what the benchmark reports: the mean of per-image PSNRs, not the batch MSE."""
    clean = train_digits.images[:8]
    g = torch.Generator().manual_seed(0)
    # one badly and seven lightly damaged digits: their mean PSNR differs from the PSNR of the mean MSE
    denoised = clean + torch.randn(clean.shape, generator=g) * torch.tensor([0.4] + [0.15] * 7).view(-1, 1, 1, 1)
    denoised = denoised.clamp(0, 1)
    expected = -image_metrics(clean, denoised)["psnr"].mean()
    assert _loss("psnr", denoised, clean).item() == pytest.approx(float(expected), abs=0.05)
    batch_psnr = -10 * math.log10(float(((denoised - clean) ** 2).mean()))
    assert abs(batch_psnr + float(expected)) > 1  # the two would be told apart


def test_a_larger_psnr_floor_gives_the_noisier_digit_more_of_the_gradient(train_digits):
    """The floor caps how much a nearly clean digit outweighs a badly damaged one."""
    clean = train_digits.images[:2]
    offsets = torch.tensor([0.3, 0.01]).view(-1, 1, 1, 1)  # digit 0 badly off, digit 1 nearly right

    def gradient_share(floor: float) -> float:
        denoised = (clean + offsets).requires_grad_()
        _loss("psnr", denoised, clean, floor).backward()
        per_digit = denoised.grad.abs().flatten(1).sum(1)
        return float(per_digit[0] / per_digit.sum())

    assert gradient_share(1e-3) > 2 * gradient_share(1e-4)


def test_psnr_loss_trains(train_digits):
    model = build_model("unet", {"widths": (8, 16, 32), "mid_blocks": 0}, seed=0)
    result = train(model, _few(train_digits), TrainConfig(**TINY, loss="psnr", augment=False))
    assert all(math.isfinite(v) for v in result.epoch_losses)
    assert result.epoch_losses[1] < result.epoch_losses[0]


def test_same_seed_gives_the_same_weights(train_digits):
    def run():
        model = build_model("unet", {"widths": (4, 8, 16)}, seed=3)
        train(model, _few(train_digits, 32), TrainConfig(**TINY, seed=3))
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(run(), run())


def test_callback_can_stop_training_early(train_digits):
    model = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    result = train(model, _few(train_digits), TrainConfig(**TINY), on_step=lambda s: s.step >= 3)
    assert result.steps == 3 and result.stopped_early


@pytest.mark.parametrize("stop_after", [3, 4])  # mid-epoch, and at the end of the first epoch (4 steps each)
def test_a_stopped_run_resumed_from_its_state_ends_with_the_same_weights(train_digits, stop_after):
    """A long training split over sittings must give the model an unbroken run gives, bit for bit."""
    digits, config = _few(train_digits), TrainConfig(**TINY, loss="psnr")
    whole = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    train(whole, digits, config)

    part, states = build_model("unet", {"widths": (4, 8, 16)}, seed=0), []
    first = train(part, digits, config, on_step=lambda s: s.step >= stop_after, on_state=states.append)
    assert first.stopped_early and first.steps == stop_after and states[-1]["stopped"]
    weights = {k: v.clone() for k, v in part.state_dict().items()}  # what a .resume file holds beside the state
    resumed = build_model("unet", {"widths": (4, 8, 16)}, seed=7)  # other starting weights: all must come from the file
    resumed.load_state_dict(weights)
    rest = train(resumed, digits, config, resume=states[-1])
    assert rest.steps == 8 and not rest.stopped_early and len(rest.epoch_losses) == 2
    for name, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_resume_refuses_a_state_from_a_longer_run_or_other_digits(train_digits):
    digits, states = _few(train_digits), []
    train(build_model("unet", {"widths": (4, 8, 16)}), digits, TrainConfig(**{**TINY, "epochs": 3}),
          on_step=lambda s: s.step >= 9, on_state=states.append)  # fmt: skip
    with pytest.raises(ValueError, match=re.escape("resume state is at step 9, outside this run's 1..7 steps")):
        train(build_model("unet", {"widths": (4, 8, 16)}), digits, TrainConfig(**TINY), resume=states[-1])
    with pytest.raises(ValueError, match="resume state is for 64 training digits; this run has 48"):
        train(build_model("unet", {"widths": (4, 8, 16)}), _few(train_digits, 48), TrainConfig(**TINY),
              resume=states[0])  # fmt: skip


def test_augment_keeps_shape_and_range_and_moves_the_digit(train_digits):
    clean = _few(train_digits, 8).images
    moved = augment(clean, torch.Generator().manual_seed(0))
    assert moved.shape == clean.shape and moved.min() >= 0 and moved.max() <= 1
    assert not torch.allclose(moved, clean)


def test_shift_moves_each_digit_by_whole_pixels_without_blurring_it(train_digits):
    """The shift keeps every pixel value (no resampling) and moves the ink by at most `shift` px."""
    clean = _few(train_digits, 32).images
    moved = shift_digits(clean, 1, torch.Generator().manual_seed(0))
    assert moved.shape == clean.shape and not torch.equal(moved, clean)
    offsets = [[(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                if torch.equal(torch.roll(before, (dy, dx), dims=(1, 2)), after)]
               for before, after in zip(clean, moved, strict=True)]  # fmt: skip
    # MNIST ink never touches the border, so each move equals a roll by one of the 9 offsets
    assert all(len(found) == 1 for found in offsets)
    offsets = {found[0] for found in offsets}
    assert len(offsets) > 3  # each digit draws its own offset
    assert torch.equal(shift_digits(clean, 0, torch.Generator()), clean)


def test_shift_fills_with_background_rather_than_wrapping_around():
    edge = torch.zeros(1, 1, 5, 5)
    edge[..., :, -1] = 1  # ink in the last column: a shift to the right must drop it, not wrap it to column 0
    g = torch.Generator().manual_seed(0)
    outs = [shift_digits(edge, 2, g) for _ in range(40)]
    assert all(o[..., :, 0].sum() == 0 for o in outs)
    assert any(o.sum() == 0 for o in outs) and any(o[..., :, -3].sum() == 5 for o in outs)


def test_shift_training_is_seeded_and_differs_from_unshifted(train_digits):
    def weights(shift):
        model = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
        train(model, _few(train_digits), TrainConfig(**TINY, shift=shift))
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(0))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"epochs": 0}, "epochs"), ({"batch_size": 1.5}, "batch_size"), ({"lr": -1}, "lr"),
     ({"loss": "huber"}, "loss"), ({"curriculum": ()}, "curriculum"), ({"max_seconds": -1}, "max_seconds"),
     ({"seed": -1}, "seed"), ({"seed": "abc"}, "seed"), ({"seed": 1.5}, "seed"), ({"threads": -2}, "threads"),
     ({"psnr_floor": 0}, "psnr_floor"), ({"psnr_floor": float("nan")}, "psnr_floor"),
     ({"shift": 5}, "shift must be a whole number of pixels in 0..4"), ({"shift": -1}, "shift"),
     ({"shift": True}, "shift"), ({"batch_size": 1025}, r"batch_size must be a whole number in 1\.\.1024"),
     ({"threads": (os.cpu_count() or 1) + 1}, r"threads must be a whole number in 0\.\.\d+")],
)  # fmt: skip
def test_bad_config_raises_value_error_naming_the_field(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_config_round_trips_through_plain_types():
    config = TrainConfig(curriculum=(NoiseRange("poisson", 0.1, 0.4),))
    assert TrainConfig(**config.to_dict()) == config


def test_training_leaves_the_process_thread_count_as_it_found_it(train_digits):
    """A server trains for one visitor while serving others: their inference threads must not change."""
    before = torch.get_num_threads()
    model = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    train(model, _few(train_digits, 16), TrainConfig(**TINY | {"threads": 1 if before != 1 else 2}))
    assert torch.get_num_threads() == before


def test_images_per_second_counts_the_digits_each_step_really_had(train_digits):
    """Ten digits at batch size 64 make a step of ten, not of 64."""
    infos = []
    train(build_model("unet", {"widths": (4, 8, 16)}, seed=0), _few(train_digits, 10),
          TrainConfig(**TINY | {"batch_size": 64}), on_step=infos.append)  # fmt: skip
    for info in infos:
        assert info.images_per_s * info.elapsed == pytest.approx(10 * info.step, rel=1e-6)
