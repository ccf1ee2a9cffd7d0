"""The marks on a page of handwritten digits: which ink is a digit, and in which line it was written.

`find_marks` takes the ink (from `digitize`) of a whole picture and returns its marks: the strong ink's connected
pieces, with what no digit is taken out (pieces the picture's edge cuts off, and those beyond the page; specks
and dots; ruled lines and grids, found by `rules`; thin strokes far lower or taller than the digits of their
line, and bits of rules: `strokes`), the pieces of one digit drawn in strokes that do not touch (a 5's flag, an
open 4, a crossed 7) put together, and the marks ordered into lines, top to bottom, left to right. Every step works
on the marks' boxes as arrays: a page of thousands of specks is sorted out in milliseconds. The one scale everything
is measured by is the *height* of the ink: the median height of the pieces weighted by their ink, which is a digit's
height on a page where digits hold most of the ink.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .digitize import ImageError
from .halves import by_halves
from .ink import run_lengths
from .lines import in_lines, line_heights, slant_of
from .pieces import ink_height, labelled, merged_boxes, one_digit, sides
from .rules import ruled_lines, straight, tilt, without_grid, without_rest
from .strokes import looped, rule_bits, strokes

MAX_DIGITS = 200  # more marks than this on a page are not read: the digits are too many to show or check
SPECK = 0.3  # a piece less than this many heights on its longer side is a speck or a dot (a dash is longer)
MIN_HEIGHT = 6  # pixels: pieces of ink lower than this are grain or specks, too small to be digits
LINE_LENGTH = 2.5  # a piece longer than this many heights, straight (`rules.straight`: a large thin 3 is not), and...
LINE_THIN = 12  # ...this many times longer than thick is a ruled line (a "1" is 5-10 times)
REST_INK, REST_HIGH = 0.1, 2 * MIN_HEIGHT  # the digits beside a long thin piece: this share of the ink, this high
LINE_BIT = 1.5  # heights: a flat piece as thin and wider than this is a bit of a rule (no digit is that wide)
UPRIGHT_SHORT = 3.5  # heights: an upright piece shorter than this is a mark however thin and straight (a 7
# with a long tail, a tall 1, in a thin pen), and a table's line among the marks a stroke (`strokes`); its tilt
# is still a rule's (a notebook photographed sideways, its rules cut into such pieces by the digits)
UPRIGHT_STEEP = 1.7  # ...upright: this many times taller than wide, a 1 leaning up to 30 degrees (a long 1 leaning 20
# degrees, 2.5 heights of a sheet's small digits, was taken out as a rule)
RULE_BAND = 0.1  # heights: a rule is found, and taken out, this far above and below its ink
HEIGHT_AGAIN = 1.5  # the ink measured this many times higher once the rules are out: the rules hid the digits
LOW_LINE = 0.45  # a line whose marks are all lower than this many heights holds no digit (dashes, bits of a rule)
WHOLE_TALL, WHOLE_WIDE = (0.8, 1.5), 0.5  # heights: a piece at the picture's edge this tall, and at its side this
# wide, is a whole digit that runs to the edge (a 1 at the side is taken for cut off: half a 0 is as narrow)
EDGE_ALONG = 0.8  # ...but a piece whose ink lies along the left or right edge in this share of its rows is cut off
# by it (the half of a notebook's binding hole at the side read as a 0; a digit meets the edge at a stroke's end)
EDGE_THIN = 0.6  # of a piece at the picture's edge, the parts thinner than this share of its strokes are taken off
SOLID = 0.8  # ...and one filling this share of its box is a block of something dark, no stroke, to measure by
RULED_PAGE = 0.5  # a number is looked for at a slant (`lines.slant_of`) unless rules were taken out across this share
# of the page's width: the digits follow them
RULE_TILT, RULE_SPAN = 1.0, 1 / 3  # rules left in (too steep to be found as runs along rows) this many degrees off
# level, as wide as this share of the picture, are turned level (bits of rules left over are shorter)...
RULE_STRAIGHT = 0.5  # ...when a straight line at their tilt holds ink this share of the widest one's width
UPRIGHT_RULES = 3  # rules down the page (a notebook turned sideways) are this many at least: in a strip of an
# equation, a slash or two span the picture's height


@dataclass(frozen=True)
class Marks:
    """The marks found on a page: each a group of pieces of strong ink, in reading order."""

    labels: np.ndarray  # (H, W) int32: the piece each pixel of strong ink belongs to (0: none)
    pieces: list[np.ndarray]  # each mark's piece labels (int arrays)
    boxes: np.ndarray  # (N, 4) int: each mark's top, left, bottom, right (exclusive) in the picture
    lines: list[list[int]]  # the marks of each line, left to right; lines top to bottom
    height: float  # the height of the ink, in pixels
    line_heights: np.ndarray  # (N,) float: the median height of the marks of each mark's line
    ruled: np.ndarray  # (H, W) bool: the ink of ruled lines and grids, taken out
    slant: float  # radians: the lines' slant when they were written at one, or the rules' tilt when too steep to
    # take out (positive going down), else 0


def _thinness(boxes: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each piece's length (its box's longer side) and how many times longer than thick it is (area / length)."""
    length = np.maximum(*sides(boxes))
    return length, length**2 / areas


