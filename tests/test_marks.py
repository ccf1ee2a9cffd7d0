"""Sorting a page's ink into marks: ruled lines taken out, and only the rules, whatever a stroke does near them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import draw

from denoiser import rules
from denoiser.marks import _opened, find_marks

RULES = (100, 200)  # rows of the two ruled lines, each 3 px thick
HEIGHT = 48  # the rings' height


def ruled_page(rule_rows: dict[int, int] | None = None) -> np.ndarray:
    """Strong ink (300, 700): two rules across the page, thicker in the columns of `rule_rows` {column: rows}."""
    core = np.zeros((300, 700), bool)
    for rule in RULES:
        core[rule : rule + 3] = True
        for column, rows in (rule_rows or {}).items():
            core[rule - rows + 3 : rule + 3, column : column + 40] = True
    return core


def add_ring(core: np.ndarray, centre: tuple[int, int], radii: tuple[int, int], stroke: int) -> np.ndarray:
    """A ring (a 0 in pen) drawn into `core`, `stroke` px thick inside the ellipse of `radii` (rows, columns); its
    outer ellipse (H, W) bool."""
    outer, inner = np.zeros_like(core), np.zeros_like(core)
    outer[draw.ellipse(*centre, *radii, shape=core.shape)] = True
    inner[draw.ellipse(*centre, radii[0] - stroke, radii[1] - stroke, shape=core.shape)] = True
    core |= outer & ~inner
    return outer


def add_rings(core: np.ndarray, gap: int) -> list[tuple[int, int, int, int]]:
    """Six rings (thin-pen 0s) on each rule, their bottoms `gap` px above it; their boxes."""
    boxes = []
    for rule in RULES:
        bottom = rule - gap  # exclusive
        for k in range(6):
            outer = add_ring(core, (bottom - 1 - HEIGHT // 2, 80 + 100 * k), (HEIGHT // 2, 16), 3)
            boxes.append(tuple(int(v) for v in (*np.argwhere(outer).min(0), *(np.argwhere(outer).max(0) + 1))))
    return boxes


def test_the_bottom_of_a_digit_just_above_a_rule_stays_with_the_digit():
    """A thin-pen 0 written 2 px above a rule as thin as its stroke: the rule goes, the 0's bottom does not
    (taking it out opened the 0, which then read as a 6 or a pair of brackets)."""
    core = ruled_page()
    rings = add_rings(core, gap=2)
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6, 6]
    assert [tuple(int(v) for v in box) for box in marks.boxes] == rings


def test_a_rule_thicker_in_places_leaves_no_marks_behind():
    """Where a rule is thicker than most of it (ink pooled, the paper bent), what is left of it once the rule's
    line is taken out is no mark: only the digits are found."""
    core = ruled_page({300 + 40 * k: 5 for k in range(0, 9, 2)})
    add_rings(core, gap=6)
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6, 6]


def test_a_small_digit_over_one_drawn_in_two_strokes_stays_a_digit_of_its_own():
    """A column of digits, one a line: a small 1 written over a small 2 whose top is a stroke of its own. That
    stroke is low and close under the 1, as a 5's flag is close over its body, but it lies beside the rest of
    its 2: the 1 and the 2 are two digits, not one."""
    core = np.zeros((560, 300), bool)
    core[20:67, 100:105] = True  # the 1
    core[96:100, 95:126] = core[96:111, 121:126] = True  # the 2's top, a stroke of its own
    core[104:151, 110:115] = core[146:151, 95:131] = True  # the rest of the 2, not touching its top
    for top in (200, 320, 440):  # three large 0s below: a digit's height here is theirs
        add_ring(core, (top + 45, 112), (45, 28), 4)
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [1, 1, 1, 1, 1]
    assert tuple(int(v) for v in marks.boxes[marks.lines[0][0]]) == (20, 100, 67, 105)


def test_a_line_of_dashes_in_the_margin_is_no_line_of_digits():
    """Short flat marks far from the digits (bits of a rule in a page's bent margin, dashes) make no line of
    their own: the page holds the rings' two lines and nothing else."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)  # no rules on this page: the rings alone
    for k in range(3):
        core[260:263, 40 + 60 * k : 70 + 60 * k] = True
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6, 6]
    assert [tuple(int(v) for v in box) for box in marks.boxes] == rings


