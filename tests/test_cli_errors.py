"""Bad command lines exit 2 with one line naming the argument; a missing file exits 1 with one line.

Run in-process through `main`, which is what `python -m denoiser` calls; test_cli.py checks the
same through a real subprocess for a few cases.
"""

import os
from pathlib import Path

import pytest
import torch

from denoiser.cli import main
from denoiser.picture_io import tensor_to_png


def run(capsys, *args: str) -> tuple[int, list[str]]:
    """Exit status and stderr lines of `python -m denoiser ARGS`."""
    try:
        code = main(list(args))
    except SystemExit as done:  # argparse exits from inside parse_args
        code = done.code
    return code, capsys.readouterr().err.strip().splitlines()


MORE_THAN_CORES = str((os.cpu_count() or 1) + 1)
EVALUATE = ("evaluate", "--model", "seed-ae", "--source", "sample")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((*EVALUATE, "--noise", "gaussian", "--level", "0.5", "--seed", "-1"), "--seed"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "0.5", "--seed", "abc"), "--seed"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "0.5", "--seed", "1.5"), "--seed"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "abc"), "--level"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "inf"), "--level"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "-0.1"), "--level"),
        ((*EVALUATE, "--noise", "gaussian", "--level", ""), "--level"),
        ((*EVALUATE, "--noise", "Gaussian", "--level", "0.5"), "--noise"),
        ((*EVALUATE, "--noise", "gaussian"), "--level"),
        ((*EVALUATE, "--noise", "gaussian", "--level", "0.5", "--limit", "0"), "--limit"),
        (("evaluate", "--model", "seed-ae", "--source", "emnist", "--noise", "gaussian", "--level", "0.5"), "--source"),
        ((*EVALUATE[:2], "magic", *EVALUATE[3:], "--noise", "gaussian", "--level", "0.5"), "--model"),
        (("train", "--model", "unet", "--seed", "-1"), "--seed"),
        (("train", "--model", "unet", "--lr", "abc"), "--lr"),
        (("train", "--model", "unet", "--batch-size", "0"), "--batch-size"),
        (("train", "--model", "unet", "--threads", "-2"), "--threads"),
        (("train", "--model", "unet", "--noise", "gaussian", "--level", "2"), "--level"),
        (("train", "--model", "seed-ae", "--widths", "8", "16", "--source", "sample"), "--widths"),
        # Values just past each bound (larger ones, unrefused, would make the test itself eat the machine).
        (("train", "--model", "unet", "--threads", MORE_THAN_CORES), "--threads: must be a whole number in 0.."),
        (("resume", "x.pt.resume", "--threads", MORE_THAN_CORES), "--threads: must be a whole number in 0.."),
        (("benchmark", "--threads", MORE_THAN_CORES), "--threads: must be a whole number in 1.."),
        (("train", "--model", "unet", "--widths", "8", "8", "8", "8", "--source", "sample"), "--widths takes 2..3"),
        (("train", "--model", "unet", "--widths", "513", "513"), "--widths: must be a whole number in 1..512"),
        (("train", "--model", "unet", "--mid-blocks", "33"), "--mid-blocks: must be a whole number in 0..32"),
        (("train", "--model", "unet", "--batch-size", "1025"), "--batch-size: must be a whole number in 1..1024"),
        (("tune-baselines", "--seed", "-1"), "--seed"),
        (("benchmark", "--limit", "-1"), "--limit"),
        (("train-classifier", "--epochs", "0"), "--epochs"),
        (("denoise", "in.png", "out.png", "--noise", "gaussian"), "--level"),
        (("denoise", "in.png", "out.png", "--noise", "gaussian", "--level", "0.3", "--seed", "-4"), "--seed"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_the_argument(capsys, args, named):
    code, lines = run(capsys, *args)
    assert code == 2
    assert len(lines) == 1, lines
    assert "error" in lines[0] and named in lines[0]


def test_a_file_that_is_not_an_image_exits_2_with_the_reason(tmp_path, capsys):
    text = tmp_path / "digit.png"
    text.write_text("not a picture")
    code, lines = run(capsys, "denoise", "--model", "median", str(text), str(tmp_path / "out.png"))
    assert code == 2 and len(lines) == 1
    assert "not an image" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_a_missing_input_file_exits_1_naming_it(tmp_path, capsys):
    missing = tmp_path / "nowhere.png"
    code, lines = run(capsys, "denoise", "--model", "median", str(missing), str(tmp_path / "out.png"))
    assert code == 1 and len(lines) == 1
    assert "nowhere.png" in lines[0]


@pytest.mark.timeout(20)  # /dev/zero was once read until memory ran out, and a FIFO blocked for ever
@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path, capsys, kind):
    source = {"device": Path("/dev/zero"), "fifo": tmp_path / "pipe", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(source)
    code, lines = run(capsys, "denoise", "--model", "median", str(source), str(tmp_path / "out.png"))
    assert code == 2 and len(lines) == 1 and "not a regular file" in lines[0]


def test_a_file_larger_than_any_picture_is_refused_without_reading_it_all(tmp_path, capsys, monkeypatch):
    from denoiser.cli import common

    monkeypatch.setattr(common, "MAX_PICTURE_BYTES", 1000)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(5000))
    code, lines = run(capsys, "denoise", "--model", "median", str(big), str(tmp_path / "out.png"))
    assert code == 2 and len(lines) == 1 and "larger than" in lines[0]


