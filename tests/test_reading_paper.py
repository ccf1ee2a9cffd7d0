"""Reading the digits on a page as photographed: ruled paper, boxes, a table or a desk around the sheet, a shadow,
the picture's edge, something out of focus beside the digits.

Every picture is made here (numpy and Pillow, or `denoiser.sheets` from test digits the classifier reads).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage
from skimage import morphology, transform
from written import HEIGHT, encode, glyphs, page_of, photo

from denoiser import find_digits


def test_a_line_on_lined_paper_reads_without_the_rules(sure):
    reading = find_digits(photo([glyphs(sure, "24680", 5), glyphs(sure, "13579", 6)], seed=3, rules="lined"))
    assert reading.lines == ["24680", "13579"]


def on_a_fainter_grid(sure: dict[int, np.ndarray], text: str, grid_level: int) -> np.ndarray:
    """`text` written large (400 pixels a digit, a dozen of the grid's squares) in a thin dark pen on squared paper
    whose lines, 34 pixels apart, stand out of the page by a third as much as the pen's strokes or less; photographed
    a little askew, out of focus and grainy."""
    side, step = 400, 450
    page = np.full((side + 500, 200 + step * len(text)), 190.0)
    for offset in range(2):
        page[offset::34] = np.minimum(page[offset::34], grid_level)
        page[:, offset::34] = np.minimum(page[:, offset::34], grid_level)
    for k, c in enumerate(text):
        shape = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((side, side))) > 128
        stroke = morphology.dilation(morphology.skeletonize(shape), morphology.disk(2))
        page[250 : 250 + side, 100 + k * step : 100 + k * step + side][stroke] = 50
    height, width = page.shape
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    shift = np.array([[0.03, 0.02], [-0.02, 0], [0, 0], [0.01, -0.03]]) * [width, height]
    askew = transform.ProjectiveTransform.from_estimate(corners + shift, corners)
    photo = ndimage.gaussian_filter(transform.warp(page, askew, mode="edge", preserve_range=True), 1.0)
    return (photo + np.random.default_rng(0).normal(0, 3, photo.shape)).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize(("text", "grid_level"), [("137", 150), ("4590", 130)])
def test_large_digits_in_a_thin_pen_on_a_fainter_grid_are_read(sure, text, grid_level):
    """The grid's lines join the digits' strokes into one piece of ink the size of the page, and taking the grid out
    of it left the digits in bits read as 1s, or nothing read at all. The grid is far fainter than the pen: only the
    ink above the grid's is the writing."""
    assert find_digits(encode(on_a_fainter_grid(sure, text, grid_level), "JPEG", quality=90)).lines == [text]


@pytest.mark.parametrize("angle", [-7.0, 9.0])
def test_digits_standing_on_the_rules_of_a_page_photographed_well_off_level_are_read(sure, angle):
    """Turned this far, a rule is too steep to be found along the rows: left in, it took every digit standing on
    it out of the reading with it. The page is read turned level."""
    page = page_of(sure, "24680", (420, 520), left=110, top=150)
    for row in range(58, 420, 70):  # rules across the page, one through the digits' lowest strokes
        page[row : row + 2] = 90
    page = np.asarray(Image.fromarray(page).rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255))
    assert find_digits(encode(page)).lines == ["24680"]