def test_flat_bits_in_the_margin_among_thin_strokes_are_no_line_of_digits():
    """Below the digits, what a page's bent edge leaves: two flat bits and, between them, a thin stroke over half
    as tall as the digits. The stroke is no digit (a thin mark far taller than its line), and with it gone the
    bits are a line of low marks, no digits either: the page holds the rings' two lines and nothing else."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)
    core[270:273, 100:120] = True
    core[250:278, 200:203] = True  # 28 px of the digits' 48, 3 px wide
    core[270:273, 300:320] = True
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6, 6]
    assert [tuple(int(v) for v in box) for box in marks.boxes] == rings


def test_a_stroke_along_a_line_of_squared_paper_stays_whole():
    """Squared paper's lines, 3 px, under 0s and 1s, each 1 along a line of the grid, its pen's stroke 5 to 7 px
    wide. Where it is no wider than twice the line it is taken for the line: the grid goes, and the 1s stay whole
    (they fell apart into bits too small to be digits)."""
    core = np.zeros((300, 700), bool)
    core[::30, :], core[1::30, :], core[2::30, :] = True, True, True
    core[:, ::30], core[:, 1::30], core[:, 2::30] = True, True, True
    middles = [91 + 120 * k for k in range(5)]  # a grid line's middle column: 90-92
    for middle in middles:
        for row in range(110, 170):
            half = 2 if row % 10 < 4 else 4  # 4 rows 5 px wide, then 6 rows 7 px, and so on
            core[row, middle - half : middle + 3] = True
    for k in range(5):
        add_ring(core, (140, 140 + 120 * k), (30, 18), 8)
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [10]
    for middle in middles:
        (one,) = [i for i, box in enumerate(marks.boxes) if box[1] <= middle < box[3]]
        top, left, bottom, right = (int(v) for v in marks.boxes[one])
        assert (left, right, bottom) == (middle - 4, middle + 3, 170) and top <= 114  # its tip may go with the line
        assert len(marks.pieces[one]) == 1


def test_a_short_thin_stroke_beside_a_line_of_digits_is_no_digit():
    """A row of 0s and full-height 1s, and at its start a thin stroke half as tall (what is left of a page's
    edge once a ruled line is taken out of it, a tick): the 0s and the 1s are the marks, the stroke is not."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)  # two lines of six 0s, the first in rows 50-98
    ones = [(50, 150 + 100 * k, 98, 156 + 100 * k) for k in range(3)]  # between its 0s, as tall as they are
    for top, left, bottom, right in ones:
        core[top:bottom, left:right] = True
    core[62:86, 30:34] = True  # the stroke: 24 px of the line's 48, 4 px wide
    marks = find_marks(core)
    first = sorted([*rings[:6], *ones], key=lambda box: box[1])
    assert [tuple(int(v) for v in box) for box in marks.boxes] == [*first, *rings[6:]]


def test_a_bit_of_a_hand_ruled_table_between_two_digits_is_no_digit():
    """A table's line drawn by hand, of which a piece between two cells is left once the table is taken out:
    3 px wide and twice the digits' height, between two 0s of a line. The 0s and a 1 as tall as they are marks,
    the piece of the table is not."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)
    one = (50, 150, 98, 156)
    core[one[0] : one[2], one[1] : one[3]] = True
    core[28:124, 230:233] = True  # 96 px of the line's 48, between the second 0 and the third
    marks = find_marks(core)
    first = sorted([*rings[:6], one], key=lambda box: box[1])
    assert [tuple(int(v) for v in box) for box in marks.boxes] == [*first, *rings[6:]]


def test_a_nine_whose_stem_runs_far_below_its_line_is_a_digit():
    """A 9 with a small loop on a stem that runs on to twice the height of the line's 0s is as thin and tall as
    a table's line, but it closes a loop: it is a mark of the line, where a stroke as tall beside it is not."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)  # two lines of six 0s, the first in rows 50-98
    loop = np.zeros_like(core)
    loop[draw.ellipse(60, 125, 10, 10, shape=core.shape)] = True
    loop[draw.ellipse(60, 125, 7, 7, shape=core.shape)] = False
    loop[60:146, 132:136] = True  # its stem, from the loop's right side down to 96 px of the line's 48
    core |= loop
    core[28:124, 230:233] = True  # a table's line as tall, between the second 0 and the third
    nine = (*np.argwhere(loop).min(0), *(np.argwhere(loop).max(0) + 1))
    marks = find_marks(core)
    first = sorted([*rings[:6], tuple(int(v) for v in nine)], key=lambda box: box[1])
    in_order = [tuple(int(v) for v in marks.boxes[i]) for line in marks.lines for i in line]
    assert in_order == [*first, *rings[6:]]