def _at_edge(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pieces (N,) bool whose box touches the picture's edge."""
    return (boxes[:, 0] == 0) | (boxes[:, 1] == 0) | (boxes[:, 2] == shape[0]) | (boxes[:, 3] == shape[1])


def _kept(labels: np.ndarray, boxes: np.ndarray, areas: np.ndarray, height: float, like: np.ndarray) -> np.ndarray:
    """Pieces that may be (part of) a digit (N,) bool: not cut off by the picture's edge, no speck, not rule `like`."""
    length, _ = _thinness(boxes, areas)
    whole = _whole_at_edge(boxes, labels.shape, height) & ~_along_side(labels, boxes)
    edge = _at_edge(boxes, labels.shape) & ~whole
    speck = (length < SPECK * height) | (length < MIN_HEIGHT)
    return ~edge & ~speck & ~like


def _rule_like(labels: np.ndarray, boxes: np.ndarray, areas: np.ndarray, height: float) -> np.ndarray:
    """Pieces (N,) bool long, straight and thin as a ruled line, or flat and as wide as no digit is (a bit of one)."""
    (length, thinness), (h, w) = _thinness(boxes, areas), sides(boxes)
    long = (length > LINE_LENGTH * height) & (thinness > LINE_THIN)
    long[long] = [straight(labels, boxes[k], k + 1) for k in np.flatnonzero(long)]
    return long | ((w > LINE_BIT * height) & (w > 4 * h) & (thinness > LINE_THIN))


def _whole_at_edge(boxes: np.ndarray, shape: tuple[int, int], height: float) -> np.ndarray:
    """Pieces (N,) bool that touch the picture's edge but are whole digits, not cut off by it: as tall as the
    ink's digits (`WHOLE_TALL`), and at the left or right edge as wide as one but a 1 (`WHOLE_WIDE`). A number
    drawn on a canvas, or cropped close, runs to the edge; a digit the edge cuts off is cut shorter across it.
    A page's edge, a table or a border is far longer than a digit."""
    h, w = sides(boxes)
    side = (boxes[:, 1] == 0) | (boxes[:, 3] == shape[1])
    tall = (h >= WHOLE_TALL[0] * height) & (h <= WHOLE_TALL[1] * height) & (w <= WHOLE_TALL[1] * height)
    return tall & (~side | (w >= WHOLE_WIDE * height))


def _along_side(labels: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Pieces (N,) bool whose ink lies along the picture's left or right edge in `EDGE_ALONG` of their rows."""
    along = np.zeros(len(boxes), bool)
    for k in np.flatnonzero((boxes[:, 1] == 0) | (boxes[:, 3] == labels.shape[1])):
        top, left, bottom, _ = boxes[k]
        column = labels[top:bottom, 0 if left == 0 else -1]
        along[k] = (column == k + 1).mean() >= EDGE_ALONG
    return along


def _height(boxes: np.ndarray, areas: np.ndarray, thin: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]) -> float:
    """The ink's height (`_inside_height`) of the pieces (`thin`: `_thinness`) but ruled lines and a long thin thing
    lying on the page (a pen, a ruler's edge), which can hold more ink than all the digits: those passed for specks
    beside it. A piece thinner than `LINE_THIN` is left out when it is longer than `LINE_LENGTH` of the height of
    the rest, if the rest holds `REST_INK` of the ink and is no specks (`REST_HIGH`; a page of thin 1s and specks)."""
    length, thinness = thin
    chosen = thinness <= 2 * LINE_THIN  # ruled lines of any length left out of the height
    if not chosen.any():  # every digit on a rule: the rules are left out as too low for a digit
        chosen = sides(boxes)[0] >= MIN_HEIGHT
    chosen = chosen if chosen.any() else np.ones(len(boxes), bool)
    long = chosen & (thinness > LINE_THIN)
    rest = chosen & ~long
    if long.any() and areas[rest].sum() >= REST_INK * areas[chosen].sum() > 0:
        rest_height = _inside_height(boxes, areas, rest, shape)
        if rest_height >= REST_HIGH:
            chosen = chosen & ~(long & (length > LINE_LENGTH * rest_height))
    return _inside_height(boxes, areas, chosen, shape)


def _inside_height(boxes: np.ndarray, areas: np.ndarray, chosen: np.ndarray, shape: tuple[int, int]) -> float:
    """The ink's height (`ink_height`) of the `chosen` pieces, measured again without those at the picture's edge
    that are no whole digit at that height, or are `SOLID`: a dark border, a desk's wedges or a block of it beside
    a page can hold more ink than the digits, which then all passed for specks."""
    height, (h, w) = ink_height(boxes[chosen], areas[chosen]), sides(boxes)
    inside = chosen & (~_at_edge(boxes, shape) | (_whole_at_edge(boxes, shape, height) & (areas < SOLID * h * w)))
    return ink_height(boxes[inside], areas[inside]) if inside.any() else height


def _ruled_out(core: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """The strong ink's pieces once grids and ruled lines are taken out (labels, boxes, areas), the ink's height,
    and the ink taken out (H, W) bool."""
    labels, boxes, areas = labelled(core)
    ruled = np.zeros_like(core)
    if len(boxes) and (clean := without_grid(core, labels, boxes)) is not core:
        core, ruled = clean, core & ~clean
        labels, boxes, areas = labelled(core)
    if not len(boxes):
        return labels, boxes, areas, 0.0, ruled
    length, thinness = _thinness(boxes, areas)
    height = _height(boxes, areas, (length, thinness), core.shape)
    if ((length > LINE_LENGTH * height) & (thinness > LINE_THIN)).any():  # rules, maybe with digits written on them
        core, rules, height, (labels, boxes, areas) = _without_rules(core, height)
        ruled |= rules
    if (cut := _without_lines_to_edge(core, labels, boxes, height)) is not core:
        core = cut
        labels, boxes, areas = labelled(core)
    return labels, boxes, areas, height, ruled


def _without_rules(core: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray, float, tuple]:
    """The strong ink without its ruled lines, the rules taken out, the ink's height, and the pieces left (`_pieces`).
    Where every digit touches a rule, the height was measured on what lies apart from the rules (bits of them, a
    page's printed numbers), far lower than the digits: it is measured again once the rules are out, and taken when
    over `HEIGHT_AGAIN` times the first, and the rules are found again with it. Rules are some heights long: a digit
    in a thin pen reaching from one rule to the next was a rule across them, for a height too low."""
    for _ in range(2):
        band = max(1, round(RULE_BAND * height))
        rules = ruled_lines(core, band, LINE_LENGTH * height)
        out = without_rest(core & ~rules, rules, band)
        labels, boxes, areas = labelled(out)
        higher = _height(boxes, areas, _thinness(boxes, areas), out.shape) if len(boxes) else 0.0
        if higher <= HEIGHT_AGAIN * height:
            break
        height = higher
    return out, rules, height, (labels, boxes, areas)


def _without_lines_to_edge(core: np.ndarray, labels: np.ndarray, boxes: np.ndarray, height: float) -> np.ndarray:
    """`core` with what is much thinner than its own strokes taken off each piece that touches the picture's edge
    (a binary opening, `EDGE_THIN` of the piece's median stroke wide). A faint rule shows as ink only where a digit
    stands on it, and that stretch of it ran from the first or last digit of a line to the edge: the digit was
    left out as cut off. A digit that the edge cuts is as thick where it meets the edge, and stays there."""
    (h, w), edge, out = sides(boxes), _at_edge(boxes, core.shape), core
    # Not a speck, and no border or table whose pieces span the picture: those are left out whole, as before
    for i in np.flatnonzero(edge & (np.maximum(h, w) >= SPECK * height) & (np.minimum(h, w) < 2 * height)):
        window = tuple(slice(boxes[i, k], boxes[i, k + 2]) for k in (0, 1))
        piece = labels[window] == i + 1
        across = np.minimum(run_lengths(piece), run_lengths(piece.T).T)[piece]
        side = int(EDGE_THIN * np.median(across))
        if side >= 2:
            out = out.copy() if out is core else out
            out[window] &= ~piece | _opened(piece, side)
    return out


def _opened(piece: np.ndarray, side: int) -> np.ndarray:
    """`piece` (H, W) bool opened by a `side` x `side` square, as `ndimage.binary_opening` opens it, by minimum and
    maximum filters, which go a row and a column at a time: a dark wedge of desk at the edge, its strokes 60 px
    across, took binary_opening 8 s. Its dilation reflects the square, one pixel over for an even side."""
    eroded = ndimage.minimum_filter(piece, side, mode="constant")
    return ndimage.maximum_filter(eroded, side, mode="constant", origin=side % 2 - 1)


def find_marks(core: np.ndarray, fainter: np.ndarray | None = None) -> Marks:
    """The marks in a page's strong ink `core` (H, W) bool, in reading order; ImageError for too many. Pieces of
    strong ink that the page's `fainter` ink (H, W) bool, if given, joins may be strokes of one digit."""
    labels, boxes, areas, height, ruled = _ruled_out(core)
    like = _rule_like(labels, boxes, areas, height)  # once: straightness is measured piece by piece
    tilted, (h, w) = _rules_tilt(labels, boxes, like), sides(boxes)
    upright_short = (h > UPRIGHT_STEEP * w) & (h < UPRIGHT_SHORT * height)  # a mark, that tilts as a rule
    kept = np.flatnonzero(_kept(labels, boxes, areas, height, like & ~upright_short))
    if len(kept) > 4 * MAX_DIGITS:  # refused before comparing every pair of pieces
        raise ImageError(f"{len(kept):,} marks: crop closer to the digits.")
    if not len(kept):
        return Marks(labels, [], np.zeros((0, 4), int), [], height, np.zeros(0), ruled, tilted)
    joined = None if fainter is None else _joined(fainter, labels, ruled, len(boxes))[kept]
    group = one_digit(boxes[kept], height, joined, _on_rule(boxes[kept], ruled) if ruled.any() else None)
    if group.max() + 1 > MAX_DIGITS:
        raise ImageError(f"{group.max() + 1:,} marks: crop closer to the digits.")
    merged = merged_boxes(boxes[kept], group)
    pieces = [kept[group == g] + 1 for g in range(len(merged))]  # labels count from 1
    # On ruled or squared paper the digits follow the rules, which were found level enough to be taken out: the
    # marks' neighbours (a rule's leftover ticks, a digit's tall stroke) would only make up a slant. A rule is
    # across the page (a long stroke of a brace beside an equation is no paper's)
    slant = tilted or (0.0 if ruled.any(axis=0).mean() > RULED_PAGE else slant_of(merged))
    lines = in_lines(merged, slant)
    thin = {i for i in strokes(merged, lines) if not looped(merged[i], pieces[i], labels)}
    thin |= set(rule_bits(merged, pieces, labels, ruled, height))
    marks = Marks(labels, pieces, merged, lines, height, line_heights(merged, lines), ruled, slant)
    return without(marks, sorted(thin | _low_lines(merged, lines, height, thin)))


def _on_rule(boxes: np.ndarray, ruled: np.ndarray) -> np.ndarray:
    """Pieces (N,) bool whose foot stands on a rule taken out (`ruled`): its ink within 2 rows of their bottom, in
    their columns."""
    return np.array([ruled[max(0, bottom - 2) : bottom + 3, left:right].any() for _, left, bottom, right in boxes])


def _joined(fainter: np.ndarray, labels: np.ndarray, ruled: np.ndarray, count: int) -> np.ndarray:
    """Each piece's part (`count`,) of the fainter ink, 0 for none. A rule's ink, and a little around it, is left
    out of it: the digits standing on a rule are joined by nothing but the rule. The strong ink lies in the fainter,
    each piece in one part, but where the rule's surroundings cut a piece in two (then the later part is its own)."""
    near_rule = by_halves(ndimage.binary_dilation, ruled, 2, iterations=2)
    parts, _ = ndimage.label(fainter & ~near_rule, structure=np.ones((3, 3), bool))
    inked = labels > 0
    of_piece = np.zeros(count + 1, int)
    np.maximum.at(of_piece, labels[inked], parts[inked])
    return of_piece[1:]


def _rules_tilt(labels: np.ndarray, boxes: np.ndarray, like: np.ndarray) -> float:
    """The tilt (radians, positive going down to the right) of ruled lines too far off level, or off upright, to be
    found and taken out (`rules.tilt` of the pieces left that are `like` rules (`_rule_like`), and `RULE_SPAN` of the
    picture long: `UPRIGHT_RULES` at least down the page), when it is at least `RULE_TILT` and they are straight
    along it (`RULE_STRAIGHT`); else 0. The page is then read turned level: left in, a rule with digits written on it
    was left out whole, digits and all."""
    h, w = sides(boxes)
    for length, side, upright in ((w, labels.shape[1], False), (h, labels.shape[0], True)):
        rules = np.flatnonzero(like & (length >= RULE_SPAN * side))
        if len(rules) < (UPRIGHT_RULES if upright else 1):
            continue
        top, left, bottom, right = boxes[rules, :2].min(0).tolist() + boxes[rules, 2:].max(0).tolist()
        ink = np.isin(labels[top:bottom, left:right], rules + 1)
        angle, straightest = tilt(ink.T if upright else ink)
        # Rules steeper than the tilts looked through (or curves) line up along none of them: no line is half as long
        if straightest >= RULE_STRAIGHT * length[rules].max() and abs(angle) >= np.radians(RULE_TILT):
            return -angle if upright else angle  # a rule down the page leaning right at the foot: the page turned left
    return 0.0


def without(marks: Marks, gone: list[int]) -> Marks:
    """`marks` without the marks `gone` (indices). The lines stay as they were: a stroke taken out may have
    joined two parts of a bent line into one."""
    if not gone:
        return marks
    stays = np.ones(len(marks.boxes), bool)
    stays[gone] = False
    boxes, index = marks.boxes[stays], stays.cumsum() - 1
    pieces = [p for p, s in zip(marks.pieces, stays, strict=True) if s]
    lines = [line for line in ([int(index[i]) for i in line if stays[i]] for line in marks.lines) if line]
    return dataclasses.replace(marks, pieces=pieces, boxes=boxes, lines=lines, line_heights=line_heights(boxes, lines))


def _low_lines(boxes: np.ndarray, lines: list[list[int]], height: float, strokes: set[int]) -> set[int]:
    """Every mark of a line whose marks, but its `strokes`, are all lower than `LOW_LINE` heights: dashes, the dot
    of a division sign, however round, or bits of a page's edge that a rule's bits or thin strokes stood among."""
    h = sides(boxes)[0]
    rest = [[i for i in line if i not in strokes] or line for line in lines]
    return {i for line, kept in zip(lines, rest, strict=True) if h[kept].max() < LOW_LINE * height for i in line}