def written_across_the_rules(sure: dict[int, np.ndarray], text: str, drift: int = 8) -> np.ndarray:
    """`text` written large (150 pixels a digit) across a page ruled the other way (its rules run down the
    picture, 70 pixels apart, off upright by `drift` pixels from top to foot), each digit crossing a rule; the
    page's printed numbers, small, along its top."""
    side, width = 150, 120 + 150 * len(text)
    image = Image.new("L", (width, 700), 255)
    draw = ImageDraw.Draw(image)
    for k, x in enumerate(range(20, width, 70)):
        draw.line([(x, 30), (x + drift, 700)], fill=130, width=2)
        if k % 5 == 0:
            draw.text((x - 4, 8), str(k), fill=120)
    page = np.asarray(image).copy()
    for k, c in enumerate(text):
        ink = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((side, side)), np.int32)
        window = page[250 : 250 + side, 60 + k * side : 60 + (k + 1) * side]
        window[:] = np.minimum(window, 255 - ink * 230 // 255)
    return page


@pytest.mark.parametrize("text", ["347915", "7454", "2757"])
def test_digits_written_across_the_rules_of_a_page_turned_sideways_are_read(sure, text):
    """With every digit joined to a rule, the ink apart from the rules was only the printed numbers: the digits were
    taken for ten times smaller than they are, their bars for rules (as long as rules of digits that small), and the
    page read as bits of digits and rules ("05?752025" over lines of 1s)."""
    assert find_digits(encode(written_across_the_rules(sure, text))).lines == [text]


@pytest.mark.parametrize("drift", [-70, 70])
def test_digits_across_rules_running_down_the_page_well_off_upright_are_read(sure, drift):
    """A notebook turned sideways and photographed 6 degrees off upright: its rules are too steep to be found as
    runs down the columns, and the digits joined to them were left out with them as long thin pieces ("1/1/1/...").
    The page is read turned upright."""
    assert find_digits(encode(written_across_the_rules(sure, "347915", drift))).lines == ["347915"]


def test_a_sheet_on_a_dark_table_reads_without_the_table(sure):
    reading = find_digits(photo([glyphs(sure, "4207", 7), glyphs(sure, "9516", 8)], seed=4, table=True, angle=3.0))
    assert reading.lines == ["4207", "9516"]


@pytest.mark.parametrize("angle", [-4.0, 5.0])
def test_a_page_turned_in_the_picture_with_dark_desk_along_its_edges_is_read(sure, angle):
    """A sheet photographed a little turned leaves wedges of a dark desk along the picture's edges, thin at one end:
    as ink they hold more than the digits and are taller than any. Left out as cut off by the edge, they must not
    set the digits' height either, or every digit passes for a speck."""
    page = page_of(sure, "3907", (900, 700), left=120, top=160)
    page = np.asarray(Image.fromarray(page).rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=60))
    assert find_digits(encode(page)).lines == ["3907"]


