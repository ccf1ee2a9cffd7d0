"""denoiser: remove noise from images of handwritten digits (MNIST).

The library. Modules, one per role: `data` (digits), `checks` (the input contract every function
taking digits checks), `noise` (generators), `models` (pure torch nets), `weights` (registry and
checkpoint I/O), `baselines` (classical filters), `metrics` (MSE/PSNR/SSIM, noise estimates),
`evaluate` (denoising a batch, and measuring methods), `methods` (each method by name), `classifier`
(reads a digit), `picture_io` (pictures decoded safely, digits encoded), `digitize` (a picture -> the
MNIST-style digit in it, made by `mnist_style`), `train` (the training routine) with `augment`
(digits made to look cut from pictures) and `noisy_targets` (learning without clean digits), `device`
(where a model runs), `distributed` (several processes under torchrun) and `runs` (a train run's lock,
writability and room checks and clean stop on a signal), `reading` (every digit in a picture of many, in lines:
`find_digits`) with `ink` (where the ink is on a page), `rules` (ruled lines and grids, taken out), `marks`
(which ink is a digit, in which line: `pieces`, `lines`), `cuts` (where a wide mark is cut), `verdicts` (why a
mark is no digit), `hand` (the writer's own digits as a guide), `brackets` and `zoom` (the part of a picture
read closer), and `cli` (`python -m denoiser`).

`denoiser.bench` is the research bench (the benchmark, its report and targets, picture
simulators and real-world measurement); the library never imports it, but for the command
line's `benchmark`. The web app is the `webapp` package beside this one.
"""

from .data import DataUnavailableError, Digits, load_digits, load_mnist, load_sample, split_holdout

# `evaluate` the function is not re-exported: it would hide the submodule `denoiser.evaluate`.
from .device import resolve_device
from .evaluate import denoise_batch, make_noisy, model_method
from .metrics import image_metrics, mean_metrics
from .models import SeedAE, SeedAEConfig, UNet, UNetConfig
from .noise import BLIND_CURRICULUM, NOISE_KINDS, NoiseRange, add_curriculum_noise, add_noise
from .reading import Mark, Reading, find_digits
from .train import StepInfo, TrainConfig, TrainResult, train
from .weights import DEFAULT_MODEL, REGISTRY, WeightsError, build_model, load_checkpoint, load_pretrained

__all__ = [
    "BLIND_CURRICULUM", "DEFAULT_MODEL", "NOISE_KINDS", "REGISTRY", "DataUnavailableError", "Digits", "Mark",
    "NoiseRange", "Reading", "SeedAE", "SeedAEConfig", "StepInfo", "TrainConfig", "TrainResult", "UNet", "UNetConfig",
    "WeightsError", "add_curriculum_noise", "add_noise", "build_model", "denoise_batch",
    "find_digits", "image_metrics", "load_checkpoint", "load_digits", "load_mnist", "load_pretrained", "load_sample",
    "make_noisy", "mean_metrics", "model_method", "resolve_device", "split_holdout", "train",
]  # fmt: skip
