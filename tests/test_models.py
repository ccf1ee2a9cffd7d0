"""Models: shapes, output range, the seed autoencoder's documented layers, residual learning."""

import pytest
import torch
from torch import nn

from denoiser.models import MaxPool2, SeedAE, SeedAEConfig, UNet, UNetConfig, grow_mid_blocks


@pytest.mark.parametrize("model", [SeedAE(SeedAEConfig()), UNet(UNetConfig())])
def test_output_has_input_shape_and_stays_in_range(model):
    noisy = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        denoised = model(noisy)
    assert denoised.shape == noisy.shape
    assert denoised.min() >= 0 and denoised.max() <= 1


def test_seed_ae_has_the_tutorials_layers():
    convs = [m for m in SeedAE(SeedAEConfig()).modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 32), (32, 16), (16, 16), (16, 32), (32, 1)]
    assert isinstance(list(SeedAE(SeedAEConfig()).net)[-1], nn.Sigmoid)


def test_unet_subtracts_its_predicted_noise():
    """Residual learning: a network that predicts zero noise returns its input unchanged."""
    model = UNet(UNetConfig(widths=(8, 16, 32), mid_blocks=1))
    nn.init.zeros_(model.head.weight)
    nn.init.zeros_(model.head.bias)
    noisy = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(model(noisy), noisy)


def test_unet_widths_and_mid_blocks_set_its_size():
    count = lambda config: sum(p.numel() for p in UNet(config).parameters())  # noqa: E731
    assert (
        count(UNetConfig(widths=(8, 16), mid_blocks=0))
        < count(UNetConfig(widths=(8, 16, 32), mid_blocks=0))
        < count(UNetConfig(widths=(8, 16, 32), mid_blocks=2))
    )
    with pytest.raises(ValueError, match="widths"):
        UNetConfig(widths=(16,))
    with pytest.raises(ValueError, match="mid_blocks"):
        UNetConfig(mid_blocks=-1)


def test_a_grown_unet_denoises_as_the_smaller_one_until_it_is_trained():
    """Blocks added at the coarsest level start as the identity, and then they learn."""
    torch.manual_seed(0)
    small = UNet(UNetConfig(widths=(8, 16, 32), mid_blocks=1))
    grown = grow_mid_blocks(small, 3)
    assert grown.config.mid_blocks == 3 and len(grown.mid) == 3
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in small.parameters())
    noisy = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(grown(noisy), small(noisy))
    # A training step reaches the new blocks: their zeroed convolution gets a gradient.
    grown.predict_noise(noisy).square().mean().backward()
    assert grown.mid[2].body[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="mid_blocks must be >= the model's own 1"):
        grow_mid_blocks(small, 0)


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: UNetConfig(widths=(8, 8, 8, 8)), r"UNetConfig\.widths must list 2\.\.3 filter counts"),
        (lambda: UNetConfig(widths=(16,)), r"UNetConfig\.widths must list 2\.\.3 filter counts"),
        (lambda: UNetConfig(widths="abc"), r"UNetConfig\.widths must list 2\.\.3 filter counts"),
        (lambda: UNetConfig(widths=(100000, 100000)), r"UNetConfig\.widths must be a whole number in 1\.\.512"),
        (lambda: UNetConfig(widths=(16, 0)), r"UNetConfig\.widths must be a whole number in 1\.\.512"),
        (lambda: UNetConfig(widths=(16, 32.5)), r"UNetConfig\.widths must be a whole number in 1\.\.512"),
        (lambda: UNetConfig(mid_blocks=100000), r"UNetConfig\.mid_blocks must be a whole number in 0\.\.32"),
        (lambda: UNetConfig(mid_blocks=-1), r"UNetConfig\.mid_blocks must be a whole number in 0\.\.32"),
        (lambda: UNetConfig(mid_blocks="2"), r"UNetConfig\.mid_blocks must be a whole number in 0\.\.32"),
        (lambda: UNetConfig(channels=3), r"UNetConfig\.channels must be a whole number in 1\.\.1"),
        (lambda: SeedAEConfig(width=100000), r"SeedAEConfig\.width must be a whole number in 1\.\.512"),
        (lambda: SeedAEConfig(bottleneck=True), r"SeedAEConfig\.bottleneck must be a whole number in 1\.\.512"),
    ],
)
def test_absurd_configs_are_refused_with_the_allowed_range_before_any_weight_exists(make, named):
    with pytest.raises(ValueError, match=named):
        make()


@pytest.mark.parametrize("shape", [(44, 32, 28, 28), (3, 8, 7, 7), (2, 4, 15, 9)])
def test_the_quick_pooling_gives_torchs_values(shape):
    """Reading digits pools without gradients, by its own way: to the bit torch's, odd sides included."""
    x = torch.relu(torch.randn(shape))
    x[0, 0, :2, :2] = 0.5  # ties
    with torch.inference_mode():
        assert torch.equal(MaxPool2()(x), nn.MaxPool2d(2)(x))


def test_training_passes_the_gradient_back_as_torch_does():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    MaxPool2()(x).sum().backward()
    mine, x.grad = x.grad, None
    nn.MaxPool2d(2)(x).sum().backward()
    assert torch.equal(mine, x.grad)
