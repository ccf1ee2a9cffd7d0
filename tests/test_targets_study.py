"""The study of learning without clean digits: its goals read the runs' own numbers, and its report says so."""

from scripts.targets_study import CELLS, TARGETS, check_goals, markdown, psnr_png


def _rows(gaps: dict) -> list[dict]:
    """Rows as the study writes them: clean at 20 dB in every cell, the others `gaps` dB from it."""
    rows = []
    for kind, level in CELLS:
        rows.append({"model": "noisy", "kind": kind, "level": level, "targets": None, "psnr": 9.0, "ssim": 0.3,
                     "background": 0.2})  # fmt: skip
        for targets in TARGETS:
            psnr = 20.0 + gaps.get(targets, 0.0)
            background = 0.2 if targets == "noisy-clipped" else 0.0
            rows.append({"model": "unet", "kind": kind, "level": level, "targets": targets, "psnr": psnr, "ssim": 0.8,
                         "background": background, "seconds": 30.0, "steps": 320})  # fmt: skip
    return rows


def _result(gaps: dict) -> dict:
    rows = _rows(gaps)
    meta = {"command": "python -m scripts.targets_study", "digits": 2000, "test_digits": 5000, "seed": 0,
            "batch_size": 64, "threads": 1, "seconds": 600, "models": {"unet": {"epochs": 10, "lr": 1e-3,
                                                                                  "loss": "mse"}}}  # fmt: skip
    cli = [{"command": "python -m denoiser train --targets clean", "targets": "clean", "psnr": 17.0},
           {"command": "python -m denoiser train --targets noisy", "targets": "noisy", "psnr": 16.6, "gap_db": -0.4,
            "met": True}]  # fmt: skip
    return {"meta": meta, "rows": rows, "goals": check_goals(rows), "cli": cli}


def test_each_way_without_clean_digits_is_held_to_its_own_goal():
    """Noise2Noise within 0.3 dB of clean, Noise2Self within 2 dB, the clipped trap at least 1 dB worse."""
    met = {g["targets"]: g["met"] for g in check_goals(_rows({"noisy": -0.2, "self": -1.9, "noisy-clipped": -3.0}))}
    assert met == {"noisy": True, "self": True, "noisy-clipped": True}
    met = {g["targets"]: g["met"] for g in check_goals(_rows({"noisy": -0.4, "self": -2.1, "noisy-clipped": -0.5}))}
    assert met == {"noisy": False, "self": False, "noisy-clipped": False}


def test_the_report_gives_every_run_and_counts_the_goals_met():
    text = markdown(_result({"noisy": -0.1, "self": -2.5, "noisy-clipped": -4.0}))
    assert text.count("| unet |") == len(CELLS) * (len(TARGETS) + 3)  # every run, then each gap to clean
    assert "| unet | gaussian 0.5 | the noisy digits alone (Noise2Self) | -2.50 dB | within 2.0 dB | **no** |" in text
    assert "6 of 9 goals met." in text
    assert "| `python -m denoiser train --targets noisy` | 16.60 dB | -0.40 dB | within 0.5 dB | yes |" in text
    assert psnr_png(_result({}))[:8] == b"\x89PNG\r\n\x1a\n"
