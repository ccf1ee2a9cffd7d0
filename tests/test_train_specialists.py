"""scripts/train_specialists.py: the shipped unet's commands, rewritten per cell, run and picked up again."""

from __future__ import annotations

import pytest

from denoiser.bench.benchmark import run_specialists
from denoiser.cli import main as denoiser_main
from denoiser.cli import resume_path
from denoiser.weights import build_model, pretrained_meta, save_checkpoint, write_manifest
from scripts import train_specialists
from scripts.train_specialists import next_command, shipped_commands, stage_commands

PER_CELL = {"--noise", "--level", "--threads", "--out", "--init"}  # what a specialist's stage may change


def _without(argv: list[str], flags: set[str]) -> list[str]:
    """`argv` without the flags (each followed by one value) that a specialist may change."""
    kept, skip = [], False
    for token in argv:
        skip, keep = token in flags, not (skip or token in flags)
        kept += [token] if keep else []
    return kept


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_each_specialist_stage_is_a_shipped_stage_with_its_own_noise_and_files(tmp_path):
    shipped = shipped_commands(train_specialists.ROOT / "weights")
    assert len(shipped) == len(pretrained_meta("unet").get("init_chain", [])) + 1
    folder = tmp_path / "specialists"
    staged = stage_commands(shipped, folder, "salt_pepper", 0.2)
    assert [_without(a, PER_CELL) for a in staged] == [_without(a, PER_CELL) for a in shipped]
    for i, argv in enumerate(staged):
        assert [_value(argv, flag) for flag in ("--noise", "--level", "--threads")] == ["salt_pepper", "0.2", "1"]
        assert _value(argv, "--out").endswith("unet-salt_pepper-0.2.pt")
        if i:  # each stage starts from the previous stage's file, never the shipped one's
            assert _value(argv, "--init") == _value(staged[i - 1], "--out")
    assert _value(staged[-1], "--out") == str(folder / "unet-salt_pepper-0.2.pt")


def test_the_next_command_follows_the_files(tmp_path):
    """Fresh: stage 1. A .resume beside a stage: resume it. A finished stage: the next. All finished: None."""
    recipe = [["train", "--model", "unet", "--epochs", "2"], ["train", "--model", "unet", "--lr", "1e-4"]]
    staged = stage_commands(recipe, tmp_path / "spec", "gaussian", 0.5)
    first, last = (tmp_path / "spec-stage1" / "unet-gaussian-0.5.pt", tmp_path / "spec" / "unet-gaussian-0.5.pt")
    assert next_command(staged) == staged[0]
    first.parent.mkdir()
    save_checkpoint(first, "unet", build_model("unet", seed=0), {"stopped_early": True})
    resume_path(first).write_bytes(b"state")
    assert next_command(staged) == ["resume", str(resume_path(first)), "--threads", "1"]
    resume_path(first).unlink()
    with pytest.raises(ValueError, match=r"unfinished and has no \.resume"):  # the next stage would start wrong
        next_command(staged)
    save_checkpoint(first, "unet", build_model("unet", seed=0), {})
    assert next_command(staged) == staged[1]
    last.parent.mkdir()
    save_checkpoint(last, "unet", build_model("unet", seed=0), {})
    assert next_command(staged) is None


@pytest.mark.slow
def test_specialists_it_trains_pass_the_benchmarks_recipe_check(data_root, test_digits, tmp_path):
    """Two tiny stages stand in for the shipped recipe; the script's specialist is then compared, not refused."""
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    common = ["train", "--model", "unet", "--data-root", str(data_root), "--limit", "24", "--holdout", "8",
              "--batch-size", "8", "--epochs", "1", "--threads", "2"]  # fmt: skip
    assert denoiser_main([*common, "--widths", "4", "8", "16", "--out", str(runs / "a.pt")]) == 0
    assert (
        denoiser_main([*common, "--lr", "1e-4", "--init", str(runs / "a.pt"), "--out", str(weights / "unet.pt")]) == 0
    )
    write_manifest(weights)
    folder = tmp_path / "specialists"
    args = ["--weights-dir", str(weights), "--folder", str(folder), "--cell", "gaussian", "0.5", "--jobs", "1"]
    assert train_specialists.main(args) == 0
    assert (tmp_path / "specialists-stage1" / "unet-gaussian-0.5.pt").exists()
    [row] = run_specialists(folder, test_digits.subset(slice(0, 6)), seed=0, weights_dir=weights, log=lambda line: None)
    assert "error" not in row, row.get("error")
    assert (row["kind"], row["level"]) == ("gaussian", 0.5) and "gap_db" in row