def test_strokes_seen_through_the_page_across_its_rules_are_no_marks_and_give_it_no_slant():
    """Lined paper written on its other side: short strokes that stand across a rule where nothing is written,
    in pairs one under the other's right side (as a word's letters seen through the page are), and a line of 0s
    on the other rule. The 0s are the only marks, and the page, its rules level, is read level."""
    core = ruled_page()
    rings = add_rings(core, gap=2)[:6]
    core[150:200] = False  # the second line of 0s left unwritten
    for k in range(5):
        left = 60 + 120 * k
        core[189:214, left : left + 4] = True  # 25 px, half the 0s' height, across the rule in rows 200-203
        core[193:218, left + 12 : left + 16] = True  # its neighbour, down to the right
    marks = find_marks(core)
    assert marks.slant == 0
    assert [tuple(int(v) for v in marks.boxes[i]) for line in marks.lines for i in line] == rings


def test_digits_that_fill_a_box_drawn_around_them_keep_their_strokes():
    """A box drawn around a row of digits as tall as it is a piece that spans the picture, as a table is; its
    four sides are taken out, and the 1s' strokes, as long as its sides and not part of it, stay whole."""
    core = np.zeros((140, 700), bool)
    core[:3], core[-3:], core[:, :3], core[:, -3:] = True, True, True, True
    ones = [(12, 100 + 120 * k, 128, 105 + 120 * k) for k in range(5)]
    for top, left, bottom, right in ones:
        core[top:bottom, left:right] = True
    marks = find_marks(core)
    assert [tuple(int(v) for v in marks.boxes[i]) for line in marks.lines for i in line] == ones


def test_strokes_standing_on_the_bottom_of_a_row_of_boxes_stay_whole():
    """A row of boxes, a digit in each (a form's cells), cropped close: the boxes are a grid, taken out. Strokes
    as long as half a box that stand on its bottom line, a 4's or a 7's stem, run along the grid's columns as its
    sides do, but meet one line across and end free: they stay whole."""
    core = np.zeros((120, 620), bool)
    for row in (5, 105):
        core[row : row + 3, 10:610] = True
    for column in range(10, 611, 120):
        core[5:108, column : column + 3] = True
    stems = [(50, 60 + 120 * k, 108, 65 + 120 * k) for k in range(5)]  # down to the bottom line's last row
    for top, left, bottom, right in stems:
        core[top:bottom, left:right] = True
    marks = find_marks(core)
    assert [tuple(int(v) for v in marks.boxes[i]) for line in marks.lines for i in line] == stems


def test_the_rules_of_a_page_joined_by_its_margin_line_are_taken_out():
    """Lined paper whose margin's line joins its rules into one piece across the picture: the rules meet only
    the margin, and run from it to the page's edge; they and the margin are taken out, the rings stay."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)
    for row in (40, 100, 200, 260):
        core[row : row + 3, 30:] = True
    core[:, 30:33] = True
    core[RULES[0] : RULES[0] + 3, 30:] = core[RULES[1] : RULES[1] + 3, 30:] = True
    marks = find_marks(core)
    assert sorted(tuple(int(v) for v in box) for box in marks.boxes) == sorted(rings)


def test_a_digit_drawn_lower_than_the_line_it_ends_is_of_that_line_and_a_column_stays_a_column():
    """A 1 drawn after a line's last 0, lower, sharing only a few of its rows (as on a canvas, the hand drifting
    down): it ends that line. 1s one under another, each starting before the one above ends, stay a column."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=2)[:6]  # the first line of 0s, rows 50-98, the last ending at column 597
    core[150:300] = False
    stray = (88, 610, 136, 615)  # 10 of its 48 rows beside the last 0
    core[stray[0] : stray[2], stray[1] : stray[3]] = True
    column = [(150 + 50 * k, 40, 190 + 50 * k, 45) for k in range(3)]
    for top, left, bottom, right in column:
        core[top:bottom, left:right] = True
    marks = find_marks(core)
    in_lines = [[tuple(int(v) for v in marks.boxes[i]) for i in line] for line in marks.lines]
    assert in_lines == [[*rings, stray], *[[box] for box in column]]