def note_on_a_dark_desk(sure: dict[int, np.ndarray], text: str, offset: float) -> bytes:
    """`text` in small digits (24 px) of a mid-grey pen on a white note lying on a near-black desk, with grain: its
    top and left edges `offset` of the way into a cell of the ink's polarity vote (1/64 of the picture's side), its
    bottom and right ones the rest, so that the cells along its edges hold more desk than note, or more note."""
    page, cell, size = np.full((640, 480), 25.0), 10, 24
    top, left = 200 + int(offset * cell), 120 + int(offset * cell)
    bottom, right = 440 + int((1 - offset) * cell), 360 + int((1 - offset) * cell)
    page[top:bottom, left:right] = 225
    for k, c in enumerate(text):
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((size, size)))
        page[top + 60 : top + 60 + size, left + 20 + k * size :][:, :size] -= 130 * (digit / 255)
    page += np.random.default_rng(0).normal(0, 3, page.shape)
    return encode(page.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("offset", [0.3, 0.7])
def test_small_digits_on_a_white_note_on_a_dark_desk_are_read_as_dark_ink(sure, offset):
    """The cells along the note's edges, more desk than note, stray bright as light ink's cells do, and far further
    than the small digits' cells: they voted for light ink and the note read as blank. Each lies beside the note,
    a region of its bright pixels' level many cells deep, which no stroke is: they take no part in the vote."""
    assert find_digits(note_on_a_dark_desk(sure, "31415926", offset)).lines == ["31415926"]


@pytest.mark.parametrize("glints", [20, 40])
def test_small_digits_on_a_note_on_a_dark_desk_that_glints_and_fills_the_picture_are_read(sure, glints):
    """A white note on a near-black desk that fills most of the picture, with specks of light on the desk: the
    specks' cells vote for light ink nearly as often as the small digits' cells for dark ink, and the picture taken
    whole, mostly desk, then said light ink: the note read blank. Read with the ink on both sides, the digits are
    what the classifier is sure of."""
    rng = np.random.default_rng(0)
    page = np.full((640, 960), 25.0)
    page[260:420, 560:900] = 225
    for k, c in enumerate("31415926"):
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((24, 24)))
        page[320:344, 600 + 24 * k : 624 + 24 * k] -= 150 * (digit / 255)
    for y, x in zip(rng.integers(0, 640, glints), rng.integers(0, 520, glints), strict=True):
        page[y : y + 3, x : x + 3] = 200
    page += rng.normal(0, 3, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["31415926"]


def test_a_thin_dark_line_a_few_degrees_off_upright_down_the_page_leaves_no_marks(sure):
    """The edge of a sheet lying on another, photographed 5 degrees off upright: taken out as a rule where it runs
    straight along the columns, its ends drift a few pixels aside of what was taken out and were read as 1s."""
    page = Image.fromarray(page_of(sure, "2468", (500, 400), left=100, top=120))
    ImageDraw.Draw(page).line((25, 0, 25 + 500 * np.tan(np.radians(5)), 500), fill=80, width=3)
    assert find_digits(encode(np.asarray(page))).lines == ["2468"]


@pytest.mark.parametrize("margin", [10, 40, 100])
def test_digits_written_in_a_row_of_boxes_touching_their_bottom_are_read_without_the_boxes(sure, margin):
    """A form's row of boxes, a digit in each, photographed close or with the page around it (the boxes half, or a
    quarter of the picture high, where they are no grid but two rules and the sides between them): the boxes are
    taken out, and the digits whose strokes run down onto a box's bottom line (a 4's stem, a 7's, a 9's tail) keep
    them."""
    image = Image.fromarray(page_of(sure, "47194", (HEIGHT + 2 * margin, 5 * HEIGHT + 2 * margin), margin, margin))
    top, bottom = margin - 8, margin + HEIGHT - 8
    for k in range(6):
        ImageDraw.Draw(image).line((margin + k * HEIGHT, top, margin + k * HEIGHT, bottom), fill=40, width=3)
    for row in (top, bottom):
        ImageDraw.Draw(image).line((margin, row, margin + 5 * HEIGHT, row), fill=40, width=3)
    assert find_digits(encode(np.asarray(image))).lines == ["47194"]


def test_the_first_and_last_digits_on_a_faint_rule_that_runs_to_the_edge_are_read(sure):
    """A faint rule shows only where the digits stand on it: a thin line from the first and the last digit to
    the picture's edge leaves those two digits whole, not cut off."""
    page = page_of(sure, "1234", (140, 340), left=30, top=40)
    base = 40 + HEIGHT - 12  # the row the digits stand on
    page[base : base + 2, : 30 + HEIGHT // 2] = 120
    page[base : base + 2, 30 + 3 * HEIGHT + HEIGHT // 2 :] = 120
    assert find_digits(encode(page)).lines == ["1234"]


def test_digits_across_the_edge_of_a_shadow_keep_their_strokes(sure):
    """A shadow (the phone's, a hand's) darkens the right of the row, its edge soft across a digit or two: the page's
    light is followed through it, and no stroke there is set aside as the edge of the page."""
    page = page_of(sure, "5094738261", (200, 700), left=50, top=70).astype(float)
    page *= 1 - 0.45 / (1 + np.exp(-(np.arange(700) - 320) / 12))
    assert find_digits(encode(page.astype(np.uint8))).lines == ["5094738261"]


@pytest.mark.parametrize("depth", [0.55, 0.65])
def test_digits_in_a_deep_shadow_are_read(sure, depth):
    """A shadow that leaves the page under half its light: the digits in it stand out of a darker page by as much
    less, and their ink is brought up to the lit page's (half of them were lost)."""
    page = page_of(sure, "5094738261", (200, 700), left=50, top=70).astype(float)
    page *= 1 - depth / (1 + np.exp(-(np.arange(700) - 320) / 12))
    assert find_digits(encode(page.astype(np.uint8))).lines == ["5094738261"]


@pytest.mark.parametrize(("text", "angle", "depth"), [("40718235", 60, 0.6), ("40718235", 120, 0.7),
                                                     ("30571648", 30, 0.65)])  # fmt: skip
def test_digits_across_the_sharp_edge_of_a_shadow_on_the_page_are_read(sure, text, angle, depth):
    """A shadow with a sharp edge (sunlight, a lamp), at a slant across the row and through a digit: the shaded part
    of the page is still the page, not a desk beyond its edge (half the row was left out), and the strokes along the
    edge are still ink (the digit it crossed was lost)."""
    page = page_of(sure, text, (900, 1200), left=150, top=420, step=110).astype(float)
    rows, columns = np.mgrid[0:900, 0:1200]
    turn = np.radians(angle)
    shaded = ((columns - 600) * np.cos(turn) + (rows - 450) * np.sin(turn) > 0).astype(np.uint8) * 255
    edge = np.asarray(Image.fromarray(shaded).filter(ImageFilter.GaussianBlur(2))) / 255.0
    photo = (page * (1 - (1 - depth) * edge)).clip(0, 255).astype(np.uint8)
    assert find_digits(encode(photo, "JPEG", quality=90)).lines == [text]


@pytest.mark.parametrize("strength", [0.5, 0.6])
def test_digits_under_a_glare_on_the_page_are_read(sure, strength):
    """A lamp's glare over the right of the row adds its light to the page and to the ink alike: the digits there
    keep their shape but stand out of the page by half as much or less, and never reach half the ink's peak."""
    page = page_of(sure, "5094738261", (300, 760), left=50, top=110).astype(float)
    rows, columns = np.mgrid[0:300, 0:760]
    glare = np.exp(-(((rows - 140) / 80) ** 2 + ((columns - 470) / 120) ** 2))
    photo = (page + 255 * strength * glare).clip(0, 255).astype(np.uint8)
    assert find_digits(encode(photo, "JPEG", quality=90)).lines == ["5094738261"]


def test_digits_written_in_a_lighter_pen_in_a_row_are_read(sure):
    """Two digits of the row written in a lighter pen, at a third of the others' strength: they are digits of the
    number all the same."""
    page = page_of(sure, "5094738261", (300, 760), left=50, top=110).astype(float)
    page[:, 350:470] = 255 - (255 - page[:, 350:470]) / 3
    assert find_digits(encode(page.astype(np.uint8))).lines == ["5094738261"]


@pytest.mark.parametrize("index", [4, 7])
def test_a_digit_written_lighter_and_lighter_still_below_is_read_whole(sure, index):
    """One digit of the row written lighter than the others (at 0.6 of their strength), its lower half lighter still
    (0.28), as a pen running dry leaves it: only its top is strong ink, and the digit is read whole all the same."""
    page = page_of(sure, "5094738261", (300, 760), left=50, top=110).astype(float)
    columns = np.s_[50 + index * HEIGHT : 50 + (index + 1) * HEIGHT]
    for rows, strength in ((np.s_[110 : 110 + HEIGHT // 2], 0.6), (np.s_[110 + HEIGHT // 2 : 110 + HEIGHT], 0.28)):
        page[rows, columns] = 255 - (255 - page[rows, columns]) * strength
    assert find_digits(encode(page.astype(np.uint8))).lines == ["5094738261"]


def test_a_faint_digit_between_two_small_digits_of_a_line_of_tall_ones_is_read(sure):
    """A hand whose 0s and 2s stand half as high as its other digits: a digit written lighter between two of them is
    beside digits of its line all the same."""
    step, top = 90, 100
    page = page_of(sure, "4498   759", (300, 960), left=20, top=top, step=step).astype(float)
    small = HEIGHT // 2
    for k, c in ((4, "0"), (6, "2")):
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((small, small))).astype(float)
        page[top + HEIGHT - small : top + HEIGHT, 20 + k * step : 20 + k * step + small] -= digit * 220 / 255
    lighter = page_of(sure, "     3", (300, 960), left=20, top=top, step=step).astype(float)
    page = np.minimum(page, 255 - (255 - lighter) / 3)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["4498032759"]


@pytest.mark.parametrize("strength", [0.3, 0.45])
def test_a_faint_digit_apart_from_the_row_is_left_out(sure, strength):
    """Digits rubbed out above the row, or showing through from the back of the sheet, are as faint as a lighter pen's
    but stand in no line of the page's digits: they are not read."""
    page = page_of(sure, "5094738261", (400, 760), left=50, top=250).astype(float)
    ghost = page_of(sure, "72", (400, 760), left=300, top=40).astype(float)
    page = np.minimum(page, 255 - (255 - ghost) * strength)
    assert find_digits(encode(page.astype(np.uint8))).lines == ["5094738261"]


def test_a_faint_pencil_line_between_two_digits_is_no_1(sure):
    """A table ruled in pencil shows as ink only in stretches, one of them as long as a digit and between two digits
    of a row: as faint as a lighter pen's digit, but straight, so left out."""
    page = page_of(sure, "50938", (300, 520), left=50, top=110, step=90).astype(float)
    page[112 : 112 + HEIGHT - 4, 235:239] = 170
    assert find_digits(encode(page.astype(np.uint8))).lines == ["50938"]


def test_what_is_left_of_a_table_rule_between_two_cells_is_no_digit(sure):
    """A hand-ruled table's line thins out: a short stretch of it, apart from the rest, stands between two digits
    of a row. It goes on a rule, so it is no 1."""
    page = np.minimum(page_of(sure, "50", (400, 440), left=60, top=300), page_of(sure, "38", (400, 440), left=220,
                                                                                top=300))  # fmt: skip
    rule = 199  # between the 0 and the 3
    page[:296, rule : rule + 4] = 60  # the table's line, down to just above the row
    page[300 : 300 + HEIGHT - 8, rule : rule + 4] = 60  # the stretch of it left beside the digits
    assert find_digits(encode(page)).lines == ["5038"]


def test_a_digit_that_runs_to_the_edge_is_read_and_one_cut_off_by_it_is_not(sure):
    """A number drawn on a canvas, or cropped close, runs to the picture's edge: its 7 touches the top and the
    right edges and is whole, so it is read. A 0 of which the left edge leaves only the right half is cut off,
    and left out."""
    page = page_of(sure, "0357", (HEIGHT + 30, 4 * HEIGHT + 20), left=0, top=10)
    ink = page < 128
    seven = np.zeros_like(ink)
    seven[:, 3 * HEIGHT :] = ink[:, 3 * HEIGHT :]
    rows, cols = np.nonzero(seven)
    page[seven] = 255
    page[rows - rows.min(), cols + page.shape[1] - 1 - cols.max()] = 35  # moved up and right onto both edges
    zero = np.nonzero(ink[:, :HEIGHT].any(0))[0]
    page = page[:, (zero.min() + zero.max()) // 2 :]  # the 0's left half beyond the picture's edge
    assert find_digits(encode(page)).lines == ["357"]


def test_a_dark_bar_out_of_focus_beside_the_digits_is_no_mark(sure):
    """Something out of focus beside the digits (a pen's shadow, a finger) is a dark bar as tall as a digit, its
    edges far softer than the writing's: it is no mark, where it read as a 1."""
    page = np.asarray(Image.open(io.BytesIO(photo([glyphs(sure, "4071", 26)]))).convert("L"), np.float64)
    bar = np.zeros_like(page)
    middle = page.shape[0] // 2
    bar[middle - HEIGHT // 2 : middle + HEIGHT // 2, 14:20] = 400
    found = find_digits(encode(np.clip(page - ndimage.gaussian_filter(bar, 8), 0, 255).astype(np.uint8)))
    assert found.lines == ["4071"]


@pytest.mark.parametrize(("angle", "place"), [(0, (140, 300)), (30, (140, 300)), (80, (560, 80))])
def test_digits_beside_a_pen_lying_on_the_page_are_read(sure, angle, place):
    """A pen lying on the page, as long as seven digits are tall and half as thick as one: it holds more ink than
    all the digits, which passed for specks beside it (the pen read as a 1, or as the ink's height)."""
    page = Image.fromarray(page_of(sure, "503846", (700, 900), left=150, top=150))
    pen = Image.new("L", (420, 22), 0)
    ImageDraw.Draw(pen).rounded_rectangle((0, 0, 419, 21), 10, fill=255)
    pen = pen.rotate(angle, expand=True)
    page.paste(Image.new("L", pen.size, 40), place, pen)
    assert find_digits(encode(np.asarray(page.filter(ImageFilter.GaussianBlur(0.8))))).lines == ["503846"]


def test_digits_in_a_thin_pen_from_one_rule_to_the_next_are_not_rules():
    """A '75' in a pen as thin as the rules, each digit reaching from one rule to the next, on a page with a few
    specks: the ink's height, first measured on the specks, made the digits' strokes as long as rules across
    them, and they were taken out with the rules."""
    page = Image.new("L", (340, 280), 225)
    draw = ImageDraw.Draw(page)
    for y in (40, 96, 142, 198, 250):
        draw.line([(0, y), (339, y)], fill=120, width=2)
    draw.line([(120, 98), (152, 98), (130, 141)], fill=40, width=2)
    draw.line([(185, 98), (212, 98)], fill=40, width=2)
    draw.line([(186, 98), (184, 117)], fill=40, width=2)
    draw.arc([178, 108, 214, 141], start=200, end=140, fill=40, width=2)
    for x, y in [(30, 70), (290, 170), (60, 220), (250, 60), (300, 120)]:
        draw.ellipse([x, y, x + 4, y + 3], fill=60)
    assert find_digits(encode(np.asarray(page))).lines == ["75"]


@pytest.mark.parametrize(("desk", "blur"), [(80.0, 0), (190.0, 6)])
def test_digits_on_a_desk_beyond_the_sheets_edge_are_left_out(sure, desk, blur):
    """A sheet on a desk, dark, or pale with the sheet's edge a little out of focus (`blur`), and beyond its edge,
    on the desk, two dark marks shaped like digits (a label on a box, the desk's own pattern): the step of the light
    at the sheet's edge parts the desk from the page, which holds most of the marks, and what lies on the desk is
    no digit of the page's."""
    sheet = np.zeros((600, 800))
    sheet[100:500, 250:750] = 1
    page = desk + (255 - desk) * (ndimage.gaussian_filter(sheet, blur) if blur else sheet)
    page[100:500, 250:750] = np.minimum(page[100:500, 250:750], page_of(sure, "3907", (400, 500), left=50, top=150))
    for c, x in (("7", 60), ("1", 130)):
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((HEIGHT, HEIGHT)))
        page[250 : 250 + HEIGHT, x : x + HEIGHT] -= 100 * (digit / 255)
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["3907"]


@pytest.mark.parametrize(("desk", "inside"), [(80.0, 8), (150.0, 8), (150.0, 4)])
def test_a_digit_written_by_the_sheets_edge_is_read(sure, desk, inside):
    """A sheet on a desk, its first digit a 1 whose ink begins `inside` pixels from the sheet's edge (within a cell
    of the page's light, 16 pixels here): the cells beside the step of the light at the edge are set aside on the
    desk's side only, and the 1 is no longer lost with them."""
    sheet = np.zeros((1500, 2000))
    sheet[200:1300, 420:1800] = 1
    page = desk + (255 - desk) * sheet
    text = page_of(sure, "15390", (400, 1400), left=0, top=100, step=80)
    left = 420 + inside - int(np.flatnonzero((text < 200).any(axis=0))[0])  # the 1's ink `inside` the sheet
    page[500:900, left : left + 1400] = np.minimum(page[500:900, left : left + 1400], text)
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["15390"]


@pytest.mark.parametrize("gap", [60, 100])
def test_faint_digits_on_a_sheet_beside_another_on_a_black_desk_are_read(sure, gap):
    """Two white sheets on a black desk, a strip of the desk `gap` pixels wide between them: the page's light bridges
    the strip as it bridges a stroke, and the strip was the strongest ink in the picture, which set the thresholds
    above the faint grey digits (the sheet read blank, or as one "1")."""
    page = np.full((1500, 2000), 30.0)
    page[100:1400, 400:1900] = 235
    page[:, : 400 - gap] = 240
    text = page_of(sure, "31415926", (300, 1000), left=0, top=100, step=90).astype(np.float64)
    page[500:800, 600:1600] = np.minimum(page[500:800, 600:1600], 235 - (255 - text) * 60 / 220)
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["31415926"]


def faint_sheet_on_a_black_desk(sure: dict[int, np.ndarray], shape: tuple[int, int], sheet: tuple[int, int, int, int],
                                text: str, at: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """A white sheet (`sheet`: top, left, bottom, right) on a black desk filling a picture of `shape`, with `text`
    written in a faint grey pencil from `at` (top, left)."""
    page = np.full(shape, 30.0)
    page[sheet[0] : sheet[2], sheet[1] : sheet[3]] = 235
    writing = page_of(sure, text, (300, 90 * len(text) + 100), left=0, top=100, step=90).astype(np.float64)
    area = page[at[0] : at[0] + writing.shape[0], at[1] : at[1] + writing.shape[1]]
    area[:] = np.minimum(area, 235 - (255 - writing) * 60 / 220)
    return page


@pytest.mark.parametrize("angle", [-12.0, 8.0])
def test_faint_digits_on_a_sheet_on_a_black_desk_turned_with_white_corners_are_read(sure, angle):
    """A photo of a sheet on a black desk turned level, its corners filled white (as a scanner's app does): the desk
    is a band closed in by white, running off the picture at no side, and where it narrows by the sheet the page's
    light bridges it; taken for the strongest ink, it set the thresholds above the faint digits (read blank)."""
    page = faint_sheet_on_a_black_desk(sure, (1500, 1200), (200, 200, 1420, 1140), "27182818", (400, 220))
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    turned = Image.fromarray(page.clip(0, 255).astype(np.uint8)).rotate(
        angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255
    )
    assert find_digits(encode(np.asarray(turned))).lines == ["27182818"]


def test_faint_digits_on_a_sheet_below_another_lying_in_the_pictures_corner_are_read(sure):
    """A second sheet on the desk in the picture's corner, a strip of the desk 50 pixels wide between it and the
    page: the light bridges the strip, and the closing of the light bridges the strip's mouth onto the desk too, so
    the desk's dark cells begin further from the strip than from a strip between two long sheets."""
    page = faint_sheet_on_a_black_desk(sure, (1500, 2000), (300, 300, 1200, 1900), "31415926", (500, 500))
    page[:250, 1500:] = 240
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == ["31415926"]


@pytest.mark.parametrize("grow", [3, 7])
def test_thick_marker_digits_in_light_falling_to_a_quarter_are_read(sure, grow):
    """Digits in a thick black marker on a page whose light falls to a quarter at its top edge: the dim part runs
    off the picture as dark as a desk, and the marker's strokes are solid and as dark as it, but no sheet's edge
    steps the light there; taken for the desk, the digits were lost with it ("42011")."""
    side, text = 120, "42015618"
    page = np.full((700, 160 + side * len(text)), 250.0)
    for k, c in enumerate(text):
        digit = np.asarray(Image.fromarray((sure[int(c)] * 255).astype(np.uint8)).resize((side, side))) > 100
        page[10 : 10 + side, 80 + k * side : 80 + (k + 1) * side][ndimage.binary_dilation(digit, iterations=grow)] = 20
    page *= np.linspace(0.25, 1.0, page.shape[0])[:, None]
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    assert find_digits(encode(page.clip(0, 255).astype(np.uint8))).lines == [text]


def sheet_by_a_glint(sure: dict[int, np.ndarray], desk: bool) -> bytes:
    """Three lines of digits at the top of a white sheet on a black desk (`desk`; else a page filling the picture),
    and "32" written below the sheet by the picture's edge: on the desk, in a soft glint of light as bright as the
    sheet where it meets the sheet's edge, as the grain of a polished desk shows where it glints."""
    page = np.full((1500, 1100), 30.0 if desk else 235.0)
    page[60:1380, 80:1020] = 235
    for k, text in enumerate(["16340109", "15899822193", "440602199808"]):
        top = 150 + 100 * k
        page[top : top + HEIGHT, 150:1050] = np.minimum(
            page[top : top + HEIGHT, 150:1050], page_of(sure, text, (HEIGHT, 900), 0, 0)
        )
    if desk:
        rows, cols = np.mgrid[:1500, :1100]
        glint = 30 + 205 * np.exp(-(((rows - 1380) / 160) ** 2 + ((cols - 800) / 100) ** 2))
        page = np.where(page < 100, glint, page)
    junk = page[1400 : 1400 + HEIGHT, 740 : 740 + 2 * HEIGHT]
    junk[:] = np.minimum(junk, page_of(sure, "32", (HEIGHT, 2 * HEIGHT), 0, 0) - 20.0)
    page += np.random.default_rng(0).normal(0, 2, page.shape)
    return encode(page.clip(0, 255).astype(np.uint8))


def test_marks_in_a_glint_on_the_desk_by_the_pictures_edge_are_no_line(sure):
    """Marks on the desk beyond a sheet, by the picture's edge, far from the sheet's writing, are left out: the
    glint joins the sheet's light with no step to part them. The same marks on a page filling the picture are a
    number written in its corner, and stay."""
    written = ["16340109", "15899822193", "440602199808"]
    assert find_digits(sheet_by_a_glint(sure, desk=True)).lines == written
    assert find_digits(sheet_by_a_glint(sure, desk=False)).lines == [*written, "32"]


def test_a_large_three_in_a_thin_pen_above_a_line_of_small_digits_is_a_digit(sure):
    """A 3 drawn three times as tall as the line of digits below it, in a pen as thin as a rule: as long and thin as
    a ruled line by the small digits' height, it was taken out as one. Its ink lies along no straight line."""
    page = Image.fromarray(page_of(sure, "15980192290", (700, 900), left=100, top=420))
    left, top, bowl = 380, 80, 100
    ImageDraw.Draw(page).arc((left, top, left + bowl, top + bowl), 200, 90, fill=40, width=3)
    ImageDraw.Draw(page).arc((left, top + bowl, left + bowl, top + 2 * bowl), 270, 160, fill=40, width=3)
    assert find_digits(encode(np.asarray(page))).lines == ["3", "15980192290"]


def _thin_pen(digit: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 digit as a thin pen draws it (H, W) in [0, 1], about `height` pixels tall: its skeleton widened to
    5 px at twice the size, shrunk (2.5 px at `height`)."""
    size = height * 28 // 20
    big = transform.resize(digit, (2 * size, 2 * size), order=1) > 0.4
    pen = ndimage.binary_dilation(morphology.skeletonize(big), iterations=2)
    return transform.resize(pen.astype(float), (size, size), order=1, anti_aliasing=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_thin_digits_in_a_sharpened_photo_shrunk_with_lanczos_are_read(sure, seed):
    """Three lines of digits in a thin pen on a sharpened photo (an unsharp mask, as a phone's camera applies), shrunk
    to half with Lanczos: each stroke, little over a pixel wide, has a light halo along it. The halos had widened the
    light tail of every cell a stroke crosses to many times the page's grain, and most strokes were taken for grain."""
    rng = np.random.default_rng(seed)
    page = np.full((900, 1600), 0.85) + rng.normal(0, 0.01, (900, 1600))
    written = ["".join(str(d) for d in rng.integers(0, 10, 12)) for _ in range(3)]
    for k, text in enumerate(written):
        x, y = 200, 200 + 160 * k
        for c in text:
            pen = _thin_pen(sure[int(c)], 52)
            page[y : y + pen.shape[0], x : x + pen.shape[1]] -= rng.uniform(0.4, 0.6) * pen
            x += int(52 * rng.uniform(0.9, 1.3))
    shot = Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8))
    shot = shot.filter(ImageFilter.UnsharpMask(radius=1, percent=100, threshold=0))
    shot = shot.resize((800, 450), Image.Resampling.LANCZOS)
    assert find_digits(encode(np.asarray(shot), "JPEG", quality=85)).lines == written
