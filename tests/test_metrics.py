"""Metrics: known values on a [0, 1] scale, infinite PSNR for identical images, batch averaging."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from denoiser.metrics import image_metrics, mean_metrics, mean_psnr, psnr_from_mse


def test_known_values_for_a_constant_offset():
    clean = torch.zeros(1, 1, 28, 28)
    other = torch.full((1, 1, 28, 28), 0.1)
    m = image_metrics(clean, other)
    assert m["mse"][0] == pytest.approx(0.01)
    assert m["psnr"][0] == pytest.approx(20.0)


def test_identical_images_give_infinite_psnr_and_unit_ssim_without_warnings(clean):
    with np.errstate(all="raise"):
        m = image_metrics(clean, clean.clone())
    assert np.all(np.isinf(m["psnr"]))
    assert np.allclose(m["ssim"], 1.0)
    assert np.all(m["mse"] == 0)
    assert psnr_from_mse(0.0) == math.inf


def test_agrees_with_scikit_image_on_the_unit_scale(clean, gen):
    noisy = (clean + 0.2 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    m = image_metrics(clean, noisy)
    a, b = clean[3, 0].double().numpy(), noisy[3, 0].double().numpy()
    assert m["psnr"][3] == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1))
    assert m["ssim"][3] == pytest.approx(structural_similarity(a, b, data_range=1))


def test_mean_is_the_mean_of_per_image_values(clean, gen):
    noisy = (clean + 0.3 * torch.rand(clean.shape, generator=gen)).clamp(0, 1)
    per_image, mean = image_metrics(clean, noisy), mean_metrics(clean, noisy)
    assert len(per_image["psnr"]) == len(clean)
    for key in ("mse", "psnr", "ssim"):
        assert mean[key] == pytest.approx(per_image[key].mean())
    assert mean_psnr(clean, noisy) == mean["psnr"]  # the PSNR alone, to the last bit


def test_more_noise_gives_lower_psnr_and_ssim(clean, gen):
    small = (clean + 0.05 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    large = (clean + 0.4 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    assert mean_metrics(clean, small)["psnr"] > mean_metrics(clean, large)["psnr"]
    assert mean_metrics(clean, small)["ssim"] > mean_metrics(clean, large)["ssim"]


def test_mismatched_shapes_raise_value_error():
    with pytest.raises(ValueError, match="same shape"):
        image_metrics(torch.zeros(2, 1, 28, 28), torch.zeros(3, 1, 28, 28))
    with pytest.raises(ValueError, match="same shape"):
        mean_psnr(torch.zeros(2, 1, 28, 28), torch.zeros(3, 1, 28, 28))


def test_background_noise_reads_a_clean_digit_as_clean_and_grain_as_noise(clean):
    from denoiser.metrics import background_noise

    sharp = (clean[:1] > 0.5).float()  # pen-sharp strokes: a wavelet estimate reads their edges as noise
    grainy = (sharp + 0.2 * torch.randn(sharp.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    quiet, loud = background_noise(torch.stack([sharp[0], grainy[0]]), sharp[0])
    assert quiet == 0.0 and 0.05 < loud < 0.2


def test_a_digit_with_no_background_measures_nothing():
    from denoiser.metrics import background_noise

    assert background_noise(torch.ones(2, 1, 28, 28), torch.ones(1, 28, 28)) == [0.0, 0.0]
