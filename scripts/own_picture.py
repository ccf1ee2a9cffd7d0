"""A trial: does fine-tuning the shipped unet on one picture's own noise (Noise2Self) denoise that picture better?

    python -m scripts.own_picture --data-root ../shared/mnist --count 40

Simulated small, dim, grainy scans (`denoiser.bench.simulate.dim_scan`) of test digits, each cut out as it is
(`keep_noise=True`) as the app does with an upload. For each picture, a copy of the shipped unet is trained
for a few seconds on that picture alone: a random 1/16 of its pixels hidden behind a neighbour, scored
against their own values (`noisy_targets.blind_spot`). Prints the median PSNR against the source digit
(after the best small shift, as docs/realworld measures) and the estimated noise, before and after, per
setting. Nothing is written: the figures go into docs/targets/README.md with the command that made them.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from denoiser import digitize
from denoiser.bench import realworld, simulate
from denoiser.data import load_mnist
from denoiser.evaluate import denoise_batch
from denoiser.metrics import noise_sigma
from denoiser.noisy_targets import blind_spot
from denoiser.weights import load_pretrained

SETTINGS = ((20, 1e-4), (50, 1e-4), (50, 3e-4))  # (steps, learning rate) of each fine-tuning tried
BATCH = 16  # copies of the one picture per step, each hiding other pixels


def scans(data_root: Path, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(the cut-out noisy pictures, their source digits), for the first `count` test digits that are found."""
    rng = np.random.default_rng(seed)
    found, sources = [], []
    for source in load_mnist(data_root, "test", download=False).images[:count]:
        try:
            found.append(digitize.image_to_mnist(simulate.dim_scan(source[0].numpy(), rng), keep_noise=True))
            sources.append(source)
        except digitize.ImageError:
            continue
    return torch.stack(found), torch.stack(sources)


def fine_tune(model, picture: torch.Tensor, steps: int, lr: float, seed: int):
    """A copy of `model` trained `steps` steps on `picture` (1, 28, 28) alone, behind the blind spot."""
    tuned, g = copy.deepcopy(model).train(), torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(tuned.parameters(), lr=lr)
    batch = picture.expand(BATCH, -1, -1, -1)
    for _ in range(steps):
        seen, mask = blind_spot(batch, g)
        loss = (tuned(seen) - batch)[mask].pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return tuned.eval()


def psnr_and_sigma(denoised: torch.Tensor, sources: torch.Tensor) -> str:
    psnr = statistics.median(realworld.aligned_psnr(d, s) for d, s in zip(denoised, sources, strict=True))
    return f"PSNR {psnr:.2f} dB, noise sigma {statistics.median(noise_sigma(denoised)):.3f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, required=True)
    p.add_argument("--count", type=int, default=40, help="test digits to make scans of")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    noisy, sources = scans(args.data_root, args.count, args.seed)
    unet = load_pretrained("unet")
    print(f"{len(noisy)} scans; as they are: {psnr_and_sigma(noisy, sources)}")
    print(f"shipped unet: {psnr_and_sigma(denoise_batch(unet, noisy), sources)}")
    for steps, lr in SETTINGS:
        start = time.perf_counter()
        tuned = [denoise_batch(fine_tune(unet, x, steps, lr, args.seed), x[None])[0] for x in noisy]
        seconds = (time.perf_counter() - start) / len(noisy)
        print(f"fine-tuned {steps} steps at lr {lr:g} ({seconds:.1f} s a picture): "
              f"{psnr_and_sigma(torch.stack(tuned), sources)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
