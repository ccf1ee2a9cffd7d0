"""A large picture's filters worked out on its two halves at once give the filters' own values, to the last bit."""

import multiprocessing
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import ndimage

from denoiser import halves
from denoiser.halves import by_halves, gaussian_reach


@pytest.fixture(autouse=True)
def split(monkeypatch):
    """The halves are worked out in a second thread even on a machine of one core, where they would not be."""
    if halves._OTHER_HALF is None:
        monkeypatch.setattr(halves, "_OTHER_HALF", ThreadPoolExecutor(max_workers=1))


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    """A phone photo's size of page: smooth light with speckled ink, odd rows so the halves differ."""
    rng = np.random.default_rng(0)
    rows, cols = 1153, 1024
    light = np.linspace(0.6, 0.9, cols, dtype=np.float32)[None, :] + np.zeros((rows, 1), np.float32)
    return light - 0.5 * (rng.random((rows, cols)) > 0.97).astype(np.float32)


def test_the_picture_is_large_enough_to_be_split(page):
    assert page.size >= halves.LARGE


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_smoothing_by_halves_is_the_smoothing_of_the_whole(page, sigma):
    whole = ndimage.gaussian_filter(page, sigma)
    assert np.array_equal(by_halves(ndimage.gaussian_filter, page, gaussian_reach(sigma), sigma), whole)


def test_a_dilation_by_halves_is_the_dilation_of_the_whole(page):
    ink = page < 0.5
    whole = ndimage.binary_dilation(ink, iterations=3)
    assert np.array_equal(by_halves(ndimage.binary_dilation, ink, 3, iterations=3), whole)


def test_a_filter_down_the_columns_by_halves_is_the_filter_of_the_whole(page):
    ink = (page < 0.5).view(np.uint8)
    whole = ndimage.maximum_filter1d(ink, 15, axis=0)
    assert np.array_equal(by_halves(ndimage.maximum_filter1d, ink, 7, 15, axis=0), whole)


def test_too_short_a_reach_shows(page):
    """The check above can fail: halves that do not see each other's rows differ at the seam."""
    ink = (page < 0.5).view(np.uint8)
    whole = ndimage.maximum_filter1d(ink, 15, axis=0)
    assert not np.array_equal(by_halves(ndimage.maximum_filter1d, ink, 1, 15, axis=0), whole)


def _smooth_and_report(page: np.ndarray, conn) -> None:
    conn.send(by_halves(ndimage.gaussian_filter, page, gaussian_reach(1.0), 1.0).sum())


@pytest.mark.skipif(sys.platform != "linux", reason="forking is Linux's")
def test_a_process_forked_after_a_split_splits_too(page):
    """The web server forks its workers: a copy of the pool whose thread stayed behind would wait for ever."""
    by_halves(ndimage.gaussian_filter, page, gaussian_reach(1.0), 1.0)  # the parent's thread is running
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_smooth_and_report, args=(page, theirs))
    child.start()
    try:
        assert ours.poll(60), "the forked process never finished its smoothing"
        assert ours.recv() == pytest.approx(ndimage.gaussian_filter(page, 1.0).sum())
    finally:
        child.kill()
        child.join()
