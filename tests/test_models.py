"""Models: shapes, output range, the seed autoencoder's documented layers, residual learning."""

import pytest
import torch
from torch import nn

from denoiser.models import SeedAE, SeedAEConfig, UNet, UNetConfig


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
