"""Classical filters: the method interface, tuned parameters read from JSON, tuning, speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from denoiser import baselines
from denoiser.baselines import BASELINE_NAMES, GRIDS, Baseline, get_method, load_tuned, save_tuned, tune
from denoiser.bench.benchmark import GRID
from denoiser.evaluate import make_noisy
from denoiser.metrics import mean_metrics
from denoiser.weights import WeightsError


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_filter_keeps_shape_and_range_and_raises_psnr(name, clean):
    """Each shipped, tuned filter returns (N, 1, 28, 28) in [0, 1] and beats the noisy input's PSNR."""
    noisy = make_noisy(clean, "gaussian", 0.3, seed=0)
    denoised = get_method(name, "gaussian", 0.3)(noisy)
    assert denoised.shape == noisy.shape and denoised.dtype == noisy.dtype
    assert denoised.min() >= 0 and denoised.max() <= 1
    assert mean_metrics(clean, denoised)["psnr"] > mean_metrics(clean, noisy)["psnr"] + 1.0


def test_median_removes_salt_and_pepper(clean):
    """The 3x3 median, the textbook cure for impulse noise, gains several dB at 10% salt and pepper."""
    noisy = make_noisy(clean, "salt_pepper", 0.1, seed=0)
    gain = (
        mean_metrics(clean, get_method("median", "salt_pepper", 0.1)(noisy))["psnr"]
        - mean_metrics(clean, noisy)["psnr"]
    )
    assert gain > 5


def test_filter_leaves_input_untouched():
    """A method must not modify the noisy tensor it is given."""
    noisy = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    copy = noisy.clone()
    for name in BASELINE_NAMES:
        get_method(name)(noisy)
    assert torch.equal(noisy, copy)


def test_unknown_name_raises_value_error_listing_names():
    with pytest.raises(
        ValueError, match=r"name must be one of median, gaussian_blur, tv, nl_means, bilateral, wavelet"
    ):
        get_method("sharpen")


@pytest.mark.parametrize(("kind", "level"), [("gaussian", None), (None, 0.5), ("pink", 0.5), ("gaussian", 1.5)])
def test_bad_kind_or_level_raises_value_error(kind, level):
    with pytest.raises(ValueError, match=r"kind|level"):
        get_method("tv", kind, level)


def test_tuned_params_are_read_from_json_at_the_nearest_level(tmp_path):
    """get_method uses the parameters stored for the nearest tuned level of that kind."""
    path = tmp_path / "baselines.json"
    params = {"gaussian": {"0.1": {"tv": {"weight": 0.07}}, "0.5": {"tv": {"weight": 0.33}}}}
    save_tuned({"params": params, "psnr": {}}, path)
    assert get_method("tv", "gaussian", 0.45, path).params == {"weight": 0.33}
    assert get_method("tv", "gaussian", 0.2, path).params == {"weight": 0.07}
    assert get_method("tv", "gaussian", 0.0, path).params == {"weight": 0.07}
    # A filter or kind that was not tuned falls back to the defaults.
    assert get_method("median", "gaussian", 0.5, path).params == baselines.DEFAULTS["median"]
    assert get_method("tv", "poisson", 0.5, path).params == baselines.DEFAULTS["tv"]


def test_missing_file_gives_defaults_and_damaged_file_raises(tmp_path):
    assert get_method("tv", "gaussian", 0.5, tmp_path / "none.json").params == baselines.DEFAULTS["tv"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"params": ')
    with pytest.raises(WeightsError, match=r"damaged\.json"):
        get_method("tv", "gaussian", 0.5, damaged)


def test_tune_picks_the_grid_setting_with_the_best_psnr(clean):
    """Tuning on a few digits returns a grid setting for every filter that beats the noisy input."""
    tuned = tune(clean[:8], kinds=("salt_pepper",), levels=(0.2,), names=("median", "gaussian_blur", "tv"))
    cell_params, cell_psnr = tuned["params"]["salt_pepper"]["0.2"], tuned["psnr"]["salt_pepper"]["0.2"]
    for name in ("median", "gaussian_blur", "tv"):
        assert cell_params[name] in GRIDS[name]
        assert cell_psnr[name] > cell_psnr["noisy"]
    # The chosen weight is at least as good as every other one on the same digits.
    noisy = make_noisy(clean[:8], "salt_pepper", 0.2, seed=0).double().numpy()[:, 0]
    target = clean[:8].double().numpy()[:, 0]
    scores = [baselines.mean_psnr(target, Baseline("tv", p).denoise_array(noisy)) for p in GRIDS["tv"]]
    assert cell_psnr["tv"] == pytest.approx(max(scores))


def test_shipped_tuning_covers_the_benchmark_grid_and_used_the_training_split():
    tuned = load_tuned()
    assert tuned is not None, "weights/baselines.json is missing: run python -m denoiser tune-baselines"
    assert tuned["meta"]["split"] == "train"
    for kind, levels in GRID.items():
        for level in levels:
            assert set(tuned["params"][kind][str(level)]) == set(BASELINE_NAMES)


def test_file_is_valid_json_without_nan():
    """The shipped JSON is strict JSON (no NaN/Infinity), so any tool can read it."""
    text = baselines.TUNED_FILE.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}"))


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_filter_is_fast_enough_for_one_digit_in_the_app(name):
    """Interactive use: one 28x28 digit in well under 50 ms (median of a few runs)."""
    digit = torch.from_numpy(np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32))
    method = get_method(name, "gaussian", 0.5)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        method(digit)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.05
