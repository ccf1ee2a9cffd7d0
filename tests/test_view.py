"""The library pieces the app needs: URL parsing and number formats (`view`), comparison and
level sweeps (`evaluate`), canvas preprocessing (`digitize`) and the figures (`figures`)."""

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from denoiser import methods
from denoiser.digitize import ImageError, canvas_to_mnist
from denoiser.evaluate import compare, make_noisy, psnr_by_level
from denoiser.metrics import mean_psnr
from webapp import figures, view

MODELS = ["unet", "seed-ae", "median"]


def test_parse_query_keeps_good_values():
    """Well-formed parameters come back typed, with no notice."""
    query = {"source": "draw", "digit": "7", "index": "12", "kind": "poisson", "level": "0.25", "seed": "9",
             "model": "median"}  # fmt: skip
    values, notices = view.parse_query(query, MODELS)
    assert notices == []
    assert values == {"source": "draw", "digit_class": 7, "digit_index": 12, "noise_kind": "poisson",
                      "noise_level": 0.25, "noise_seed": 9, "model": "median"}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text"),
    [("kind", "pink"), ("level", "1.5"), ("level", "nan"), ("level", "abc"), ("seed", "-3"), ("seed", "x"),
     ("digit", "10"), ("index", "3.5"), ("model", "gpt"), ("source", "webcam")],
)  # fmt: skip
def test_parse_query_drops_bad_values_with_a_notice(name, text):
    """A bad value is dropped (so the default is used) and the notice names it."""
    values, notices = view.parse_query({name: text}, MODELS)
    assert values == {}
    assert len(notices) == 1 and f"{name}=" in notices[0]


def test_parse_query_notice_is_inert_markdown():
    """A link's text cannot break out of the notice's code span or add markdown blocks."""
    _, notices = view.parse_query({"kind": "`x` [prize](https://example.invalid)\n\n# big"}, MODELS)
    assert notices[0].count("`") == 2 and "\n" not in notices[0]


def test_a_seed_of_thousands_of_digits_gets_the_pages_own_words():
    """Python refuses to convert over 4,300 digits with a message of its own; the notice says what is allowed."""
    values, notices = view.parse_query({"seed": "9" * 5000}, MODELS)
    assert values == {} and "whole number from 0 to" in notices[0] and "limit" not in notices[0]


def test_a_link_asking_to_denoise_a_sample_digit_as_it_is_gets_a_notice():
    """`kind=as_is` needs a picture's own noise: with a sample digit it is dropped, and the visitor told."""
    values, notices = view.parse_query({"kind": "as_is", "source": "pick"}, MODELS)
    assert "noise_kind" not in values and len(notices) == 1 and "kind=as_is" in notices[0]
    assert view.parse_query({"kind": "as_is", "source": "draw"}, MODELS) == ({"noise_kind": "as_is",
                                                                                "source": "draw"}, [])  # fmt: skip


def test_a_level_between_the_sliders_positions_is_shown_at_the_nearest_with_a_notice():
    """The slider moves by 0.05: a link's 0.37 (made by hand, or by a version with finer steps) shows 0.35."""
    values, notices = view.parse_query({"level": "0.37"}, MODELS)
    assert values == {"noise_level": 0.35} and view.to_query(values) == {"level": "0.35"}
    assert len(notices) == 1 and "level=0.37" in notices[0] and "0.35" in notices[0]
    assert all(level in view.SLIDER_LEVELS for level in (0.0, 0.05, 0.5, 1.0)) and 0.01 not in view.SLIDER_LEVELS


def test_a_negative_zero_level_is_written_back_as_zero():
    values, _ = view.parse_query({"level": "-0.0"}, MODELS)
    assert view.to_query(values) == {"level": "0.0"}


def test_to_query_round_trips():
    """Writing a view to the URL and reading it back gives the same view."""
    assert view.parse_query(view.to_query(view.DEFAULTS), ["unet"]) == (view.DEFAULTS, [])


def test_format_metric_and_delta_handle_infinity():
    """Identical images show PSNR as ∞ and no delta rather than crashing or printing inf."""
    assert view.format_metric("psnr", math.inf) == "∞ dB"
    assert view.format_metric("psnr", 18.234) == "18.23 dB"
    assert view.metric_delta("psnr", math.inf, 10.0) is None
    assert view.metric_delta("psnr", 20.0, 12.5) == "+7.50 dB"
    assert view.metric_delta("mse", 0.01, 0.03) == "-0.0200"


def test_compare_sorts_best_first():
    """The identity on a clean digit beats a method that blanks it."""
    clean = torch.rand(2, 1, 28, 28)
    rows = compare({"blank": torch.zeros_like, "identity": lambda x: x}, clean, clean)
    assert [r["method"] for r in rows] == ["identity", "blank"]
    assert math.isinf(rows[0]["psnr"])


