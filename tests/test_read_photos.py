"""`python -m scripts.read_photos`: a folder of photos read against its truth, also shrunk first as a repository or a
chat app keeps a phone's photo."""

import io
import json

import numpy as np
import pytest
from PIL import Image
from written import encode, page_of

from scripts import read_photos


def test_a_photo_is_shrunk_to_the_side_asked_upright_and_a_small_one_keeps_its_size():
    """The longer side becomes `side`, the picture turned upright by its EXIF orientation first (as phones save
    them); a picture already smaller keeps its size."""
    picture = Image.new("RGB", (1200, 800), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown a quarter turn clockwise
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    shrunk = Image.open(io.BytesIO(read_photos.shrunk(buffer.getvalue(), 600)))
    assert shrunk.format == "JPEG" and shrunk.size == (400, 600)
    assert Image.open(io.BytesIO(read_photos.shrunk(encode(np.zeros((50, 80), np.uint8)), 600))).size == (80, 50)


def test_the_photos_are_read_shrunk_with_side(sure, tmp_path, capsys):
    """With --side, the photos are read shrunk: a row of digits 60 px tall still reads at half the size, and one
    shrunk to 16 pixels holds no digit to read."""
    (tmp_path / "row.png").write_bytes(encode(page_of(sure, "2718", (140, 400), left=60, top=40)))
    (tmp_path / "truth.json").write_text(json.dumps({"row.png": ["2718"]}))
    assert read_photos.main([str(tmp_path), "--side", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pictures"][0]["read"] == ["2718"]
    assert read_photos.main([str(tmp_path), "--side", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["exact"] == 0


def test_a_file_that_is_no_picture_is_refused_shrunk_as_it_is(tmp_path, capsys):
    """A file no picture can be made of is answered with `find_digits`' own refusal, shrunk or not."""
    (tmp_path / "notes.jpg").write_bytes(b"not a picture")
    (tmp_path / "truth.json").write_text(json.dumps({"notes.jpg": ["12"]}))
    for side in ([], ["--side", "600"]):
        assert read_photos.main([str(tmp_path), "--json", *side]) == 0
        (row,) = json.loads(capsys.readouterr().out)["pictures"]
        assert row["read"] == [] and row["error"]


def test_a_side_too_small_to_read_is_refused_with_the_least_allowed(capsys):
    with pytest.raises(SystemExit):
        read_photos.parse_args(["folder", "--side", "3"])
    assert "--side must be at least 8 pixels, got 3" in capsys.readouterr().err


def test_a_glare_whitens_the_photo_at_its_centre_and_leaves_its_far_corner():
    """With strength 1 the glare's centre (0.35 of the way down, 0.6 across) is white; the far corner keeps its grey
    within a few levels; a file that is no picture is returned as it is."""
    grey = np.asarray(Image.open(io.BytesIO(read_photos.glared(encode(np.full((400, 600), 100, np.uint8)), 1.0))))
    assert grey.shape == (400, 600, 3)
    assert grey[140, 360].min() >= 250 and abs(int(grey[395, 5].mean()) - 100) <= 4
    assert read_photos.glared(b"not a picture", 0.5) == b"not a picture"


def test_the_photos_are_read_under_a_glare(sure, tmp_path, capsys):
    """With --glare, the photos are read with a glare laid over them: a row of digits under half a glare still reads
    whole, and under a glare that whitens its middle it does not."""
    (tmp_path / "row.png").write_bytes(encode(page_of(sure, "271828", (300, 520), left=40, top=60)))
    (tmp_path / "truth.json").write_text(json.dumps({"row.png": ["271828"]}))
    assert read_photos.main([str(tmp_path), "--glare", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pictures"][0]["read"] == ["271828"]
    assert read_photos.main([str(tmp_path), "--glare", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pictures"][0]["read"] != ["271828"]


@pytest.mark.parametrize("glare", ["0", "1.5"])
def test_a_glare_out_of_range_is_refused_with_its_range(capsys, glare):
    with pytest.raises(SystemExit):
        read_photos.parse_args(["folder", "--glare", glare])
    assert f"--glare must be in (0, 1], got {float(glare)}" in capsys.readouterr().err
