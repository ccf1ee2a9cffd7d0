"""Methods by name: the shipped models, then the filters; tuned filters, and what a damaged file gives."""

from __future__ import annotations

import pytest
import torch

from denoiser import methods
from denoiser.baselines import BASELINE_NAMES, DEFAULTS, Baseline
from denoiser.weights import REGISTRY, WeightsError

NOISY_DIGITS = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_names_are_the_shipped_models_then_the_filters():
    assert (*REGISTRY, *BASELINE_NAMES) == methods.NAMES
    assert methods.NOISY not in methods.NAMES


@pytest.mark.parametrize("name", methods.NAMES)
def test_every_method_denoises_a_batch_in_its_shape_and_range(name):
    denoised = methods.get(name, "gaussian", 0.5)(NOISY_DIGITS)
    assert denoised.shape == NOISY_DIGITS.shape and denoised.min() >= 0 and denoised.max() <= 1


def test_an_unknown_name_is_refused_listing_the_methods():
    with pytest.raises(ValueError, match=r"--model must be one of unet, seed-ae, median.*; got 'dncnn'"):
        methods.get(methods.check_name("dncnn", "--model"))
    with pytest.raises(ValueError, match="method must be one of"):
        methods.get(methods.NOISY)


def test_a_damaged_tuning_file_gives_the_default_parameters_unless_strict(tmp_path):
    damaged = tmp_path / "baselines.json"
    damaged.write_text("{not json")
    method = methods.get("tv", "gaussian", 0.5, tuned_file=damaged)
    assert isinstance(method, Baseline) and method.params == DEFAULTS["tv"]
    with pytest.raises(WeightsError, match="damaged"):
        methods.get("tv", "gaussian", 0.5, tuned_file=damaged, strict=True)


def test_a_filter_gets_the_parameters_tuned_for_the_noise():
    light, heavy = methods.get("tv", "gaussian", 0.1), methods.get("tv", "gaussian", 0.9)
    assert light.params["weight"] < heavy.params["weight"]


def test_missing_model_weights_raise_and_are_not_remembered(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        methods.get("unet", weights_dir=tmp_path)
    with pytest.raises(WeightsError, match="does not exist"):  # asked again, the folder is read again
        methods.get("unet", weights_dir=tmp_path)
