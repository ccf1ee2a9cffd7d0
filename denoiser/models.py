"""Denoising networks, pure torch: no file I/O, no argparse, no UI.

- `SeedAE`: the small convolutional autoencoder that the MNIST denoising tutorials use
  (Keras blog "Building Autoencoders in Keras", and its many copies), kept as a baseline.
  It maps noisy -> clean directly through a 7x7 bottleneck and ends in a sigmoid.
- `UNet`: a small U-Net with two down-samplings (28 -> 14 -> 7) and residual learning:
  it predicts the noise and subtracts it from the input (DnCNN, Zhang et al. 2017; KAIR
  `network_dncnn.py`), which keeps clean strokes sharp because the identity is free.
  It is blind: it is not told the noise kind or level.

Both take the pictures of `denoiser.checks` ((H, W), (1, H, W) or (N, 1, H, W) in [0, 1]) and
return the same shape: both are fully convolutional, and a size their poolings do not divide is
zero-padded (background) and cropped back, so a model never changes a picture's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import as_batch

MAX_WIDTH = 512  # filters per convolution: 512 already costs ~200 MB of activations per batch of 64
MAX_LEVELS = 3  # 28 = 7 * 2 * 2: two halvings keep whole pixels, a third would split the 7x7 level
MAX_MID_BLOCKS = 32  # the shipped unet has 2; 6 was already no better


def _check_int(value: object, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number in {low}..{high}; got {value!r}")


def _same_size(net: nn.Module, noisy: torch.Tensor, multiple: int, run=None) -> torch.Tensor:
    """`run` (default: `net` itself) on pictures under the contract of `denoiser.checks`, zero-padded
    to a multiple of `multiple` px for the poolings and cropped back: the caller's shape and dtype."""
    run = run or net
    batch, restore = as_batch(noisy, "noisy", next(net.parameters()).dtype)  # (N, 1, H, W)
    h, w = batch.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not (pad_h or pad_w):
        return restore(run(batch))
    top, left = pad_h // 2, pad_w // 2  # centred, so the digit keeps its place in the field of view
    padded = F.pad(batch, (left, pad_w - left, top, pad_h - top))
    return restore(run(padded)[..., top : top + h, left : left + w])


@dataclass
class SeedAEConfig:
    channels: int = 1  # image channels
    width: int = 32  # filters of the outer convolutions
    bottleneck: int = 16  # filters of the inner convolutions

    def __post_init__(self) -> None:
        _check_int(self.channels, "SeedAEConfig.channels", 1, 1)  # grey digits: see denoiser.checks
        _check_int(self.width, "SeedAEConfig.width", 1, MAX_WIDTH)
        _check_int(self.bottleneck, "SeedAEConfig.bottleneck", 1, MAX_WIDTH)


class MaxPool2(nn.Module):
    """`nn.MaxPool2d(2)`: the same values, when no gradient is taken as the larger of the rows taken in pairs, then of
    the columns. On the CPU torch's own pooling took half the classifier's time on a batch of 44 digits (4.6 ms, where
    its convolutions took 3.6 ms), this a tenth of that. Training keeps torch's own, and the way it passes the
    gradient back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return F.max_pool2d(x, 2)
        x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]  # an odd last row or column is left out, as there
        rows = torch.maximum(x[..., ::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., ::2], rows[..., 1::2])


class SeedAE(nn.Module):
    """Conv(1->32), pool, Conv(32->16), pool, Conv(16->16), up, Conv(16->32), up, Conv(32->1), Sigmoid; ReLU between."""

    def __init__(self, config: SeedAEConfig) -> None:
        super().__init__()
        self.config = config
        c, w, b = config.channels, config.width, config.bottleneck
        self.net = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(),
            MaxPool2(),  # (N, w, 14, 14)
            nn.Conv2d(w, b, 3, padding=1), nn.ReLU(),
            MaxPool2(),  # (N, b, 7, 7)
            nn.Conv2d(b, b, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (N, b, 14, 14)
            nn.Conv2d(b, w, 3, padding=1), nn.ReLU(),
            nn.Upsample(scale_factor=2),  # (N, w, 28, 28)
            nn.Conv2d(w, c, 3, padding=1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return _same_size(self.net, noisy, 4)  # two poolings


@dataclass
class UNetConfig:
    channels: int = 1  # image channels
    widths: tuple[int, ...] = (16, 32, 64)  # filters per level; len - 1 down-samplings (28 -> 14 -> 7)
    mid_blocks: int = 2  # extra residual blocks at the coarsest level: receptive field at little cost

    def __post_init__(self) -> None:
        _check_int(self.channels, "UNetConfig.channels", 1, 1)  # grey digits: see denoiser.checks
        if not isinstance(self.widths, (list, tuple)) or not 2 <= len(self.widths) <= MAX_LEVELS:
            raise ValueError(f"UNetConfig.widths must list 2..{MAX_LEVELS} filter counts; got {self.widths!r}")
        self.widths = tuple(self.widths)  # a checkpoint may store a list
        for width in self.widths:
            _check_int(width, "UNetConfig.widths", 1, MAX_WIDTH)
        _check_int(self.mid_blocks, "UNetConfig.mid_blocks", 0, MAX_MID_BLOCKS)


class _Residual(nn.Module):
    """x + conv(relu(conv(x))): deepens the coarsest level without hurting gradient flow."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 3, padding=1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


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
        self.config = config
        widths, depth = config.widths, len(config.widths) - 1
        self.down = nn.ModuleList([_block(config.channels, widths[0])])
        self.down.extend(_block(widths[i], widths[i + 1]) for i in range(depth))
        self.pool = MaxPool2()
        self.mid = nn.Sequential(*(_Residual(widths[-1]) for _ in range(config.mid_blocks)))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        self.merge = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in range(depth))
        self.head = nn.Conv2d(widths[0], config.channels, 1)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return _same_size(self, noisy, 2 ** (len(self.config.widths) - 1), self._denoise)

    def _denoise(self, noisy: torch.Tensor) -> torch.Tensor:
        return (noisy - self.predict_noise(noisy)).clamp(0, 1)

    def predict_noise(self, noisy: torch.Tensor) -> torch.Tensor:
        skips = []
        x = self.down[0](noisy)  # (N, w, 28, 28)
        for block in self.down[1:]:
            skips.append(x)
            x = block(self.pool(x))  # halves H and W: (N, w_i, 28 / 2^i, 28 / 2^i)
        x = self.mid(x)
        for i in reversed(range(len(self.merge))):
            x = self.merge[i](torch.cat([self.up[i](x), skips[i]], dim=1))
        return self.head(x)


def grow_mid_blocks(model: UNet, mid_blocks: int) -> UNet:
    """A copy of `model` with `mid_blocks` residual blocks at the coarsest level that denoises exactly as it does.

    The added blocks start as the identity (their last convolution is zero, and their input is already
    non-negative, so relu(x + 0) = x): training the grown net continues from the smaller one's result
    instead of from scratch, which on this CPU saves the hours a deeper net would need to catch up.
    """
    have = model.config.mid_blocks
    if mid_blocks < have:
        raise ValueError(f"mid_blocks must be >= the model's own {have} (blocks are only added); got {mid_blocks}")
    grown = UNet(UNetConfig(channels=model.config.channels, widths=model.config.widths, mid_blocks=mid_blocks))
    for block in list(grown.mid)[have:]:
        nn.init.zeros_(block.body[-1].weight)
        nn.init.zeros_(block.body[-1].bias)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("mid.") for key in missing), (missing, unexpected)
    return grown.train(model.training)
