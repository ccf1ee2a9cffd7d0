"""One input contract for every public function that takes digits: shapes, dtypes and range, checked alike.

Each entry point gets the same pictures: (H, W), (1, H, W) or (N, 1, H, W), float16/32/64 in [0, 1];
integers, other shapes and values outside [0, 1] are refused with a ValueError naming the argument.
"""

import numpy as np
import pytest
import torch

from denoiser.baselines import Baseline
from denoiser.evaluate import denoise_batch
from denoiser.metrics import image_metrics, mean_metrics
from denoiser.noise import BLIND_CURRICULUM, add_curriculum_noise, add_noise
from denoiser.weights import build_model, load_pretrained

UNET = build_model("unet", {"widths": (4, 8, 16), "mid_blocks": 1}, seed=0).eval()
SEED_AE = build_model("seed-ae", seed=0).eval()

# name -> (function of one picture, the argument name its errors must give)
ENTRY_POINTS = {
    "add_noise": (lambda x: add_noise(x, "poisson", 0.3, torch.Generator().manual_seed(0)), "clean"),
    "add_curriculum_noise": (lambda x: add_curriculum_noise(x, BLIND_CURRICULUM, torch.Generator()), "clean"),
    "denoise_batch unet": (lambda x: denoise_batch(UNET, x), "noisy"),
    "denoise_batch seed-ae": (lambda x: denoise_batch(SEED_AE, x), "noisy"),
    "UNet forward": (lambda x: UNET(x), "noisy"),
    "SeedAE forward": (lambda x: SEED_AE(x), "noisy"),
    "median filter": (lambda x: Baseline("median", {"size": 3})(x), "noisy"),
    "image_metrics clean": (lambda x: image_metrics(x, torch.zeros(28, 28))["psnr"], "clean"),
    "mean_metrics other": (lambda x: mean_metrics(torch.zeros(28, 28), x)["psnr"], "other"),
}


PICTURE_OUT = [name for name in ENTRY_POINTS if "metrics" not in name]


@pytest.mark.parametrize("name", PICTURE_OUT)
@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (3, 1, 28, 28)], ids=str)
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64], ids=str)
def test_every_entry_point_takes_the_same_shapes_and_dtypes_and_gives_them_back(name, shape, dtype):
    picture = torch.rand(shape, generator=torch.Generator().manual_seed(1)).to(dtype)
    with torch.no_grad():
        out = ENTRY_POINTS[name][0](picture)
    assert out.shape == picture.shape and out.dtype == dtype
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ["image_metrics clean", "mean_metrics other"])
@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (1, 1, 28, 28)], ids=str)
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64], ids=str)
def test_metrics_take_the_same_shapes_and_dtypes(name, shape, dtype):
    picture = torch.full(shape, 0.1, dtype=dtype)
    psnr = np.asarray(ENTRY_POINTS[name][0](picture))
    assert psnr.size == 1 and abs(float(psnr.ravel()[0]) - 20.0) < 0.05  # 0.1 everywhere: MSE 0.01, 20 dB


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool], ids=str)
def test_integer_pixels_are_refused_naming_the_argument(name, dtype):
    function, argument = ENTRY_POINTS[name]
    with pytest.raises(ValueError, match=rf"^{argument} must hold floats in \[0, 1\]; got dtype"):
        function(torch.zeros(1, 1, 28, 28, dtype=dtype))


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_0_255_pixels_are_refused_naming_the_argument_instead_of_scored(name):
    function, argument = ENTRY_POINTS[name]
    with pytest.raises(ValueError, match=rf"^{argument} values must be in \[0, 1\]; got \[0, 255\].*divide by 255"):
        function(torch.linspace(0, 255, 784).reshape(1, 1, 28, 28))


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@pytest.mark.parametrize("shape", [(28,), (2, 28, 28), (2, 3, 28, 28), (1, 1, 1, 28, 28), (0, 1, 28, 28)], ids=str)
def test_other_shapes_are_refused_naming_the_argument_and_the_accepted_shapes(name, shape):
    function, argument = ENTRY_POINTS[name]
    with pytest.raises(ValueError, match=rf"^{argument} must (be shaped \(H, W\), \(1, H, W\) or \(N, 1, H, W\)|hold)"):
        function(torch.zeros(shape))


@pytest.mark.parametrize("model", ["unet", "seed-ae"])
@pytest.mark.parametrize("size", [(30, 30), (27, 27), (29, 33), (7, 9), (32, 32)], ids=str)
def test_a_model_never_changes_a_pictures_size(model, size):
    """Both shipped models are fully convolutional: any size is denoised and comes back at that size."""
    noisy = torch.rand(2, 1, *size, generator=torch.Generator().manual_seed(0))
    denoised = denoise_batch(load_pretrained(model), noisy)
    assert denoised.shape == noisy.shape


def test_a_digit_with_a_margin_is_denoised_too():
    """The padding a model adds for its poolings is background: a 30x30 digit is denoised, not garbled."""
    model = load_pretrained("unet")
    digit = torch.zeros(1, 1, 28, 28)
    digit[..., 8:20, 12:16] = 1.0
    noisy = add_noise(digit, "gaussian", 0.2, torch.Generator().manual_seed(0))
    alone = denoise_batch(model, noisy)
    framed = denoise_batch(model, torch.nn.functional.pad(noisy, (1, 1, 1, 1)))  # 30x30: padded to 32 inside
    psnr_alone, psnr_framed = (mean_metrics(digit, x)["psnr"] for x in (alone, framed[..., 1:-1, 1:-1]))
    noisy_psnr = mean_metrics(digit, noisy)["psnr"]
    assert psnr_alone > noisy_psnr + 5 and psnr_framed > noisy_psnr + 5  # 16.4 -> 25.1 and 23.2 dB


@pytest.mark.parametrize("level", [0.004, 1e-3, 1e-5])
def test_half_precision_poisson_noise_at_tiny_levels_stays_finite(level):
    """1 / level² photons exceed float16's range below level ~0.004: the noise is computed in float32."""
    clean = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)).half()
    noisy = add_noise(clean, "poisson", level, torch.Generator().manual_seed(1))
    assert noisy.dtype == torch.float16 and torch.isfinite(noisy).all()
    assert (noisy.float() - clean.float()).abs().max() < 0.05


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, None])
def test_denoise_batch_refuses_a_bad_batch_size_naming_it(batch_size):
    with pytest.raises(ValueError, match=r"batch_size must be a whole number >= 1"):
        denoise_batch(UNET, torch.rand(2, 1, 28, 28), batch_size=batch_size)


def test_numpy_pictures_are_taken_too():
    clean = np.zeros((28, 28))
    assert add_noise(clean, "gaussian", 0.0).shape == (28, 28)
    assert mean_metrics(clean, np.full((28, 28), 0.1))["psnr"] == pytest.approx(20.0)
