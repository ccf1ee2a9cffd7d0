"""Pictures of sheets of handwritten digits: rows, lines and grids of MNIST test digits, photographed.

`photos` makes a picture of one digit; this module writes many on one page, as people photograph a
phone number, a row of thirty digits or a keypad-like grid, so that `reading.find_digits` can be
scored against what was written. Each digit is a test digit written in pen (`simulate._strokes`), laid
out in lines with varied spacing and size, its bottom on a wavy baseline; then the page gets its
tone, rules or squares, uneven light, a tilt, a table around it, lens blur, sensor noise and a JPEG
encoding, all from `simulate`'s helpers. A letter written among the digits is read as "?".

Each scene maker takes a pool of test digits (`data.Digits`) and a `numpy.random.Generator` and
returns (encoded picture, lines written); `SCENES` names them. A seed repeats a set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from skimage import transform

from ..data import Digits
from ..reading import NOT_A_DIGIT  # what a letter among the digits reads as
from .realworld import _font
from .simulate import _camera, _encode, _ink_colour, _light, _page, _strokes, _write

LETTERS = "ACEFHKMNRWXYacefhkmnrwxy"  # letters no reader would take for a digit (no O, I, l, S, Z, B, g, q)
LETTER_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed-Oblique.ttf")

Glyph = tuple[np.ndarray, str]  # ink coverage (h, w) in [0, 1] cut to its box, and what it reads as


def _cut(ink: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Ink coverage cut to the box of the pixels above `threshold`."""
    rows, cols = np.flatnonzero(ink.max(1) > threshold), np.flatnonzero(ink.max(0) > threshold)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _digit(pool: Digits, height: int, rng: np.random.Generator) -> Glyph:
    """A random digit of the pool written about `height` pixels tall."""
    i = int(rng.integers(len(pool)))
    return written(pool.images[i, 0].numpy(), str(int(pool.labels[i])), height, rng)


def written(clean: np.ndarray, label: str, height: int, rng: np.random.Generator) -> Glyph:
    """A 28x28 digit `clean` written in pen about `height` pixels tall, slightly rotated, and what it reads as."""
    return _cut(_strokes(clean, height, rng, angle=6.0)), label


