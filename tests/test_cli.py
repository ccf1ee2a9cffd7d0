"""The command line: train, evaluate and denoise as a user runs them, and one-line errors."""

import json
import subprocess
import sys

import pytest
import torch

from denoiser.cli import main
from denoiser.cli.training import TIME_LIMIT_EXIT
from denoiser.evaluate import make_noisy
from denoiser.metrics import mean_metrics
from denoiser.picture_io import load_png_as_is, tensor_to_png
from denoiser.weights import WEIGHTS_DIR, load_checkpoint

EVAL_KEYS = {"model", "weights", "targets", "split", "noise", "level", "n", "seconds"}
EVAL_KEYS |= {f"{prefix}{metric}" for prefix in ("", "noisy_") for metric in ("mse", "psnr", "ssim")}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m denoiser ARGS` in a subprocess, exactly as a user types it."""
    return subprocess.run([sys.executable, "-m", "denoiser", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_evaluate_json_prints_one_object_with_the_documented_keys(data_root):
    done = run_cli("evaluate", "--model", "seed-ae", "--data-root", str(data_root), "--noise", "gaussian",
                   "--level", "0.5", "--limit", "20", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == EVAL_KEYS
    assert result["n"] == 20 and result["model"] == "seed-ae" and result["noise"] == "gaussian"
    assert result["weights"] == str(WEIGHTS_DIR / "seed-ae.pt") and result["targets"] == "clean"
    assert result["psnr"] > result["noisy_psnr"] + 5


def test_evaluate_split_train_measures_the_training_digits(data_root, train_digits, test_digits, capsys):
    """--split train scores the first training digits, so a memorising model shows a train/test gap."""
    args = ["evaluate", "--model", "median", "--data-root", str(data_root), "--noise", "salt_pepper", "--level", "0.2"]
    scores = {}
    for split, digits in (("train", train_digits), ("test", test_digits)):
        assert main([*args, "--limit", "12", "--split", split, "--json"]) == 0
        scores[split] = json.loads(capsys.readouterr().out)
        noisy = make_noisy(digits.images[:12], "salt_pepper", 0.2, seed=0)
        assert scores[split]["split"] == split
        assert scores[split]["noisy_psnr"] == pytest.approx(mean_metrics(digits.images[:12], noisy)["psnr"])
    assert scores["train"]["psnr"] != scores["test"]["psnr"]


def test_evaluate_prints_a_readable_summary(data_root, capsys):
    args = ["evaluate", "--model", "unet", "--data-root", str(data_root), "--noise", "poisson", "--level", "0.3"]
    assert main([*args, "--limit", "8"]) == 0
    out = capsys.readouterr().out
    assert "8 test digits" in out and "denoised" in out and "noisy" in out and "PSNR" in out


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "--model", "seed-ae", "--noise", "gaussian", "--level", "1.5"],
        ["evaluate", "--model", "seed-ae", "--noise", "pink", "--level", "0.5"],
        ["evaluate", "--model", "seed-ae", "--noise", "gaussian", "--level", "nan"],
        ["evaluate", "--model", "seed-ae", "--noise", "gaussian", "--level", "0.5", "--limit", "-3"],
        ["train", "--model", "resnet"],
        ["train", "--model", "unet", "--epochs", "zero"],
        ["frobnicate"],
    ],
)
@pytest.mark.slow
def test_bad_arguments_exit_2_with_one_line(args):
    done = run_cli(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "error" in done.stderr


def test_unknown_method_exits_2_naming_the_models(data_root, capsys):
    code = main(
        ["evaluate", "--model", "magic", "--data-root", str(data_root), "--noise", "gaussian", "--level", "0.1"]
    )
    assert code == 2
    assert "unet" in capsys.readouterr().err


def test_missing_data_root_exits_1_with_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    code = main(
        ["evaluate", "--model", "seed-ae", "--data-root", str(tmp_path), "--noise", "gaussian", "--level", "0.1"]
    )
    assert code == 1
    assert "--source sample" in capsys.readouterr().err


def test_train_writes_a_checkpoint_with_its_recipe_and_never_touches_shipped_weights(data_root, tmp_path, capsys):
    shipped = _shipped_files()
    out = tmp_path / "tiny.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "1",
            "--limit", "40", "--holdout", "8", "--batch-size", "16", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "held-out PSNR" in capsys.readouterr().out
    name, model, meta = load_checkpoint(out)
    assert name == "unet" and model.config.widths == (4, 8, 16)
    assert meta["n_train"] == 32 and meta["n_holdout"] == 8 and meta["command"].startswith("python -m denoiser train")
    assert meta["holdout"]["psnr"] > 0 and meta["versions"]["torch"] == torch.__version__
    assert _shipped_files() == shipped


def _shipped_files():
    return {str(p.relative_to(WEIGHTS_DIR)): p.read_bytes() for p in WEIGHTS_DIR.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_train_init_continues_from_a_checkpoint_and_records_the_chain(data_root, tmp_path):
    """A second schedule starts from the first run's weights; its checkpoint lists both commands."""
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    common = ["train", "--model", "unet", "--data-root", str(data_root), "--epochs", "1", "--limit", "40",
              "--holdout", "8", "--batch-size", "16"]  # fmt: skip
    assert main([*common, "--widths", "4", "8", "16", "--out", str(first)]) == 0
    assert main([*common, "--init", str(first), "--lr", "1e-6", "--psnr-floor", "1e-3", "--out", str(second)]) == 0
    _, start, first_meta = load_checkpoint(first)
    _, model, meta = load_checkpoint(second)
    assert model.config.widths == (4, 8, 16)  # the architecture comes from the --init file
    assert meta["init_chain"] == [{k: first_meta[k] for k in ("command", "seconds", "steps", "sittings")}]
    assert meta["train"]["psnr_floor"] == 1e-3 and meta["init"]["path"] == str(first)
    # Adam at lr 1e-6 moves each weight by about 1e-6 a step: the run started from `first`, not afresh.
    moved = [(a - b).abs().max() for a, b in zip(start.state_dict().values(), model.state_dict().values(), strict=True)]
    assert 0 < max(moved) < 1e-4
    wrong = run_cli(*common, "--model", "seed-ae", "--init", str(first))
    assert wrong.returncode == 2 and "holds a unet model" in wrong.stderr


@pytest.mark.slow
def test_train_init_with_more_mid_blocks_grows_the_unet_from_its_weights(data_root, tmp_path):
    """--init with a larger --mid-blocks trains a deeper unet that starts from the smaller one's weights."""
    first, grown = tmp_path / "first.pt", tmp_path / "grown.pt"
    common = ["train", "--model", "unet", "--data-root", str(data_root), "--epochs", "1", "--limit", "40",
              "--holdout", "8", "--batch-size", "16"]  # fmt: skip
    assert main([*common, "--widths", "4", "8", "16", "--mid-blocks", "1", "--out", str(first)]) == 0
    assert main([*common, "--init", str(first), "--mid-blocks", "3", "--lr", "1e-6", "--out", str(grown)]) == 0
    _, start, _ = load_checkpoint(first)
    _, model, meta = load_checkpoint(grown)
    assert model.config.widths == (4, 8, 16) and model.config.mid_blocks == 3
    assert meta["init"]["path"] == str(first) and "--mid-blocks 3" in meta["command"]
    kept = model.state_dict()
    moved = [(value - kept[key]).abs().max() for key, value in start.state_dict().items()]
    assert max(moved) < 1e-4  # the first run's weights carried over (lr 1e-6 barely moves them)
    fewer = run_cli(*common, "--init", str(first), "--mid-blocks", "0")
    assert fewer.returncode == 2 and "--mid-blocks must be >= the --init unet's 1" in fewer.stderr
    wider = run_cli(*common, "--init", str(first), "--widths", "8", "8", "16")
    assert wider.returncode == 2 and "--widths comes from the --init checkpoint" in wider.stderr


@pytest.mark.slow
def test_a_stopped_train_run_resumes_to_the_weights_of_an_unbroken_run(data_root, tmp_path):
    """--max-minutes stops a sitting and leaves OUT.resume; `resume` finishes the run, then removes it."""
    common = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "2",
              "--limit", "40", "--holdout", "8", "--batch-size", "16", "--loss", "psnr", "--threads", "1"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "whole.pt")]) == 0
    out = tmp_path / "split.pt"
    stopped = run_cli(*common, "--max-minutes", "1e-6", "--out", str(out))  # stops after its first step
    state = tmp_path / "split.pt.resume"
    assert stopped.returncode == TIME_LIMIT_EXIT and f"python -m denoiser resume {state}" in stopped.stdout
    assert load_checkpoint(out)[2]["stopped_early"] and state.exists()
    again = run_cli("resume", str(state))  # the run's own --max-minutes: one more step, then stop again
    assert again.returncode == TIME_LIMIT_EXIT and load_checkpoint(out)[2]["steps"] == 2
    assert main(["resume", str(state), "--max-minutes", "0"]) == 0
    _, whole, whole_meta = load_checkpoint(tmp_path / "whole.pt")
    _, split, meta = load_checkpoint(out)
    assert not state.exists() and not meta["stopped_early"] and meta["steps"] == whole_meta["steps"] == 4
    assert meta["sittings"] == 3 and meta["command"] == "python -m denoiser " + " ".join(stopped.args[3:])
    for name, value in whole.state_dict().items():
        assert torch.equal(value, split.state_dict()[name]), name


@pytest.mark.slow
def test_resume_refuses_a_plain_checkpoint_and_a_moved_state(data_root, tmp_path):
    plain = run_cli("resume", str(WEIGHTS_DIR / "unet.pt"))
    assert plain.returncode == 2 and "not a train run's .resume file" in plain.stderr
    out = tmp_path / "run.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "2",
            "--limit", "40", "--holdout", "8", "--batch-size", "16", "--max-minutes", "1e-6",
            "--out", str(out)]  # fmt: skip
    assert main(args) == TIME_LIMIT_EXIT
    moved = tmp_path / "elsewhere.resume"
    (tmp_path / "run.pt.resume").rename(moved)
    refused = run_cli("resume", str(moved))
    assert refused.returncode == 2 and f"written for --out {out}" in refused.stderr
    missing = run_cli("resume", str(tmp_path / "nothing.resume"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_train_without_clean_targets_records_them_and_evaluate_reports_them(data_root, tmp_path, capsys):
    """--targets noisy trains with the loss that fits the noise (mse, not the unet's psnr), the checkpoint says
    how it was trained, and evaluate reports it beside the figures."""
    out = tmp_path / "n2n.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "1",
            "--limit", "40", "--holdout", "8", "--batch-size", "16", "--noise", "gaussian", "--level", "0.5",
            "--targets", "noisy", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    train = load_checkpoint(out)[2]["train"]
    assert train["targets"] == "noisy" and train["loss"] == "mse"
    capsys.readouterr()
    evaluate = ["evaluate", "--model", "unet", "--data-root", str(data_root), "--noise", "gaussian", "--level", "0.5",
                "--limit", "4"]  # fmt: skip
    assert main([*evaluate, "--weights", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"] == "noisy"
    assert main([*evaluate, "--weights", str(out)]) == 0
    assert "learned from noisy targets" in capsys.readouterr().out
    assert main([*evaluate, "--model", "median", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"] is None  # a filter learned nothing


@pytest.mark.slow
def test_an_unsound_loss_for_noisy_targets_exits_2_with_one_line_saying_what_to_use(data_root, tmp_path):
    done = run_cli("train", "--model", "unet", "--data-root", str(data_root), "--targets", "noisy", "--noise",
                   "salt_pepper", "--level", "0.2", "--loss", "mse", "--out", str(tmp_path / "sp.pt"))  # fmt: skip
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "loss 'mse' does not fit salt_pepper noise" in done.stderr and "--loss l1" in done.stderr
    blind = run_cli("train", "--model", "unet", "--data-root", str(data_root), "--targets", "self",
                    "--out", str(tmp_path / "blind.pt"))  # fmt: skip
    assert blind.returncode == 2 and len(blind.stderr.strip().splitlines()) == 1, blind.stderr
    assert "none fits both poisson (mse) and salt_pepper (l1)" in blind.stderr
    assert not list(tmp_path.glob("*.pt"))


def test_denoise_writes_a_28x28_png(tmp_path, test_digits):
    source = tmp_path / "digit.png"
    source.write_bytes(tensor_to_png(test_digits.images[0]))
    out = tmp_path / "out.png"
    assert main(["denoise", "--model", "unet", str(source), str(out), "--noise", "gaussian", "--level", "0.3"]) == 0
    image = load_png_as_is(out.read_bytes())
    assert image.shape == (1, 28, 28)
    assert (image - test_digits.images[0]).abs().mean() < 0.1


def test_train_refuses_a_holdout_that_leaves_too_few_digits(data_root, capsys):
    args = ["train", "--model", "unet", "--data-root", str(data_root), "--limit", "100", "--holdout", "500"]
    assert main(args) == 2
    assert "--holdout" in capsys.readouterr().err


@pytest.mark.slow
def test_train_takes_a_curriculum_of_noise_ranges(data_root, tmp_path):
    out = tmp_path / "c.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "1",
            "--limit", "32", "--holdout", "8", "--noise-range", "speckle", "0", "0.2", "--noise-range", "poisson",
            "0.1", "0.3", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    curriculum = load_checkpoint(out)[2]["train"]["curriculum"]
    assert curriculum == [{"kind": "speckle", "low": 0.0, "high": 0.2}, {"kind": "poisson", "low": 0.1, "high": 0.3}]
    bad = run_cli("train", "--model", "unet", "--noise-range", "speckle", "0.5", "0.2")
    assert bad.returncode == 2 and "--noise-range" in bad.stderr


@pytest.mark.slow
def test_train_shift_is_recorded_in_the_checkpoint_and_checked(data_root, tmp_path):
    out = tmp_path / "s.pt"
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--data-root", str(data_root), "--epochs", "1",
            "--limit", "32", "--holdout", "8", "--shift", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert load_checkpoint(out)[2]["train"]["shift"] == 1
    bad = run_cli(
        "train", "--model", "unet", "--data-root", str(data_root), "--shift", "9", "--out", str(tmp_path / "b.pt")
    )
    assert bad.returncode == 2 and "shift must be a whole number of pixels in 0..4; got 9" in bad.stderr
    assert not (tmp_path / "b.pt").exists()


def _strict(text: str):
    """json.loads that refuses NaN and Infinity, as strict parsers (JavaScript's JSON.parse) do."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


@pytest.mark.parametrize("model", ["unet", "median"])
def test_evaluate_json_at_level_0_is_strict_json_with_the_infinite_psnr_noted(data_root, capsys, model):
    args = ["evaluate", "--model", model, "--data-root", str(data_root), "--noise", "poisson", "--level", "0"]
    assert main([*args, "--limit", "4", "--json"]) == 0
    result = _strict(capsys.readouterr().out)
    assert result["noisy_psnr"] is None and result["noisy_mse"] == 0 and result["noisy_ssim"] == 1
    assert "noisy_psnr (inf)" in result["note"] and "identical" in result["note"]


def test_evaluate_labels_results_with_the_checkpoints_architecture_and_file(data_root, tmp_path, capsys):
    """--weights results name the model stored in the file, never a --model that disagrees with it."""
    from denoiser.weights import build_model, save_checkpoint

    path = save_checkpoint(tmp_path / "mine.pt", "seed-ae", build_model("seed-ae", seed=0))
    args = ["evaluate", "--weights", str(path), "--data-root", str(data_root), "--noise", "gaussian", "--level", "0.5",
            "--limit", "4"]  # fmt: skip
    assert main([*args, "--model", "seed-ae", "--json"]) == 0
    result = _strict(capsys.readouterr().out)
    assert result["model"] == "seed-ae" and result["weights"] == str(path)
    assert main([*args, "--model", "seed-ae"]) == 0
    assert capsys.readouterr().out.startswith(f"seed-ae ({path}) on 4 test digits")
    for claimed in ("bogus", "unet", "median"):
        assert main([*args, "--model", claimed, "--json"]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and f"holds a seed-ae model, not {claimed!r}; give --model seed-ae" in captured.err
