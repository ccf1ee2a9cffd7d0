"""Whether a mark read is a digit, and why not: a letter or a symbol the classifier with a class for no digit
takes for none, a mark the digit classifier is unsure of, one shaped like no digit (a dash, a dot), writing
crossed out. `reading` asks it of every part of a mark it reads; each answer is `Mark.why_not`.
"""

from __future__ import annotations

CONFIDENT = 0.5  # a mark the classifier gives less than this is not read as a digit: below even odds (at 0.6 it
# refused more digits read right than marks that are none, which the classifier with a class for none mostly refuses)
NOT_SURE = 0.95  # a mark the classifier with a class for no digit gives more than this is not read as a digit: only
# when nearly sure, since digits are far more common than letters among them (at 0.8 it refused one digit in 200 of
# the reading benchmark's; at 0.95 five of its 8,888 more than at 0.98, and the "+" of photographed sums, 0.95-0.96)
GUESS, RULED_OUT = 0.3, 0.02  # ...but one it gives this much, as tall as its line (`LOW`), that the classifier with
# a class for none gives this at most, is a digit written unlike most (photos: 7 edits fewer, 1 more; scenes: better)
LOW, NOT_SURE_LOW = 0.8, 0.7  # ...or this, when it is lower than this many of its line's heights: a "+", a "x" sit
# between the digits' tops and bottoms (of 1,890 marks read in the real photos, none so low and over 0.7 was a digit;
# but a small 0, read surely and closing its loop, is held to `NOT_SURE`: the class for none, which learnt round
# typeset letters (a, c, e; `not_digits.GLYPHS`), gave the small 0s of Treekay/Learn-CV's sheets 0.73-0.95)
# Why a mark is no digit (`Mark.why_not`)
TAKEN_FOR_NONE, UNSURE, SHAPED_LIKE_NONE = "taken for no digit", "unsure", "not shaped like a digit"
CROSSED_OUT = "crossed out"
SCRIBBLED = 6  # a mark closing this many loops or more (`cuts.loops`) is writing crossed out: of 3,731 marks read in
# real photos, no digit closed more than 3; of the benchmark's scenes, where 8s touch, 5. A scribble 11.
WIDEST = 1.6  # a mark wider than this many of its heights is no digit (a dash, a word)...
SHORTEST = 0.45  # ...nor one lower than this many of its line's heights (a small digit is more than half)...
LOWEST = 0.25  # ...but one this tall at least, read `FLAT_SURE`, is one: closing a loop (a 0 written small, as an "o"),
LOOP_NONE = 0.3  # ...if the classifier with a class for none gives it less than this (a small 0 beside digits three
# times as tall, 0.19), or closing none, under `RULED_OUT` and not `WIDEST` (a 2 written small: 0.00)
FULL_HEIGHT = 0.8  # ...but a wide mark this many of its line's heights tall, that the classifier with a class for
# no digit takes for a digit, is one: a 2 or a 7 drawn with a long stroke (a dash is low, a word is taken for none)
FLAT_SURE = 0.95  # ...and so is one read this surely, its class for none under `RULED_OUT` (a 2 written flat)


def verdict(box: tuple[int, int, int, int], confidence: float, none: float, line_height: float,
            closed: int, label: int | None = None) -> str | None:  # fmt: skip
    """Why a part of a mark read (its `box`, the classifier's `confidence` in the digit it reads, and `none`, the
    chance that it is no digit; `label`, the digit it reads) is no digit: its ink closes `closed` loops, a
    scribble's (`SCRIBBLED`), the classifier with a class for none is sure it is none (`NOT_SURE`, or `NOT_SURE_LOW`
    for a mark lower than its line's digits but a small 0), the digit classifier is unsure (`CONFIDENT`, but for a
    `GUESS`), or its box is shaped like no digit (`WIDEST`, but for a `FULL_HEIGHT` or `FLAT_SURE` one; `SHORTEST`,
    but for a `LOWEST` one read as surely, no wider than `WIDEST` or closing a loop); None if it is one."""
    top, left, bottom, right = box
    height = bottom - top
    if closed >= SCRIBBLED:
        return CROSSED_OUT
    small_zero = label == 0 and closed > 0 and confidence >= FLAT_SURE
    if none > (NOT_SURE if height >= LOW * line_height or small_zero else NOT_SURE_LOW):
        return TAKEN_FOR_NONE
    guess = confidence >= GUESS and none < RULED_OUT and height >= LOW * line_height
    if confidence < CONFIDENT and not guess:
        return UNSURE
    long_digit = height >= FULL_HEIGHT * line_height and none < 0.5
    sure_digit = confidence >= FLAT_SURE and none < RULED_OUT
    wide = right - left > WIDEST * height
    # a dot closes no loop, and the classifier with a class for none gives it more than `RULED_OUT`; a dash is wide
    small = (sure_digit and not wide) or (closed > 0 and confidence >= FLAT_SURE and none < LOOP_NONE)
    low = height < SHORTEST * line_height and not (small and height >= LOWEST * line_height)
    if (wide and not (long_digit or sure_digit)) or low:
        return SHAPED_LIKE_NONE
    return None
