"""The quality targets of the benchmark, checked against its plain-data results.

Each check reads what `benchmark.run_benchmark` measured and says whether the target is met, so
the JSON and the table answer "are we there?" without anyone comparing numbers by hand. A target
whose figures were not measured (no specialists given, no classifier) is reported as `None`,
never as met.
"""

from __future__ import annotations

from ..methods import NOISY  # the row of the undenoised input: not a method to beat

MODEL = "unet"  # the model the targets are about
PSNR_CELL, PSNR_MIN = ("gaussian", "0.5"), 21.5  # dB at this (kind, level)
SPECIALIST_CELLS = (("gaussian", 0.5), ("salt_pepper", 0.2), ("speckle", 0.5), ("poisson", 0.5))
SPECIALIST_MAX_GAP = 0.5  # dB a same-size unet trained on one cell alone may be ahead
ACCURACY_MAX_DROP = 0.03  # classifier accuracy after denoising vs on clean digits (3 points)


def check_targets(report: dict) -> list[dict]:
    """[{"target", "measured", "met"}] for each target; `met` is True, False, or None when not measured."""
    return [_psnr_target(report), _beats_all_target(report), _specialist_target(report), _classifier_target(report)]


def _target(text: str, measured: str, met: bool | None) -> dict:
    return {"target": text, "measured": measured, "met": met}


def _psnr_target(report: dict) -> dict:
    kind, level = PSNR_CELL
    text = f"{MODEL} >= {PSNR_MIN} dB at {kind} {level}"
    cell = report["results"].get(kind, {}).get(level, {})
    if MODEL not in cell:
        return _target(text, "not measured", None)
    psnr = cell[MODEL]["psnr"]
    return _target(text, f"{psnr:.2f} dB", psnr >= PSNR_MIN)


def _beats_all_target(report: dict) -> dict:
    text = f"{MODEL} beats every other method in PSNR and SSIM at every cell"
    rivals = [name for name in report["methods"] if name not in (MODEL, NOISY)]
    cells = [
        (kind, level, by_method) for kind, levels in report["results"].items() for level, by_method in levels.items()
    ]
    if not cells or MODEL not in report["methods"] or not rivals:
        return _target(text, "not measured", None)
    losses = [
        f"{kind} {level} {metric} vs {rival}"
        for kind, level, by_method in cells
        for rival in rivals
        for metric in ("psnr", "ssim")
        if by_method[rival][metric] >= by_method[MODEL][metric]
    ]
    outcome = "lost " + "; ".join(losses) if losses else "no loss"
    measured = f"{len(cells)} cells x {len(rivals)} rivals: {outcome}"
    return _target(text, measured, not losses)


def _specialist_target(report: dict) -> dict:
    text = f"blind {MODEL} within {SPECIALIST_MAX_GAP} dB of a specialist at " + ", ".join(
        f"{kind} {level}" for kind, level in SPECIALIST_CELLS
    )
    gaps = {(row["kind"], row["level"]): row["gap_db"] for row in report.get("specialists", []) if "gap_db" in row}
    if not gaps:
        return _target(text, "not measured (benchmark --specialists FOLDER)", None)
    parts = [
        f"{kind} {level}: " + (f"specialist {gaps[(kind, level)]:+.2f} dB" if (kind, level) in gaps else "not measured")
        for kind, level in SPECIALIST_CELLS
    ]
    if any(gaps.get(cell, 0.0) > SPECIALIST_MAX_GAP for cell in SPECIALIST_CELLS):
        met = False
    else:  # every measured gap is within the target: met only if all four cells were measured
        met = True if all(cell in gaps for cell in SPECIALIST_CELLS) else None
    return _target(text, "; ".join(parts), met)


def _classifier_target(report: dict) -> dict:
    text = f"digit accuracy after {MODEL} within {100 * ACCURACY_MAX_DROP:.0f} points of clean at every kind"
    info = report.get("classifier", {})
    if not info.get("available") or not info.get("accuracy"):
        return _target(text, "not measured (no classifier)", None)
    drops = {kind: info["clean"] - by_method[MODEL] for kind, by_method in info["accuracy"].items()}
    measured = f"clean {100 * info['clean']:.1f}%; drop " + ", ".join(
        f"{kind} {100 * drop:.1f}" for kind, drop in drops.items()
    )
    # Accuracies are float32 fractions: 0.985 - 0.955 can come out a hair above 0.03.
    return _target(text, measured, all(drop <= ACCURACY_MAX_DROP + 5e-5 for drop in drops.values()))
