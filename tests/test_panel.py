"""The main view's block of HTML: pictures with their downloads, figures coloured by whether denoising helped."""

from __future__ import annotations

import math

from webapp import panel, view

NOISY = {"psnr": 10.0, "ssim": 0.4, "mse": 0.1}


def block(denoised: dict) -> str:
    pictures = [panel.Picture("data:image/png;base64,AAAA", "Original"),
                panel.Picture("data:image/png;base64,BBBB", "Noisy", "noisy.png")]  # fmt: skip
    return panel.view_html(pictures, view.figure_columns(NOISY, denoised))


def test_the_figures_read_back_as_the_page_shows_them():
    shown = panel.read_figures(block({"psnr": 20.0, "ssim": 0.9, "mse": 0.01}))
    assert shown["Noisy PSNR"].value == "10.00 dB" and shown["Noisy PSNR"].delta is None
    assert shown["Denoised PSNR"].value == "20.00 dB" and shown["Denoised PSNR"].delta == "+10.00 dB"
    assert shown["Denoised MSE"].delta == "-0.0900"
    assert len(shown) == 6


def test_a_change_is_coloured_by_whether_it_helps_and_a_lower_mse_helps():
    better = view.figure_columns(NOISY, {"psnr": 20.0, "ssim": 0.9, "mse": 0.01})
    worse = view.figure_columns(NOISY, {"psnr": 5.0, "ssim": 0.1, "mse": 0.3})
    assert [column[1].better for column in better] == [True, True, True]
    assert [column[1].better for column in worse] == [False, False, False]
    assert 'dn-delta dn-better">▲ +10.00 dB' in block({"psnr": 20.0, "ssim": 0.9, "mse": 0.01})
    assert 'dn-delta dn-better">▼ -0.0900' in block({"psnr": 20.0, "ssim": 0.9, "mse": 0.01})  # MSE went down: good


def test_no_change_and_an_infinite_psnr_have_no_coloured_delta():
    same = view.figure_columns(NOISY, dict(NOISY))
    assert [column[1].better for column in same] == [None, None, None]
    identical = view.figure_columns(NOISY, {"psnr": math.inf, "ssim": 1.0, "mse": 0.0})
    assert identical[0][1].value == "∞ dB" and identical[0][1].delta is None


def test_a_download_links_to_its_own_picture():
    pictures = panel.read_pictures(block(NOISY))
    assert [(p.caption, p.download) for p in pictures] == [("Original", None), ("Noisy", "noisy.png")]
    assert 'href="data:image/png;base64,BBBB" download="noisy.png">Noisy PNG</a>' in block(NOISY)


def test_text_is_escaped_and_the_block_is_one_line():
    """Markdown takes a block of HTML up to its first blank line; text in it is never markup."""
    text = panel.view_html([panel.Picture("data:,x", '<img src=x onerror="alert(1)">')], [])
    assert "<img src=x" not in text and "\n" not in text
    assert panel.read_pictures(text)[0].caption == '<img src=x onerror="alert(1)">'


def test_a_grid_shows_every_group_under_its_title():
    titles = ("Original", "Noisy")
    text = panel.grid_html([(t, [panel.Picture(f"data:,{t}{i}", f"{i}") for i in range(10)]) for t in titles])
    assert [p.url for p in panel.read_pictures(text)] == [f"data:,{t}{i}" for t in titles for i in range(10)]
    assert text.index(">Original<") < text.index("data:,Original0") < text.index(">Noisy<") < text.index("data:,Noisy0")
    assert "\n" not in text
