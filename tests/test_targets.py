"""The quality targets: each one flips when its figure crosses the line, and nothing unmeasured counts as met."""

import copy

import pytest

from denoiser.bench.report import markdown
from denoiser.bench.targets import check_targets

CELLS = {"gaussian": ("0.1", "0.5"), "salt_pepper": ("0.2",), "speckle": ("0.5",), "poisson": ("0.5",)}


def _report(unet_psnr: float = 22.0, gaps=(0.1, 0.2, -0.3, 0.4), unet_acc: float = 0.97) -> dict:
    """A report in run_benchmark's shape where unet meets every target unless told otherwise."""
    cell = {"noisy": {"psnr": 9.0, "ssim": 0.3}, "unet": {"psnr": unet_psnr, "ssim": 0.9},
            "median": {"psnr": 14.0, "ssim": 0.5}}  # fmt: skip
    results = {kind: {level: copy.deepcopy(cell) for level in levels} for kind, levels in CELLS.items()}
    cells = [("gaussian", 0.5), ("salt_pepper", 0.2), ("speckle", 0.5), ("poisson", 0.5)]
    specialists = [{"file": f"unet-{k}-{lv}.pt", "kind": k, "level": lv, "psnr": 20.0 + gap, "unet_psnr": 20.0,
                    "gap_db": gap} for (k, lv), gap in zip(cells, gaps, strict=True)]  # fmt: skip
    accuracy = {kind: {"noisy": 0.5, "unet": unet_acc, "median": 0.8} for kind in CELLS}
    return {
        "meta": {"n": 10, "seed": 0}, "methods": ["noisy", "unet", "median"], "unavailable": {},
        "results": results, "seconds_per_image": {"noisy": 0.0, "unet": 0.0, "median": 0.0},
        "classifier": {"available": True, "clean": 0.985, "levels": dict(cells), "accuracy": accuracy},
        "specialists": specialists,
    }  # fmt: skip


def _met(report: dict) -> list:
    return [target["met"] for target in check_targets(report)]


def test_a_report_that_meets_every_target_says_so():
    assert _met(_report()) == [True, True, True, True]


def test_psnr_below_the_target_fails_only_that_target():
    assert _met(_report(unet_psnr=21.4))[0] is False
    assert _met(_report(unet_psnr=21.5))[0] is True


def test_losing_one_cell_to_a_filter_fails_the_beats_all_target_and_names_the_cell():
    report = _report()
    report["results"]["speckle"]["0.5"]["median"]["ssim"] = 0.95
    target = check_targets(report)[1]
    assert target["met"] is False and "speckle 0.5 ssim vs median" in target["measured"]


def test_the_noisy_row_is_not_a_rival():
    report = _report()
    report["results"]["gaussian"]["0.1"]["noisy"] = {"psnr": 40.0, "ssim": 0.99}
    assert check_targets(report)[1]["met"] is True


@pytest.mark.parametrize(("gaps", "met"), [((0.6, 0.2, 0.0, 0.0), False), ((0.5, 0.5, 0.5, 0.5), True)])
def test_specialist_gap_target(gaps, met):
    assert check_targets(_report(gaps=gaps))[2]["met"] is met


def test_missing_specialists_or_classifier_are_not_measured_never_met():
    report = _report()
    del report["specialists"]
    report["classifier"] = {"available": False, "reason": "no weights"}
    assert _met(report)[2:] == [None, None]
    partial = _report()
    partial["specialists"] = partial["specialists"][:2]
    assert check_targets(partial)[2]["met"] is None


def test_accuracy_drop_of_more_than_three_points_fails():
    assert check_targets(_report(unet_acc=0.954))[3]["met"] is False
    assert check_targets(_report(unet_acc=0.955))[3]["met"] is True


def test_the_markdown_table_shows_each_target_and_its_outcome():
    report = _report(unet_psnr=20.0)
    report["targets"] = check_targets(copy.deepcopy(report))
    text = markdown(report)
    assert "### Targets" in text and "| unet >= 21.5 dB at gaussian 0.5 | 20.00 dB | **no** |" in text
