"""What digits found in real pictures look like to a model, as training batches.

Our four noise kinds are drawn on MNIST digits. A digit cut out of a photo or a scan differs
in two ways that none of them describes:

- its *shape*: another writer, another pen. `reshape` bends each digit with a smooth random
  (elastic) field and makes its strokes thinner or thicker, at 4x resolution and then
  averaged back to 28x28, so the bent digit, which is also the training target, stays sharp;
- its *noise*: `picture_noise` gives the input the noise of a camera after a resampling:
  shrinking the picture has made it spatially correlated.

Both take a (N, 1, H, W) batch in [0, 1] and an explicit `torch.Generator`, as do the plainer
augmentations a training may ask for: `augment` (small rotations and shifts, resampled) and
`shift_digits` (whole-pixel shifts, which keep the targets sharp).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

FINE = 4  # shapes are changed at 4x resolution, then averaged back


def _smooth(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian blur of each image of (N, C, H, W) with its own sigma (N,), in pixels; sigma 0 leaves it as is."""
    radius = 3
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets[None, :] / sigma.clamp_min(1e-3)[:, None]) ** 2)  # (N, 7)
    kernel = kernel / kernel.sum(1, keepdim=True)
    n, c, h, w = x.shape
    flat = x.reshape(1, n * c, h, w)
    k = kernel.repeat_interleave(c, 0)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=n * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)


def _dilate(x: torch.Tensor, steps: int) -> torch.Tensor:
    """Grey dilation (steps > 0) or erosion (steps < 0) by |steps| pixels, one 3x3 step at a time."""
    for _ in range(abs(steps)):
        x = F.max_pool2d(x, 3, 1, 1) if steps > 0 else -F.max_pool2d(-x, 3, 1, 1)
    return x


def reshape(clean: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each digit bent by a smooth random field (up to ~1.5 px) and its strokes thinned or thickened by up to ~1 px."""
    n, _, h, w = clean.shape
    fine = F.interpolate(clean, scale_factor=FINE, mode="bilinear", align_corners=False)
    field = torch.randn(n, 2, 4, 4, generator=g, dtype=clean.dtype) * (torch.rand(n, 1, 1, 1, generator=g) * 0.1)
    field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)  # smooth, then only enlarged
    field = F.interpolate(field, size=(h * FINE, w * FINE), mode="bilinear", align_corners=False)
    base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3).to(clean.dtype), list(fine.shape), align_corners=False)
    fine = F.grid_sample(fine, base + field.permute(0, 2, 3, 1), align_corners=False, padding_mode="zeros")
    # Stroke width: -2..+3 fine pixels on each side, i.e. thinner by 1 px to thicker by 1.5 px at 28x28.
    steps = torch.randint(-2, 4, (n,), generator=g)
    for step in steps.unique().tolist():
        idx = (steps == step).nonzero(as_tuple=True)[0]
        fine[idx] = _dilate(fine[idx], step)
    return F.avg_pool2d(fine, FINE).clamp(0, 1)


def picture_noise(clean: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A digit as it comes out of a photo or a scan: noise that shrinking the picture made spatially correlated.

    Only the noise: the extraction takes out the page's light and scales the ink to its own level,
    and teaching the model to undo a shift or a scale of the levels as well made it re-level clean
    MNIST digits too (0.4-0.7 dB lost at gaussian 0.1)."""
    n = len(clean)
    u = lambda low, high: low + (high - low) * torch.rand(n, generator=g, dtype=clean.dtype)  # noqa: E731
    grain = torch.randn(clean.shape, generator=g, dtype=clean.dtype)
    grain = _smooth(grain, u(0.3, 1.2))  # shrinking a picture averages its grain over neighbours
    grain = grain / grain.flatten(1).std(1).view(n, 1, 1, 1)
    return (clean + u(0.0, 0.5).view(n, 1, 1, 1) * grain).clamp(0, 1)


def training_pair(
    clean: torch.Tensor, curriculum, share: float, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, input) for a training batch (N, 1, H, W) whose first `share` of digits look like real pictures.

    Those digits are reshaped (the target changes with them); half of them get `picture_noise`,
    the rest, like every other digit, a noise of the curriculum.
    """
    from .noise import add_curriculum_noise

    k = round(share * len(clean))
    if k:
        clean = torch.cat([reshape(clean[:k], g), clean[k:]])
    noisy = add_curriculum_noise(clean, curriculum, g)
    if k // 2:
        noisy[: k // 2] = picture_noise(clean[: k // 2], g)
    return clean, noisy


def augment(clean: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random rotation (+-10 deg) and shift (+-2 px) of each digit in a (N, 1, H, W) batch."""
    n, _, h, w = clean.shape
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(10)
    shift = (torch.randint(-2, 3, (n, 2), generator=g).float() * 2) / torch.tensor([w, h])
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(clean.shape), align_corners=False)
    return F.grid_sample(clean, grid, align_corners=False, padding_mode="zeros").clamp(0, 1)


def shift_digits(clean: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Move each digit of a (N, C, H, W) batch by a random whole number of pixels in
    -max_shift..+max_shift on each axis; pixels moved in from outside are 0 (background)."""
    if max_shift == 0:
        return clean
    n, _, h, w = clean.shape
    dy, dx = torch.randint(-max_shift, max_shift + 1, (2, n, 1), generator=g)
    padded = F.pad(clean, (max_shift,) * 4)
    rows = (torch.arange(h) + max_shift - dy)[:, None, :, None].expand(n, clean.shape[1], h, w + 2 * max_shift)
    padded = padded.gather(2, rows)
    cols = (torch.arange(w) + max_shift - dx)[:, None, None, :].expand(n, clean.shape[1], h, w)
    return padded.gather(3, cols)