def test_rules_too_steep_to_take_out_give_the_page_their_tilt_within_twenty_degrees():
    """A page of rules 3 px thick, with rings on them, tilted: the marks carry the rules' tilt (the page is then read
    turned level); rules at 30 degrees, beyond the tilts looked through, give none (20 degrees would be wrong)."""
    for angle, expected in ((8.0, 8.0), (-12.0, -12.0), (30.0, 0.0)):
        core = np.zeros((600, 800), bool)
        add_rings(core[100:400, 50:750], gap=0)
        for start in range(-500, 700, 90):
            rows, cols = draw.line(start, 0, int(start + 799 * np.tan(np.radians(angle))), 799)
            for thick in range(3):
                inside = (rows + thick >= 0) & (rows + thick < 600)
                core[rows[inside] + thick, cols[inside]] = True
        assert abs(np.degrees(find_marks(core).slant) - expected) < 0.5, angle


def test_the_binding_holes_cut_in_half_by_the_side_of_the_picture_are_no_marks():
    """A notebook's binding holes at the left edge, each a dark disc cut in half by it, as tall as a digit and
    half as wide: they lie along the edge, where a digit that runs to the edge meets it at a stroke. The rings
    (0s) beside them are the page's only marks."""
    core = np.zeros((300, 700), bool)
    rings = add_rings(core, gap=20)
    for centre in range(30, 300, 70):
        core[draw.ellipse(centre, 0, HEIGHT // 2 - 4, 0.7 * HEIGHT, shape=core.shape)] = True
    found = find_marks(core)
    assert sorted(tuple(int(v) for v in box) for box in found.boxes) == sorted(rings)


def test_a_thick_bar_across_a_page_ruled_thinly_down_it_is_no_rule():
    """A bar across the page far thicker than the thin line down it (a ruler's edge beside a fold): the line is a
    rule, the bar is not, as no ink in the bar's band is as thin as a rule. Such a 12-megapixel photo raised an
    IndexError before."""
    core = np.zeros((300, 400), bool)
    core[100:109, 20:380] = True
    core[20:280, 200] = True
    ruled = rules.ruled_lines(core, 3, 100)
    assert ruled[20:280, 200].sum() >= 240 and not ruled[100:109, 20:190].any()


def test_small_digits_beside_a_solid_dark_corner_at_the_edge_keep_their_height():
    """Ten small rings (12 px) in a row, and a solid block of dark desk 55 px tall at the picture's top edge, with
    more ink than all of them: the block is no whole digit cut by the edge (it is solid, and strokes are not), so
    the ink's height is the rings', which are the marks; measured with the block, they all passed for specks."""
    core = np.zeros((600, 1000), bool)
    core[:55, 200:280] = True
    for k in range(10):
        add_ring(core, (300, 300 + 20 * k), (6, 5), 2)
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [10]
    assert marks.height < 20


def test_a_rule_at_any_tilt_is_straight_and_a_large_thin_three_is_not():
    """`rules.straight` by the ink's inertia: a rule level or at 30 degrees, with a digit standing on it, is
    straight; two bowls of a 3 drawn in a thin pen are not."""
    page = np.zeros((300, 400), np.int32)
    page[draw.line(150, 20, 150, 380)] = 1
    page[draw.line(280, 20, 80, 370)] = 2
    page[draw.rectangle((110, 100), (149, 104))] = 1  # a digit's stroke standing on the level rule
    rows, cols = draw.circle_perimeter(60, 200, 40)
    page[rows[cols > 190], cols[cols > 190]] = 3
    rows, cols = draw.circle_perimeter(140, 200, 40)
    page[rows[cols > 190], cols[cols > 190]] = 3
    boxes = {k: (*(np.argwhere(page == k).min(0)), *(np.argwhere(page == k).max(0) + 1)) for k in (1, 2, 3)}
    assert rules.straight(page, np.array(boxes[1]), 1)
    assert rules.straight(page, np.array(boxes[2]), 2)
    assert not rules.straight(page, np.array(boxes[3]), 3)


def test_a_seven_with_a_long_tail_in_a_thin_pen_is_a_mark_and_no_rule():
    """A 7 whose tail runs far below its line, drawn in a pen as thin as a rule: as long and thin as a bit of a rule
    by the height of the digits beside it, and as straight, it was taken out as one. Upright and under four of
    their heights long, it is a mark of the line; a rule across the page under the digits is still a rule."""
    core = np.zeros((300, 700), bool)
    for left in (40, 100, 160, 380, 440):  # rings as tall as digits
        rows, cols = draw.ellipse_perimeter(120, left + 15, 20, 14)
        core[rows, cols] = core[rows + 1, cols] = True
    for start, stop in (((100, 270), (100, 305)), ((100, 305), (215, 285))):  # a 7 three digits tall
        rows, cols = draw.line(*start, *stop)
        core[rows, cols] = core[rows, cols + 1] = True
    core[260:262, 20:680] = True
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6]
    assert (marks.boxes[:, 2] - marks.boxes[:, 0]).max() > 100
    assert (marks.boxes[:, 3] - marks.boxes[:, 1]).max() < 100  # the rule is no mark


@pytest.mark.parametrize(("above", "kept"), [(0, True), (14, True), (25, False)])
def test_a_thin_stroke_twice_the_digits_height_is_a_mark_when_it_hangs_from_their_line(above, kept):
    """A thin stroke over twice as tall as the digits beside it, at the line's end: begun at the line's top, or a
    third of the digits' height above it, it hangs from the line as a 1 written long; begun over half their height
    above their tops, it runs on above them as a table's line does, and is no mark."""
    core = np.zeros((300, 700), bool)
    for left in (40, 100, 160, 220, 280):  # rings as tall as digits
        rows, cols = draw.ellipse_perimeter(120, left + 15, 20, 14)
        core[rows, cols] = core[rows + 1, cols] = True
    rows, cols = draw.line(100 - above, 345, 190 - above, 335)
    core[rows, cols] = core[rows, cols + 1] = True
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [6 if kept else 5]
    assert ((marks.boxes[:, 2] - marks.boxes[:, 0]).max() > 80) == kept


def add_arc(core: np.ndarray, centre: tuple[int, int], radii: tuple[int, int], start: float, stop: float) -> None:
    """An ellipse's stroke, 2 px wide, from angle `start` to `stop` (degrees clockwise from its top)."""
    turn = np.radians(np.arange(start, stop, 0.5))
    rows = np.round(centre[0] - radii[0] * np.cos(turn)).astype(int)
    cols = np.round(centre[1] + radii[1] * np.sin(turn)).astype(int)
    for down, across in ((0, 0), (0, 1), (1, 0), (1, 1)):
        core[rows + down, cols + across] = True


def test_a_zero_whose_foot_ran_along_the_rule_it_stands_on_is_one_mark():
    """A 0 standing on a rule, its stroke open at the top: its foot lies along the rule and goes with it, and its two
    sides, which overlap by a pixel, were two marks. Standing on the rule with their feet together, and no wider
    together than a digit, they are one; the rings beside it on the rule stay marks of their own."""
    core = np.zeros((300, 600), bool)
    core[200:203, 10:590] = True
    for left in (60, 120, 240, 300):
        add_arc(core, (175, left + 15), (24, 14), 0, 360)
    add_arc(core, (175, 195), (24, 22), 190, 370)  # the 0's left side, from its foot round to its top
    add_arc(core, (175, 195), (24, 22), 25, 185)  # its right side, from the top down to its foot
    marks = find_marks(core)
    assert [len(line) for line in marks.lines] == [5]
    assert sorted(marks.boxes[:, 1]) == [61, 121, 173, 241, 301]


@pytest.mark.parametrize("side", [2, 3, 8, 15])
def test_a_piece_at_the_edge_is_opened_as_binary_opening_opens_it(side):
    """What is thinner than a piece's strokes is taken off it by minimum and maximum filters, fast on a wedge of
    desk with strokes 60 px across: the same pixels as `ndimage.binary_opening` by a square, for odd and even sides."""
    rng = np.random.default_rng(side)
    for _ in range(20):
        piece = ndimage.binary_closing(rng.random(tuple(rng.integers(5, 90, 2))) < 0.6)
        assert np.array_equal(_opened(piece, side), ndimage.binary_opening(piece, np.ones((side, side), bool)))