def letter(height: int, rng: np.random.Generator, char: str | None = None) -> Glyph:
    """A letter (`char`, or one of `LETTERS`) typeset `height` pixels tall (a small one less), in one of
    `LETTER_FONTS`; it reads as "?"."""
    char = char or str(rng.choice(list(LETTERS)))
    size = 3 * height
    img = Image.new("L", (size, size), 0)
    font = _font(str(rng.choice(LETTER_FONTS)), int(1.3 * height))
    ImageDraw.Draw(img).text((size // 2, size // 2), char, fill=255, font=font, anchor="mm")
    ink = _cut(np.asarray(img, np.float64) / 255.0)
    tall = height if char.isupper() or char in "bdfhklt" else int(0.7 * height)  # a small letter's x-height
    wide = max(2, round(ink.shape[1] * tall / ink.shape[0]))
    return np.clip(transform.resize(ink, (tall, wide), order=1, anti_aliasing=True), 0, 1), NOT_A_DIGIT


def _glyphs(pool: Digits, count: int, height: int, rng: np.random.Generator, a_letter: bool = False) -> list[Glyph]:
    """`count` digits of one hand: sizes within 10% of `height`; with `a_letter`, one of them is a letter."""
    sizes = (height * rng.uniform(0.9, 1.1, count)).astype(int)
    glyphs = [_digit(pool, int(s), rng) for s in sizes]
    if a_letter:
        glyphs[int(rng.integers(count))] = letter(height, rng)
    return glyphs


def _touching_gap(left: np.ndarray, right: np.ndarray, drop: int, overlap: int) -> int:
    """The gap (negative) that puts glyph `right`, its top `drop` pixels below `left`'s, `overlap` pixels
    into `left` where their ink comes closest: two digits written so close that their strokes touch."""
    h = min(left.shape[0], right.shape[0] + drop) - max(0, drop)
    rows_l, rows_r = left[max(0, drop) : max(0, drop) + h] > 0.5, right[max(0, -drop) : max(0, -drop) + h] > 0.5
    both = rows_l.any(1) & rows_r.any(1)
    if not both.any():
        return -overlap
    end_l = left.shape[1] - np.argmax(rows_l[both, ::-1], 1)  # each row's last ink column + 1
    start_r = np.argmax(rows_r[both], 1)
    return -int((left.shape[1] - end_l + start_r).min()) - overlap


def _line_xs(glyphs: list[Glyph], height: int, rng: np.random.Generator, spacing: tuple[float, float],
             touching: int = 0) -> list[int]:  # fmt: skip
    """Left edges of the glyphs written left to right, gaps of `spacing` times `height`; `touching` pairs touch."""
    gaps = list(rng.uniform(*spacing, len(glyphs)) * height)
    for i in rng.choice(np.arange(1, len(glyphs)), size=min(touching, len(glyphs) - 1), replace=False):
        (a, _), (b, _) = glyphs[i - 1], glyphs[i]
        gaps[i] = _touching_gap(a, b, a.shape[0] - b.shape[0], max(1, height // 30))
    xs, x = [], 0
    for (ink, _), gap in zip(glyphs, gaps, strict=True):
        x += 0 if not xs else int(gap)
        xs.append(x)
        x += ink.shape[1]
    return xs


def _lay_out(rows: list[list[Glyph]], xs: list[list[int]], baselines: list[int], height: int,
             rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Ink coverage of the glyphs, each with its bottom on its row's baseline (a little above or below it)."""
    ends = [x + g.shape[1] for row, row_xs in zip(rows, xs, strict=True) for (g, _), x in zip(row, row_xs, strict=True)]
    width = max(ends)
    canvas = np.zeros((baselines[-1] + height, width + 1))
    for row, row_xs, base in zip(rows, xs, baselines, strict=True):
        for (ink, _), x in zip(row, row_xs, strict=True):
            bottom = base + int(rng.normal(0, 0.04 * height))
            top = max(0, bottom - ink.shape[0])
            part = canvas[top : top + ink.shape[0], x : x + ink.shape[1]]
            np.maximum(part, ink[: part.shape[0], : part.shape[1]], out=part)  # touching strokes: one ink
    return canvas


def _text(rows: list[list[Glyph]]) -> list[str]:
    return ["".join(label for _, label in row) for row in rows]


def _lines(rows: list[list[Glyph]], height: int, rng: np.random.Generator, *, spacing=(0.2, 0.6), pitch=(1.5, 2.2),
           touching: int = 0) -> tuple[np.ndarray, list[int]]:  # fmt: skip
    """Rows of glyphs written as lines one under another: ink coverage, and each line's baseline."""
    xs = [
        [x + int(rng.uniform(0, 0.5) * height) for x in _line_xs(row, height, rng, spacing, touching)] for row in rows
    ]
    baselines = list(np.cumsum(height * rng.uniform(*pitch, len(rows))).astype(int))
    return _lay_out(rows, xs, baselines, height, rng), baselines


def _rules(shape: tuple[int, int], baselines: list[int], height: int, squared: bool, rng) -> np.ndarray:
    """Coverage of ruled lines under each baseline (lined paper), or of squares 0.4-0.7 digits wide."""
    cover = np.zeros(shape)
    width = max(1, height // 25)
    gap = int(height * rng.uniform(0.4, 0.7))
    rows = range(int(rng.integers(gap)), shape[0], gap) if squared else [b + int(0.05 * height) for b in baselines]
    for r in rows:
        cover[r : r + width] = 1
    if squared:
        for c in range(int(rng.integers(gap)), shape[1], gap):
            cover[:, c : c + width] = 1
    return cover


def _paper(ink: np.ndarray, baselines: list[int], height: int, rng, rules: str = "plain") -> np.ndarray:
    """The ink written on a page (H, W, 3) with margins of 0.5-1.5 digits, plain, lined or squared."""
    margin = (height * rng.uniform(0.5, 1.5, 4)).astype(int)
    ink = np.pad(ink, ((margin[0], margin[1]), (margin[2], margin[3])))
    page = _page(ink.shape, rng, (0.7, 0.97))
    if rules != "plain":
        tone = np.array([0.55, 0.65, 0.85]) * rng.uniform(0.45, 1.0)  # pale blue to a dark blue-grey that is ink
        cover = _rules(ink.shape, [b + margin[0] for b in baselines], height, rules == "squared", rng)
        page = _write(page, cover * rng.uniform(0.3, 1.0), 0, 0, tone)
    return _write(page, ink, 0, 0, _ink_colour(rng))


def _on_a_table(page: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """The page turned by `angle` degrees on a dark table that shows 3-10% of the picture's side around it."""
    turned = transform.rotate(np.dstack([page, np.ones(page.shape[:2])]), angle, resize=True, order=1)
    pad = (np.array(turned.shape[:2]) * rng.uniform(0.03, 0.10, 2)).astype(int)
    turned = np.pad(turned, ((pad[0], pad[0]), (pad[1], pad[1]), (0, 0)))
    table = _page(turned.shape[:2], rng, (0.05, 0.35))
    return table * (1 - turned[..., 3:]) + turned[..., :3]  # the page's colour is already weighted by its cover


def _photograph(page: np.ndarray, height: int, rng: np.random.Generator, *, angle: float = 0.0, table: bool = False,
                low: float = 0.5) -> bytes:  # fmt: skip
    """The page photographed: turned by `angle` (on a table when `table`), uneven light down to `low`,
    lens blur, sensor noise and a JPEG encoding."""
    if table:
        page = _on_a_table(page, angle, rng)
    elif angle:
        page = transform.rotate(page, angle, resize=True, order=1, mode="edge")
    page = page * _light(page.shape[:2], rng, low)[..., None]
    return _encode(_camera(page, rng, rng.uniform(0.3, 1.0) * height / 60, rng.uniform(2, 7)), "JPEG", rng)


def photograph_lines(rows: list[list[Glyph]], height: int, rng: np.random.Generator, *, touching: int = 0,
                     rules: str = "plain", spacing: tuple[float, float] = (0.2, 0.6), **photo) -> bytes:  # fmt: skip
    """Lines of glyphs about `height` px tall written one under another, `spacing` heights apart, on plain,
    "lined" or "squared" paper, photographed (`photo`: `angle`, `table`, `low` light); `touching` pairs of
    each line touch."""
    ink, baselines = _lines(rows, height, rng, spacing=spacing, touching=touching)
    return _photograph(_paper(ink, baselines, height, rng, rules), height, rng, **photo)


def _sheet(pool: Digits, rng: np.random.Generator, counts: list[int], height: int, *, with_letter: bool = False,
           **photo) -> tuple[bytes, list[str]]:  # fmt: skip
    """Lines of `counts` random digits `height` px tall photographed, a letter in the first with `with_letter`."""
    rows = [_glyphs(pool, n, height, rng, a_letter=with_letter and k == 0) for k, n in enumerate(counts)]
    return photograph_lines(rows, height, rng, **photo), _text(rows)


def _height(rng: np.random.Generator, low: int = 40, high: int = 110) -> int:
    return int(rng.integers(low, high + 1))


def row(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """A row of ten digits (like "1234567890") on plain paper."""
    return _sheet(pool, rng, [10], _height(rng))


def four_lines(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Four lines of 5-12 digits."""
    return _sheet(pool, rng, list(rng.integers(5, 13, 4)), _height(rng, 35, 80))


def long_row(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Thirty digits on one line."""
    return _sheet(pool, rng, [30], _height(rng, 30, 60))


def lined(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Two or three lines written on the rules of lined paper."""
    return _sheet(pool, rng, list(rng.integers(6, 11, int(rng.integers(2, 4)))), _height(rng), rules="lined")


def squared(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Two or three lines written on squared paper."""
    return _sheet(pool, rng, list(rng.integers(6, 11, int(rng.integers(2, 4)))), _height(rng), rules="squared")


def uneven_light(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Two lines under light falling to a quarter across the page."""
    return _sheet(pool, rng, [8, 8], _height(rng), low=0.25)


def on_a_table(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Three lines on a sheet lying on a dark table, the table in view all around, turned up to 4 degrees."""
    return _sheet(pool, rng, [8, 7, 9], _height(rng), table=True, angle=float(rng.uniform(-4, 4)))


def tilted(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Two lines of ten photographed at 2-6 degrees."""
    angle = float(rng.uniform(2, 6) * rng.choice([-1, 1]))
    return _sheet(pool, rng, [10, 10], _height(rng), angle=angle)


def slanted(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """A number of 6-10 digits written at a slant of 15-40 degrees up or down the page, every digit leaning with it."""
    angle = float(rng.uniform(15, 40) * rng.choice([-1, 1]))
    return _sheet(pool, rng, [int(rng.integers(6, 11))], _height(rng), angle=angle)


def touching(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """A row of ten in which one or two pairs of digits touch."""
    return _sheet(pool, rng, [10], _height(rng), touching=int(rng.integers(1, 3)))


def a_letter(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """A row of eight digits with a letter among them, read as "?"."""
    return _sheet(pool, rng, [9], _height(rng), with_letter=True)


def phone_number(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Ten digits in groups of 3, 3 and 4, a digit's width or more between the groups."""
    height = _height(rng)
    rows = [_glyphs(pool, 10, height, rng)]
    xs = _line_xs(rows[0], height, rng, (0.15, 0.4))
    extra = (height * rng.uniform(0.6, 1.2, 2)).astype(int)
    xs = [x + extra[0] * (i >= 3) + extra[1] * (i >= 6) for i, x in enumerate(xs)]
    ink = _lay_out(rows, [xs], [height], height, rng)
    return _photograph(_paper(ink, [height], height, rng), height, rng), _text(rows)


def grid(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """A 3-3-3-1 grid, like a keypad: three columns 1.3-2.2 digits apart, the last row's digit in the middle."""
    height = _height(rng, 40, 90)
    rows = [_glyphs(pool, n, height, rng) for n in (3, 3, 3, 1)]
    column = height * rng.uniform(1.3, 2.2)
    xs = [[max(0, int((c + (len(r) == 1)) * column + rng.normal(0, 0.05 * height))) for c in range(len(r))]
          for r in rows]  # fmt: skip
    baselines = list(np.cumsum(height * rng.uniform(1.4, 2.0, 4)).astype(int))
    ink = _lay_out(rows, xs, baselines, height, rng)
    return _photograph(_paper(ink, baselines, height, rng), height, rng), _text(rows)


def _vignette(shape: tuple[int, int], strength: float) -> np.ndarray:
    """A lens's fall-off: 1 at the centre, 1 - `strength` in the corners."""
    y, x = np.ogrid[-1 : 1 : shape[0] * 1j, -1 : 1 : shape[1] * 1j]
    return 1 - strength * (x**2 + y**2) / 2


def big_photo(pool: Digits, rng: np.random.Generator, size: float = 1.0, slant: float = 0.0) -> tuple[bytes, list[str]]:
    """A 12-megapixel phone photo (4608 x 2592) of 34-40 small digits on one line, across 65-85% of its width (or
    `size` times that), vignetted, turned up to 2 degrees (and `slant` more: written at a slant)."""
    count, shape = int(rng.integers(34, 41)), (2592, 4608)
    height = int(shape[1] * rng.uniform(0.65, 0.85) * size / (count * 1.05))
    rows = [_glyphs(pool, count, height, rng)]
    ink = _lay_out(rows, [_line_xs(rows[0], height, rng, (0.2, 0.6))], [height], height, rng)
    ink = np.clip(transform.rotate(ink, rng.uniform(-2, 2) + slant, resize=True, order=1), 0, 1)
    top = int(rng.uniform(0.2, 0.7) * (shape[0] - ink.shape[0]))
    left = int(rng.uniform(0.3, 0.7) * (shape[1] - ink.shape[1]))
    page = _write(_page(shape, rng, (0.7, 0.95)), ink, top, left, _ink_colour(rng))
    page *= (_light(shape, rng, 0.6) * _vignette(shape, rng.uniform(0.4, 0.7)))[..., None]
    rgb = _camera(page, rng, rng.uniform(0.5, 1.5), rng.uniform(3, 8))
    return _encode(rgb, "JPEG", rng), _text(rows)


def small_digits(pool: Digits, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """`big_photo` with digits a third as tall: 24-37 pixels in the photo, 11-16 once it is read at 2048."""
    return big_photo(pool, rng, size=1 / 3)


# name -> (maker, what it shows)
SCENES: dict[str, tuple[Callable[[Digits, np.random.Generator], tuple[bytes, list[str]]], str]] = {
    "row": (row, "a row of ten digits"),
    "phone_number": (phone_number, "a phone number: groups of 3, 3 and 4"),
    "four_lines": (four_lines, "four lines of 5-12 digits"),
    "grid": (grid, "a 3-3-3-1 grid"),
    "long_row": (long_row, "thirty digits on one line"),
    "lined": (lined, "lines on lined paper"),
    "squared": (squared, "lines on squared paper"),
    "uneven_light": (uneven_light, "two lines under uneven light"),
    "on_a_table": (on_a_table, "a sheet on a dark table, turned"),
    "tilted": (tilted, "two lines at 2-6 degrees"),
    "slanted": (slanted, "a number written at 15-40 degrees"),
    "touching": (touching, "a row with touching pairs"),
    "a_letter": (a_letter, "a letter among the digits (read as ?)"),
    "big_photo": (big_photo, "12-megapixel photo, 34-40 small digits on one line"),
    "small_digits": (small_digits, "the same, the digits a third as tall"),
}


def specks(shape: tuple[int, int], count: int, side: int, seed: int = 21) -> bytes:
    """A white page of `shape` with `count` black squares of `side` pixels scattered over it, as PNG."""
    rng = np.random.default_rng(seed)
    page = np.full(shape, 255, np.uint8)
    for y, x in zip(rng.integers(0, shape[0], count), rng.integers(0, shape[1], count), strict=True):
        page[y : y + side, x : x + side] = 0
    return _encode(page, "PNG", rng)


def marks_page(count: int) -> bytes:
    """A page of `count` digit-sized marks (a 7 drawn in two strokes), 32 to a row, as PNG."""
    rows = -(-count // 32)
    page = np.full((rows * 62 + 20, 32 * 62 + 20), 255, np.uint8)
    for k in range(count):
        y, x = (k // 32) * 62 + 10, (k % 32) * 62 + 10
        page[y : y + 40, x + 15 : x + 20] = 0
        page[y : y + 5, x + 5 : x + 30] = 0
    return _encode(page, "PNG", np.random.default_rng())


PROSE = (
    "Handwriting is where a general reader of text fails and a model of digits does well. This page holds no "
    "digit at all, only words set in type, as a photo of a book, a letter or a form would show them."
)


def printed_text(lines: int = 5, seed: int = 0) -> bytes:
    """A photo of `lines` lines of printed prose (`PROSE` over again), no digit among them: five hold 181 marks,
    just under the 200 that a page may hold (`marks.MAX_DIGITS`), so that every one of them is read."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (1600, 56 * lines + 80), 255)
    draw, words, font = ImageDraw.Draw(img), PROSE.split() * lines, _font("DejaVuSerif.ttf", 30)
    for k in range(lines):
        draw.text((40, 40 + 56 * k), " ".join(words[k * 11 : k * 11 + 11]), fill=0, font=font)
    page = np.repeat(np.asarray(img, np.float64)[..., None] / 255, 3, axis=2)
    return _photograph(page, 30, rng)


def no_digits() -> dict[str, bytes]:
    """Pictures with no digits to read, or far too many marks: each should be answered at once, with no lines or a
    clear refusal."""
    rng = np.random.default_rng(0)  # a PNG draws nothing from it
    return {"a blank page": _encode(np.full((600, 800), 200, np.uint8), "PNG", rng),
            "a strip of 8 x 20,000 pixels": _encode(np.full((8, 20000), 255, np.uint8), "PNG", rng),
            "5,000 specks": specks((1000, 1000), 5000, 3),
            "1,000 digit-sized marks": marks_page(1000),
            "a photo of printed text": printed_text(),
            "a strip of 1 x 20,000 pixels": _encode(np.full((1, 20000), 255, np.uint8), "PNG", rng)}  # fmt: skip


def edit_distance(read: str, written: str) -> int:
    """Levenshtein distance: the fewest characters inserted, deleted or replaced to turn `read` into `written`."""
    row = np.arange(len(written) + 1)
    for i, char in enumerate(read, 1):
        diagonal = row[:-1] + (np.frombuffer(written.encode("utf-32-le"), "<u4") != ord(char))
        row = np.concatenate([[i], np.minimum(diagonal, row[1:] + 1)])
        row = np.minimum.accumulate(row - np.arange(len(row))) + np.arange(len(row))  # insertions, left to right
    return int(row[-1])


def compare(lines: list[str], written: list[str]) -> dict:
    """A reading against the lines written: the edit distance of the lines joined by line breaks (a line
    split or two run together cost one), the characters written, whether each line holds as many marks
    as were written, and whether every line reads exactly."""
    joined, truth = "\n".join(lines), "\n".join(written)
    found = len(lines) == len(written) and all(len(a) == len(b) for a, b in zip(lines, written, strict=True))
    return {"distance": edit_distance(joined, truth), "length": len(truth), "found": found, "exact": lines == written}
