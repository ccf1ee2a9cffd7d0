"""`python -m denoiser read`: what a picture of a number reads, as lines, as JSON, and as denoised digit files."""

from __future__ import annotations

import json

import pytest
from conftest import number_picture
from PIL import Image

from denoiser.cli import main
from denoiser.reading import find_digits
from denoiser.verdicts import TAKEN_FOR_NONE


@pytest.fixture(scope="module")
def number(test_digits, tmp_path_factory):
    path = tmp_path_factory.mktemp("pictures") / "number.png"
    path.write_bytes(number_picture(test_digits, "4071"))
    return path


def test_one_picture_prints_exactly_the_lines_read(number, capsys):
    assert main(["read", str(number)]) == 0
    assert capsys.readouterr().out == "4071\n"
    assert find_digits(number.read_bytes()).lines == ["4071"]


def test_json_is_strict_and_gives_every_digit_with_its_box_and_confidence(number, capsys):
    assert main(["read", str(number), "--json"]) == 0
    result = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    [picture] = result["pictures"]
    assert picture["lines"] == ["4071"] and [d["text"] for d in picture["digits"]] == list("4071")
    assert picture["quarters"] == 0  # read as it was taken
    for position, digit in enumerate(picture["digits"], start=1):
        top, left, bottom, right = digit["box"]
        assert digit["line"] == 1 and digit["position"] == position and 0 <= top < bottom and 0 <= left < right
        assert 0.5 < digit["confidence"] <= 1 and digit["is_digit"] and digit["overruled"] is None
        assert digit["why_not"] is None


def test_json_says_why_a_mark_is_no_digit(test_digits, tmp_path, capsys):
    """A typeset A among digits reads "?": the JSON says it was taken for no digit, with the odds."""
    path = tmp_path / "letter.png"
    path.write_bytes(number_picture(test_digits, "40A1"))
    assert main(["read", str(path), "--json"]) == 0
    [picture] = json.loads(capsys.readouterr().out)["pictures"]
    assert picture["lines"] == ["40?1"]
    letter = picture["digits"][2]
    assert not letter["is_digit"] and letter["why_not"] == TAKEN_FOR_NONE and letter["not_a_digit"] > 0.95


def test_out_writes_each_digit_denoised_named_by_picture_line_and_position(number, tmp_path, capsys):
    assert main(["read", str(number), "--out", str(tmp_path / "digits")]) == 0
    assert capsys.readouterr().out == "4071\n"
    written = sorted(p.name for p in (tmp_path / "digits").iterdir())
    assert written == [f"number-1-{k}.png" for k in range(1, 5)]
    assert Image.open(tmp_path / "digits" / "number-1-2.png").size == (28, 28)


def test_several_pictures_each_line_named_and_a_bad_one_does_not_stop_the_others(number, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    assert main(["read", str(bad), str(number)]) == 2
    printed = capsys.readouterr()
    assert printed.out == f"{number}: 4071\n"
    assert len(printed.err.strip().splitlines()) == 1 and "bad.png" in printed.err


def test_a_blank_page_reads_no_lines_and_says_so(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 100), 255).save(blank)
    assert main(["read", str(blank)]) == 0
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.strip() == f"denoiser read: {blank}: no digits found"


def test_what_is_not_a_picture_file_alone_exits_2_in_one_line(tmp_path, capsys):
    assert main(["read", str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
