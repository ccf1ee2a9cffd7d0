"""Uploads: every kind of bad or odd file a visitor can send either becomes a sensible digit or a short ImageError.

Each file is made here with Pillow and numpy; nothing is read from disk but what the test wrote.
"""

import io
import json
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
import torch
from PIL import EpsImagePlugin, Image

from denoiser.digitize import ImageError, image_to_mnist
from denoiser.picture_io import MAX_PIXELS


def digit_array(size: int = 64, ink: int = 255, paper: int = 0) -> np.ndarray:
    """An L-shaped stroke (a vertical bar with a foot to the right), so a flip or a lost stroke shows."""
    arr = np.full((size, size), paper, np.uint8)
    s = size // 8
    arr[2 * s : 6 * s, 3 * s : 4 * s] = ink  # the bar
    arr[5 * s : 6 * s, 3 * s : 5 * s] = ink  # the foot
    return arr


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def zero_png(width: int, height: int) -> bytes:
    """A valid all-black 8-bit grey PNG of any size; highly compressible, so a huge one is a few hundred KB."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    packer, zeros = zlib.compressobj(9), bytes(width + 1)  # a row: one filter byte, then the pixels
    rows = [packer.compress(zeros) for _ in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = b"".join(rows) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    first = Image.fromarray(digit_array()).convert("P")
    blank = Image.new("P", first.size, 0)
    return encode(first, "GIF", save_all=True, append_images=[blank, blank], duration=100, loop=0)


def rgba_on_transparent() -> bytes:
    """Black ink on a transparent field: the transparency is paper, so the ink becomes a white digit."""
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 3] = digit_array()  # alpha: opaque where the ink is; colour black everywhere
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def white_on_transparent() -> bytes:
    """White ink on a transparent field, as a drawing app that shows its field black saves a digit: on paper the
    ink would vanish, so the field is taken for black."""
    rgba = np.full((64, 64, 4), 255, np.uint8)
    rgba[..., 3] = digit_array()  # alpha: opaque where the ink is; colour white everywhere
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def large_colour_photo() -> bytes:
    """A 3000x2000 RGBA photo of dark ink on a light grey page: allowed, shrunk after decoding."""
    page = np.full((2000, 3000), 235, np.uint8)
    page[:, 500:2500] -= digit_array(2000, ink=215)  # ink at 20 on paper at 235
    return encode(Image.fromarray(page).convert("RGBA"), "PNG", compress_level=1)


def lab_tiff() -> bytes:
    """A TIFF in CIE LAB colour: its lightness channel holds the digit."""
    lightness, neutral = Image.fromarray(digit_array()), Image.new("L", (64, 64), 128)
    return encode(Image.merge("LAB", (lightness, neutral, neutral)), "TIFF")


def large_16bit_scan() -> bytes:
    """A 4096x2048 16-bit greyscale scan: allowed, and shrunk 4 times after decoding."""
    scan = np.zeros((2048, 4096), np.uint16)
    scan[:, 1024:3072] = digit_array(2048).astype(np.uint16) * 257
    return encode(Image.fromarray(scan), "PNG", compress_level=1)


def phone_photo_48_megapixels() -> bytes:
    """An 8000x6000 JPEG, as a 48-megapixel phone takes: over the limit for a decoded picture, but a JPEG decodes
    at a quarter of its size."""
    page = np.full((6000, 8000), 235, np.uint8)
    page[:, 1000:7000] -= digit_array(6000, ink=215)
    return encode(Image.fromarray(page), "JPEG", quality=90)


READABLE = {
    "grey PNG": lambda: encode(Image.fromarray(digit_array()), "PNG"),
    "16-bit PNG": lambda: encode(Image.fromarray(digit_array().astype(np.uint16) * 257), "PNG"),
    "CMYK JPEG": lambda: encode(Image.fromarray(digit_array()).convert("CMYK"), "JPEG", quality=95),
    "RGBA with alpha": rgba_on_transparent,
    "white ink on a transparent field": white_on_transparent,
    "animated GIF": animated_gif,
    "dark ink on white paper": lambda: encode(Image.fromarray(255 - digit_array()).convert("RGB"), "PNG"),
    "BMP": lambda: encode(Image.fromarray(digit_array()), "BMP"),
    "WebP": lambda: encode(Image.fromarray(digit_array()).convert("RGB"), "WEBP", lossless=True),
    "large colour photo": large_colour_photo,
    "large 16-bit scan": large_16bit_scan,
    "LAB TIFF": lab_tiff,
    "48-megapixel phone photo": phone_photo_48_megapixels,
}


@pytest.fixture(scope="module")
def reference() -> torch.Tensor:
    """The digit as a plain greyscale PNG makes it: what every readable variant should come out as."""
    return image_to_mnist(encode(Image.fromarray(digit_array()), "PNG"))


@pytest.mark.parametrize("name", list(READABLE))
def test_readable_pictures_become_the_same_mnist_digit(name, reference):
    digit = image_to_mnist(READABLE[name]())
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.float32
    assert digit.min() >= 0 and digit.max() == 1
    assert (digit - reference).abs().mean() < 0.03, f"{name} differs from the plain PNG"


def test_animated_gif_uses_its_first_frame_not_a_later_blank_one(reference):
    assert (image_to_mnist(animated_gif()) - reference).abs().max() < 0.02


def test_a_lying_extension_is_read_by_content(tmp_path, reference):
    path = tmp_path / "digit.png"  # JPEG bytes under a .png name
    path.write_bytes(encode(Image.fromarray(digit_array()), "JPEG", quality=95))
    assert (image_to_mnist(path.read_bytes()) - reference).abs().mean() < 0.03


def _truncated(fmt: str) -> bytes:
    data = encode(Image.fromarray(digit_array(256)).convert("RGB"), fmt)
    return data[: len(data) // 2]


def _corrupt_png() -> bytes:
    data = bytearray(encode(Image.fromarray(digit_array(256)), "PNG"))
    data[40:140] = bytes(100)  # zero the header chunk's tail and the start of the pixel data
    return bytes(data)


BAD = {
    "zero bytes": (lambda: b"", "empty"),
    "text": (lambda: b"hello, this is not a picture\n" * 10, "not an image"),
    "truncated PNG": (lambda: _truncated("PNG"), "not an image"),
    "truncated JPEG": (lambda: _truncated("JPEG"), "not an image"),
    "corrupt PNG": (_corrupt_png, "not an image"),
    "1x1 white": (lambda: encode(Image.new("L", (1, 1), 255), "PNG"), "too small"),
    "1x1 black": (lambda: encode(Image.new("L", (1, 1), 0), "PNG"), "too small"),
    "all black": (lambda: encode(Image.new("L", (64, 64), 0), "PNG"), "blank"),
    "all white": (lambda: encode(Image.new("RGB", (64, 64), "white"), "JPEG"), "blank"),
    "fully transparent": (lambda: encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"), "blank"),
    "just over the pixel limit": (lambda: zero_png(4097, 4097), "too large"),
    "a JPEG just over its pixel limit": (lambda: encode(Image.new("L", (8193, 8192)), "JPEG"), "too large"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_raise_one_short_image_error(name):
    make, words = BAD[name]
    with pytest.raises(ImageError, match=words) as caught:
        image_to_mnist(make())
    message = str(caught.value)
    assert "\n" not in message and len(message) < 120


def test_eps_is_never_handed_to_ghostscript(monkeypatch):
    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *args, **kwargs: calls.append(args))
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nnewpath 0 0 moveto 64 64 lineto stroke\n%%EOF\n"
    with pytest.raises(ImageError, match="not an image"):
        image_to_mnist(eps)
    assert calls == []


BOMB_PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    from PIL import Image
    from denoiser.digitize import ImageError, image_to_mnist

    Image.MAX_IMAGE_PIXELS = None  # as if a host had switched Pillow's own check off: only ours is left
    data = open(sys.argv[1], "rb").read()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    vm_kb = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmSize")))
    resource.setrlimit(resource.RLIMIT_AS, (vm_kb * 1024 + (1 << 30), hard))  # a safety net: 1 GB more at most
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        image_to_mnist(data)
        outcome = "accepted"
    except ImageError as err:
        outcome = str(err)
    except MemoryError:
        outcome = "MemoryError"
    print(json.dumps({
        "outcome": outcome, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
        "rss_grew_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024,
    }))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="measures memory through /proc and getrusage")
def test_a_decompression_bomb_is_refused_in_under_a_second_without_decoding(tmp_path):
    """A 20,000 x 20,000 PNG (400 million pixels, ~400 KB) is refused from its header alone.

    Measured in a fresh process, whose peak RSS is not yet raised by other tests, with Pillow's
    own bomb check off, so only the library's guard stands between the file and 400 MB of pixels.
    """
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(zero_png(20_000, 20_000))
    assert bomb.stat().st_size < 1_000_000 and MAX_PIXELS < 20_000 * 20_000
    done = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, str(bomb)], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout)
    assert "too large" in result["outcome"]
    assert result["cpu"] < 1.0 and result["wall"] < 1.0
    assert result["rss_grew_mb"] < 50


def jpeg_photo(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    page = np.clip(rng.normal(200, 8, (300, 400)), 0, 255).astype(np.uint8)
    page[100:220, 150:170] = 30  # a "1"
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["cut, with its end marker", "a header that promises four times the size"])
def test_a_jpeg_that_ends_before_its_picture_is_refused_as_incomplete(damage):
    """libjpeg fills missing data with flat grey and only warns: that is not a picture to search for a digit."""
    import struct

    data = bytearray(jpeg_photo())
    if damage.startswith("cut"):
        data = data[: len(data) // 3] + b"\xff\xd9"
    else:
        at = data.find(b"\xff\xc0")
        height, width = struct.unpack(">HH", data[at + 5 : at + 9])
        data[at + 5 : at + 9] = struct.pack(">HH", 4 * height, 4 * width)
    with pytest.raises(ImageError, match="incomplete"):
        image_to_mnist(bytes(data))


def test_a_whole_jpeg_of_the_same_picture_is_read():
    assert image_to_mnist(jpeg_photo()).shape == (1, 28, 28)
