"""A trial: does fine-tuning the shipped unet on one picture's own noise (Noise2Self) denoise that picture better?

    python -m scripts.own_picture --data-root ../shared/mnist --count 30 --out docs/targets/own_picture.md

Simulated small, dim, grainy scans (`denoiser.bench.simulate.dim_scan`) of test digits, each cut out as it is
(`keep_noise=True`) as the app does with an upload. For each picture, a copy of the shipped unet is trained
for a few seconds on that picture alone: a random 1/16 of its pixels hidden behind a neighbour, scored
against their own values (`noisy_targets.blind_spot`). Writes a table into --out: the median PSNR against
the source digit (after the best small shift, as docs/realworld measures) and the estimated noise, before
and after, per setting; `python -m scripts.update_readme` puts it into docs/targets/README.md.
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


def row(name: str, denoised: torch.Tensor, sources: torch.Tensor, seconds: float | None = None) -> str:
    """A table row: the median PSNR against the sources and the median noise estimated in `denoised`."""
    psnr = statistics.median(realworld.aligned_psnr(d, s) for d, s in zip(denoised, sources, strict=True))
    time_taken = f"{seconds:.1f}" if seconds is not None else ""
    return f"| {name} | {psnr:.2f} dB | {statistics.median(noise_sigma(denoised)):.3f} | {time_taken} |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", type=Path, required=True)
    p.add_argument("--count", type=int, default=30, help="test digits to make scans of")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="the markdown table to write")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    noisy, sources = scans(args.data_root, args.count, args.seed)
    unet = load_pretrained("unet")
    lines = [f"`python -m scripts.own_picture --data-root {args.data_root} --count {args.count}`, one thread:", "",
             f"| the {len(noisy)} scans | PSNR | noise sigma (estimated) | seconds a picture |",
             "| --- | ---: | ---: | ---: |", row("as they are", noisy, sources),
             row("shipped unet", denoise_batch(unet, noisy), sources)]  # fmt: skip
    for steps, lr in SETTINGS:
        start = time.perf_counter()
        tuned = [denoise_batch(fine_tune(unet, x, steps, lr, args.seed), x[None])[0] for x in noisy]
        seconds = (time.perf_counter() - start) / len(noisy)
        lines.append(row(f"fine-tuned {steps} steps, lr {lr:g}", torch.stack(tuned), sources, seconds))
        print(lines[-1])
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
