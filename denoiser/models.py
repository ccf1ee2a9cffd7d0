"""Denoising networks, pure torch: no file I/O, no argparse, no UI.

- `SeedAE`: the small convolutional autoencoder that the MNIST denoising tutorials use
  (Keras blog "Building Autoencoders in Keras", and its many copies), kept as a baseline.
  It maps noisy -> clean directly through a 7x7 bottleneck and ends in a sigmoid.
- `UNet`: a small U-Net with two down-samplings (28 -> 14 -> 7) and residual learning:
  it predicts the noise and subtracts it from the input (DnCNN, Zhang et al. 2017; KAIR
  `network_dncnn.py`), which keeps clean strokes sharp because the identity is free.
  It is blind: it is not told the noise kind or level.

Both take and return float tensors shaped (N, 1, 28, 28) in [0, 1]; any H, W divisible by 4 work.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class SeedAEConfig:
    channels: int = 1  # image channels
    width: int = 32  # filters of the outer convolutions
    bottleneck: int = 16  # filters of the inner convolutions


class SeedAE(nn.Module):
    """Conv(1->32)+ReLU, pool, Conv(32->16)+ReLU, pool, Conv(16->16)+ReLU, up, Conv(16->32)+ReLU, up, Conv(32->1)+Sigmoid."""

    def __init__(self, config: SeedAEConfig) -> None:
        super().__init__()
        self.config = config
        c, w, b = config.channels, config.width, config.bottleneck
        self.net = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # (N, w, 14, 14)
            nn.Conv2d(w, b, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # (N, b, 7, 7)
            nn.Conv2d(b, b, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (N, b, 14, 14)
            nn.Conv2d(b, w, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (N, w, 28, 28)
            nn.Conv2d(w, c, 3, padding=1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return self.net(noisy)


@dataclass
class UNetConfig:
    channels: int = 1  # image channels
    width: int = 24  # filters at full resolution; doubled at each down-sampling
    depth: int = 2  # number of down-samplings (28 -> 14 -> 7)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 convolutions with ReLU: the unit every U-Net level is built of."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(inplace=True),
    )  # fmt: skip


class UNet(nn.Module):
    """U-Net that predicts the noise; the denoised image is clamp(noisy - noise, 0, 1)."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        if config.depth < 1:
            raise ValueError(f"UNetConfig.depth must be >= 1; got {config.depth}")
        self.config = config
        widths = [config.width * 2**i for i in range(config.depth + 1)]  # e.g. [24, 48, 96]
        self.down = nn.ModuleList([_block(config.channels, widths[0])])
        self.down.extend(_block(widths[i], widths[i + 1]) for i in range(config.depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(config.depth))
        self.merge = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in range(config.depth))
        self.head = nn.Conv2d(widths[0], config.channels, 1)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return (noisy - self.predict_noise(noisy)).clamp(0, 1)

    def predict_noise(self, noisy: torch.Tensor) -> torch.Tensor:
        skips = []
        x = self.down[0](noisy)  # (N, w, 28, 28)
        for block in self.down[1:]:
            skips.append(x)
            x = block(self.pool(x))  # halves H, W and doubles the channels
        for i in reversed(range(self.config.depth)):
            x = self.merge[i](torch.cat([self.up[i](x), skips[i]], dim=1))
        return self.head(x)