def test_psnr_by_level_falls_with_noise():
    """The noisy input's PSNR falls as the level rises; every method gets one value per level."""
    clean = torch.rand(3, 1, 28, 28)
    curves = psnr_by_level(lambda level: {"identity": lambda x: x}, clean, "gaussian", [0.1, 0.5, 0.9], seed=1)
    assert curves["noisy"] == curves["identity"]
    assert curves["noisy"][0] > curves["noisy"][1] > curves["noisy"][2]


def test_a_model_on_the_levels_chart_runs_once_for_every_level_with_the_same_curve(clean):
    """A shipped model is the same method at every level: one call on all the levels' noisy digits, whose
    curve is what a call per level gives."""
    clean = clean[:4]
    unet = methods.get("unet")
    assert methods.get("unet", "poisson", 0.3) is unet
    calls = []
    counted = lambda noisy: calls.append(len(noisy)) or unet(noisy)  # noqa: E731
    levels = [0.1, 0.5, 0.9]
    at = lambda level: {"unet": counted, "median": methods.get("median", "gaussian", level)}  # noqa: E731
    curves = psnr_by_level(at, clean, "gaussian", levels, seed=2)
    assert calls == [len(levels) * len(clean)] and list(curves) == ["noisy", "unet", "median"]
    one_by_one = [mean_psnr(clean, unet(make_noisy(clean, "gaussian", level, 2))) for level in levels]
    assert curves["unet"] == pytest.approx(one_by_one, abs=1e-3)


def test_canvas_to_mnist_centres_a_stroke():
    """A white stroke on a black RGBA canvas becomes a 28x28 digit in [0, 1] with its mass near the centre."""
    rgba = np.zeros((240, 240, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:200, 30:60, :3] = 255  # a vertical bar near the left edge
    digit = canvas_to_mnist(rgba)
    assert digit.shape == (1, 28, 28) and digit.min() >= 0 and digit.max() <= 1
    cols = torch.arange(28, dtype=torch.float32)
    centre = (digit[0].sum(0) * cols).sum() / digit.sum()
    assert abs(centre - 14) < 1.5


def test_canvas_to_mnist_rejects_blank_and_wrong_shapes():
    """A blank canvas or a non-RGBA array raises ImageError with a user-facing message."""
    with pytest.raises(ImageError, match="blank"):
        canvas_to_mnist(np.zeros((50, 50, 4), np.uint8))
    with pytest.raises(ImageError, match="RGBA"):
        canvas_to_mnist(np.zeros((50, 50), np.uint8))


def test_figures_cap_infinite_psnr():
    """The figures build, and an infinite PSNR is drawn at the cap instead of breaking the axis."""
    rows = [{"method": "a", "psnr": math.inf, "ssim": 1.0}, {"method": "b", "psnr": 12.0, "ssim": 0.5}]
    fig = figures.comparison_figure(rows)
    assert max(fig.data[0].x) == figures.PSNR_CAP
    assert len(figures.level_figure([0.1, 0.2], {"noisy": [20.0, 14.0]}, 0.15, "gaussian").data) == 1
    assert list(figures.loss_figure([0.3, 0.2]).data[0].y) == [0.3, 0.2]


def test_the_levels_chart_moved_to_a_level_is_what_plotly_makes_of_it_checked():
    """Built once and moved level by level without plotly's checks, the chart is what plotly makes of the same
    figure when it checks it: the mark and its label at the level, the curves untouched."""
    curves = {"noisy": [20.0, 14.0, 9.5], "unet": [30.0, math.inf, 18.0]}
    base = figures.level_figure([0.1, 0.5, 0.9], curves, 0.1, "gaussian").to_dict()
    moved = figures.moved_to(base, 0.55)
    assert moved.to_plotly_json() == go.Figure(moved.to_dict()).to_plotly_json()
    assert moved.layout.shapes[0].x0 == moved.layout.shapes[0].x1 == 0.55
    assert moved.layout.annotations[0].text == "now: 0.55"
    assert list(moved.data[1].y) == [30.0, figures.PSNR_CAP, 18.0]
    assert base["layout"]["shapes"][0]["x0"] == 0.1  # the figure moved from is left as it was


def test_the_loss_chart_draws_the_trend_over_each_steps_noise():
    """Each batch's loss, faint, and over it a smoothed curve that keeps the trend and drops the step-to-step noise."""
    g = torch.Generator().manual_seed(0)
    losses = (torch.linspace(1.0, 0.2, 200) + 0.2 * torch.randn(200, generator=g)).tolist()
    raw, trend = figures.loss_figure(losses).data
    assert list(raw.y) == losses and raw.opacity < 1
    steps = torch.tensor(trend.y).diff()
    assert float(steps.abs().mean()) < 0.1 * float(torch.tensor(losses).diff().abs().mean())
    assert trend.y[-1] < trend.y[20] - 0.5 and abs(trend.y[-1] - 0.2) < 0.1
    assert figures.smoothed([0.5] * 3) == pytest.approx([0.5] * 3)  # no pull towards zero at the start
