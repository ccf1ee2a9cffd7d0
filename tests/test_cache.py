"""What a server computes once for all its visitors: the shared results and the pictures' encodings."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from denoiser import methods
from denoiser.evaluate import make_noisy, psnr_by_level, rank
from denoiser.picture_io import tensor_to_png
from webapp import cache, view

NAMES = ("median", "gaussian_blur")


def test_shared_results_are_every_methods_output_and_ranking(clean):
    """The noisy digit, each method's output and the ranking are what the methods give when run directly."""
    digit = clean[0]
    noisy, outputs, rows = cache.shared_results(digit, "gaussian", 0.3, 5, NAMES)
    expected_noisy = make_noisy(digit[None], "gaussian", 0.3, 5)
    assert torch.equal(noisy, expected_noisy)
    for name in NAMES:
        assert torch.equal(outputs[name], methods.get(name, "gaussian", 0.3)(expected_noisy))
    expected = rank(digit[None], {methods.NOISY: expected_noisy} | outputs)
    assert [row["method"] for row in rows] == [row["method"] for row in expected]
    # SSIM is computed for the pictures of one call together: the last bits depend on their company.
    assert rows == [row | {"ssim": pytest.approx(row["ssim"], abs=1e-12)} for row in expected]


def test_a_result_seen_before_is_looked_up_not_recomputed(clean):
    """The same digit and noise give the very same objects, from a copy of the digit too; another level does not."""
    first = cache.shared_results(clean[1], "salt_pepper", 0.2, 0, NAMES)
    again = cache.shared_results(clean[1].clone(), "salt_pepper", 0.2, 0, NAMES)
    assert again[0] is first[0] and all(again[1][n] is first[1][n] for n in NAMES)
    other = cache.shared_results(clean[1], "salt_pepper", 0.21, 0, NAMES)
    assert other[1]["median"] is not first[1]["median"]
    assert not torch.equal(other[0], first[0])


def test_the_levels_curves_are_psnr_by_level_s_computed_once_per_digit(clean):
    """The levels chart's curves are `psnr_by_level`'s; the same digit again, even a copy of it, is a lookup."""
    digit, levels = clean[2:3], (0.1, 0.6)
    curves = cache.level_curves(digit, "gaussian", levels, 3, NAMES)
    at = lambda level: {n: methods.get(n, "gaussian", level) for n in NAMES}  # noqa: E731
    assert curves == psnr_by_level(at, digit, "gaussian", levels, 3)
    assert cache.level_curves(digit.clone(), "gaussian", levels, 3, NAMES) is curves
    assert cache.level_curves(digit, "gaussian", levels, 4, NAMES) != curves  # another seed, other noise


def test_precompute_fills_every_level_for_every_method_and_any_of_them(clean, monkeypatch):
    """After `precompute`, every listed level is a lookup, for all the methods and for any one of them (a page
    that shows one method, with another tab open than the comparison)."""
    levels = [0.1, 0.2, 0.3]
    cache.precompute(clean[2], "speckle", levels, 3, NAMES)
    expected = {level: cache.shared_results(clean[2], "speckle", level, 3, NAMES) for level in levels}
    monkeypatch.setattr(methods, "get", lambda *args: pytest.fail("a precomputed result was computed again"))
    for level in levels:
        for names in (NAMES, NAMES[:1], NAMES[1:]):
            _, outputs, rows = cache.shared_results(clean[2], "speckle", level, 3, names)
            assert all(outputs[n] is expected[level][1][n] for n in names)
            assert [r["method"] for r in rows] == [r["method"] for r in expected[level][2] if r["method"] in
                                                   (*names, methods.NOISY)]  # fmt: skip


def test_a_model_asked_for_one_level_denoises_every_slider_position_in_one_call(clean, monkeypatch):
    """A move to another slider position of the same digit and noise finds the model's output computed, and it is
    the output the model gives that noisy digit alone."""
    real, calls = methods.get, []

    def counting(name, *args, **kwargs):
        method = real(name, *args, **kwargs)
        return (lambda noisy: calls.append(len(noisy)) or method(noisy)) if name == "seed-ae" else method

    monkeypatch.setattr(methods, "get", counting)
    cache.shared_results(clean[3], "poisson", 0.5, 7, ("seed-ae",))
    assert calls == [len(view.SLIDER_LEVELS)]
    for level in (0.05, 0.95):
        noisy, outputs, rows = cache.shared_results(clean[3], "poisson", level, 7, ("seed-ae",))
        assert torch.equal(noisy, make_noisy(clean[3][None], "poisson", level, 7))
        assert torch.allclose(outputs["seed-ae"], real("seed-ae")(noisy), atol=1e-5)
        assert {row["method"] for row in rows} == {"seed-ae", methods.NOISY}
    assert calls == [len(view.SLIDER_LEVELS)]


def test_png_url_is_the_lossless_enlarged_picture(clean):
    """A data URL holding exactly `tensor_to_png`'s picture: every pixel, enlarged `scale` times."""
    url = cache.png_url(clean[0], 3)
    prefix, payload = url.split(",", 1)
    assert prefix == "data:image/png;base64"
    data = base64.b64decode(payload)
    assert data == tensor_to_png(clean[0], 3)
    shown = np.asarray(Image.open(io.BytesIO(data)))
    pixels = (clean[0, 0] * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(shown, np.kron(pixels, np.ones((3, 3), np.uint8)))