def test_a_blank_picture_exits_2_saying_so(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    blank.write_bytes(tensor_to_png(torch.zeros(1, 64, 64)))
    code, lines = run(capsys, "denoise", "--model", "median", str(blank), str(tmp_path / "out.png"))
    assert code == 2 and len(lines) == 1
    assert "blank" in lines[0]


def _digit(path):
    picture = torch.zeros(1, 28, 28)
    picture[:, 6:22, 12:16] = 1.0
    path.write_bytes(tensor_to_png(picture))
    return path


def test_denoise_refuses_to_write_over_its_input(tmp_path, capsys, monkeypatch):
    source = _digit(tmp_path / "a.png")
    before = source.read_bytes()
    monkeypatch.chdir(tmp_path)
    for output in ("a.png", str(source), "./a.png"):
        code, lines = run(capsys, "denoise", "--model", "median", "a.png", output)
        assert code == 2 and len(lines) == 1 and "is the input file" in lines[0]
    (tmp_path / "link.png").symlink_to(source)
    code, lines = run(capsys, "denoise", "--model", "median", "a.png", "link.png")
    assert code == 2 and "is the input file" in lines[0]
    assert source.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "magic"),
    [("out.png", b"\x89PNG"), ("out.jpg", b"\xff\xd8\xff"), ("OUT.JPEG", b"\xff\xd8\xff"), ("out.bmp", b"BM"),
     ("out.webp", b"RIFF"), ("out.tif", b"II*\x00")],
)  # fmt: skip
def test_denoise_writes_the_format_its_output_extension_names(tmp_path, capsys, name, magic):
    from PIL import Image

    source = _digit(tmp_path / "a.png")
    code, _ = run(capsys, "denoise", "--model", "median", str(source), str(tmp_path / name))
    assert code == 0 and (tmp_path / name).read_bytes().startswith(magic)
    assert Image.open(tmp_path / name).size == (28, 28)


@pytest.mark.parametrize("name", ["out.txt", "out", "out.pdf"])
def test_denoise_refuses_an_extension_it_cannot_write_naming_the_allowed_ones(tmp_path, capsys, name):
    source = _digit(tmp_path / "a.png")
    code, lines = run(capsys, "denoise", "--model", "median", str(source), str(tmp_path / name))
    assert code == 2 and len(lines) == 1 and ".png, .jpg" in lines[0]
    assert not (tmp_path / name).exists()
