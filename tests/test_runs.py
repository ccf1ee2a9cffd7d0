"""A train run is never lost: Ctrl-C and SIGTERM stop it cleanly, runs on one --out exclude each other,
an unfinished run's state is not replaced unasked, and an unwritable --out is refused before training."""

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from denoiser.cli import main
from denoiser.cli.training import TIME_LIMIT_EXIT
from denoiser.runs import claim, lock_path, resume_path
from denoiser.weights import load_checkpoint

train_module = importlib.import_module("denoiser.train")  # `denoiser.train` the attribute is the function
TINY = ["train", "--model", "unet", "--widths", "4", "8", "16", "--source", "sample", "--epochs", "2",
        "--limit", "40", "--holdout", "8", "--batch-size", "16", "--threads", "1"]  # fmt: skip


def signal_at_step(monkeypatch, signum: int, step: int) -> None:
    """Deliver a real `signum` to this process during training step `step` (from 1)."""
    real, calls = train_module._step, []

    def step_then_signal(*args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_step", step_then_signal)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_after_the_step_saves_the_state_and_resume_finishes_the_run(
    tmp_path, monkeypatch, capsys, signum, code
):
    """The interrupted run, resumed, ends with the weights of an unbroken run, bit for bit."""
    assert main([*TINY, "--out", str(tmp_path / "whole.pt")]) == 0
    out = tmp_path / "run.pt"
    signal_at_step(monkeypatch, signum, 2)
    assert main([*TINY, "--out", str(out)]) == code
    printed = capsys.readouterr()
    assert f"python -m denoiser resume {resume_path(out)}" in printed.out and "Traceback" not in printed.err
    assert load_checkpoint(out)[2]["stopped_early"] and load_checkpoint(out)[2]["steps"] == 2
    assert resume_path(out).exists() and not lock_path(out).exists()
    monkeypatch.undo()
    assert main(["resume", str(resume_path(out))]) == 0
    assert not resume_path(out).exists()
    _, whole, _ = load_checkpoint(tmp_path / "whole.pt")
    _, resumed, meta = load_checkpoint(out)
    assert meta["steps"] == 4 and not meta["stopped_early"] and meta["sittings"] == 2
    for name, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


@pytest.mark.slow
def test_ctrl_c_in_a_real_process_exits_130_without_a_traceback(tmp_path):
    out = tmp_path / "run.pt"
    args = TINY.copy()
    args[args.index("--epochs") + 1] = "400"  # still training when the signal comes
    err = tmp_path / "err.txt"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "denoiser", *args, "--out", str(out)], stdout=subprocess.PIPE,
                                stderr=stderr, text=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while "img_s" not in err.read_text() and time.monotonic() < deadline:  # the first step is done
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout
    assert "Traceback" not in err.read_text() and "SIGINT received" in stdout
    assert resume_path(out).exists() and load_checkpoint(out)[2]["stopped_early"]


@pytest.mark.slow
def test_a_second_run_on_a_busy_out_is_refused_and_the_first_is_untouched(tmp_path, capsys):
    out = tmp_path / "run.pt"
    with claim(out):  # the first run, holding its lock
        second = subprocess.run([sys.executable, "-m", "denoiser", *TINY, "--out", str(out)],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 1 and f"(pid {os.getpid()}) is writing {out}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and not out.exists()
    assert main([*TINY, "--out", str(out)]) == 0  # free again once the first is done
    assert not lock_path(out).exists()


@pytest.mark.slow
def test_the_lock_dies_with_its_process(tmp_path):
    """A run killed with SIGKILL cannot clean up: the kernel releases its flock all the same."""
    out = tmp_path / "run.pt"
    holder = subprocess.Popen([sys.executable, "-c", f"from denoiser.runs import claim\nfrom pathlib import Path\n"
                               f"with claim(Path({str(out)!r})):\n    print('held', flush=True)\n    input()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    assert lock_path(out).exists()  # left behind, but no longer locked
    with claim(out):
        assert lock_path(out).read_text().strip() == str(os.getpid())


def test_a_new_run_does_not_replace_an_unfinished_runs_state_unless_told(tmp_path, capsys):
    out = tmp_path / "run.pt"
    assert main([*TINY, "--max-minutes", "1e-6", "--out", str(out)]) == TIME_LIMIT_EXIT  # stops after one step
    state = resume_path(out).read_bytes()
    capsys.readouterr()
    assert main([*TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{resume_path(out)} holds an unfinished run" in err and "--overwrite" in err
    assert resume_path(out).read_bytes() == state and load_checkpoint(out)[2]["steps"] == 1
    assert main([*TINY, "--overwrite", "--out", str(out)]) == 0
    assert not resume_path(out).exists() and load_checkpoint(out)[2]["steps"] == 4


@pytest.mark.parametrize("where", ["a folder", "under a file", "read-only folder"])
def test_an_unwritable_out_is_refused_before_the_digits_are_even_loaded(tmp_path, capsys, where):
    if where == "a folder":
        out = tmp_path
    elif where == "under a file":
        (tmp_path / "file").write_text("")
        out = tmp_path / "file" / "run.pt"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "ro").mkdir(mode=0o555)
        out = tmp_path / "ro" / "run.pt"
    start = time.monotonic()
    code = main([*TINY, "--source", "mnist", "--data-root", str(tmp_path / "no-data"), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"--out {out}" in err[0]
    if where == "under a file":
        assert f"({tmp_path / 'file'} is a file, not a folder)" in err[0]
    assert time.monotonic() - start < 5 and not (tmp_path / "no-data").exists()


@pytest.mark.parametrize(
    "command",
    [["tune-baselines", "--limit", "4"], ["train-classifier", "--epochs", "1"], ["benchmark", "--limit", "4"]],
    ids=lambda c: c[0],
)
def test_every_long_command_checks_its_out_before_working(tmp_path, capsys, command):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / ("bench" if command[0] == "benchmark" else "result.out")
    start = time.monotonic()
    code = main([*command, "--source", "sample", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot be written" in err[0] and time.monotonic() - start < 5


@pytest.mark.parametrize("change", [{"argv": "train --model unet"}, {"sittings": "1"}, {"init": None}])
def test_a_resume_file_with_malformed_meta_is_refused_in_one_line(tmp_path, capsys, change):
    from denoiser.weights import build_model, save_checkpoint

    out = tmp_path / "run.pt"
    assert main([*TINY, "--max-minutes", "1e-6", "--out", str(out)]) == TIME_LIMIT_EXIT
    _, model, meta = load_checkpoint(resume_path(out))
    save_checkpoint(resume_path(out), "unet", build_model("unet", model.config), {**meta, **change})
    capsys.readouterr()
    assert main(["resume", str(resume_path(out))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a damaged .resume file" in err[0] and next(iter(change)) in err[0]


@pytest.mark.parametrize(
    ("key", "damage"),
    [("order", lambda s: s.pop("order")), ("steps", lambda s: s.update(steps="2")),
     ("optimizer", lambda s: s["optimizer"].pop("param_groups")),
     ("generator", lambda s: s.update(generator=torch.zeros(3))),
     ("epoch_losses", lambda s: s.update(epoch_losses=None))],
)  # fmt: skip
def test_a_resume_file_with_a_damaged_training_state_is_refused_in_one_line(tmp_path, capsys, key, damage):
    from denoiser.weights import build_model, save_checkpoint

    out = tmp_path / "run.pt"
    assert main([*TINY, "--max-minutes", "1e-6", "--out", str(out)]) == TIME_LIMIT_EXIT
    _, model, meta = load_checkpoint(resume_path(out))
    damage(meta["resume"])
    save_checkpoint(resume_path(out), "unet", build_model("unet", model.config), meta)
    capsys.readouterr()
    assert main(["resume", str(resume_path(out))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a damaged .resume file" in err[0] and f"training state's {key}" in err[0]


def test_a_disk_without_room_for_the_result_is_refused_before_the_first_step(tmp_path, capsys, monkeypatch):
    """A run that could not save its result is refused at once, not after all its steps."""
    import shutil
    from collections import namedtuple

    steps = []
    real_step = train_module._step
    monkeypatch.setattr(train_module, "_step", lambda *a, **k: steps.append(1) or real_step(*a, **k))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: namedtuple("Usage", "total used free")(10**9, 10**9, 50_000))
    assert main([*TINY, "--out", str(tmp_path / "run.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MB free" in err[0] and "run.pt" in err[0] and "Errno" not in err[0]
    assert steps == [] and not (tmp_path / "run.pt").exists()


def test_a_result_that_cannot_be_written_at_the_end_is_kept_elsewhere_and_the_run_says_where(tmp_path, capsys,
                                                                                              monkeypatch):  # fmt: skip
    """The disk fills up during the run: the trained weights are kept in the temporary folder, and resume works."""
    import errno
    import tempfile

    from denoiser import weights

    full, spare = tmp_path / "full", tmp_path / "spare"
    full.mkdir(), spare.mkdir()
    real_write = weights.atomic_write_bytes

    def write(path, data):
        if Path(path).parent == full:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(weights, "atomic_write_bytes", write)
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    assert main([*TINY, "--out", str(full / "run.pt")]) == 1
    captured = capsys.readouterr()
    [kept] = spare.glob("run.pt.*")
    assert f"kept it as {kept}" in captured.err and "Traceback" not in captured.err
    _, _, meta = load_checkpoint(kept)
    assert meta["steps"] == 4 and not meta["stopped_early"]  # all of the run: 2 epochs of 2 steps


def test_ctrl_c_outside_a_training_loop_exits_130_in_one_line(monkeypatch, capsys):
    """Loading data or denoising can be interrupted too: one line, no traceback."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("denoiser.cli.common.load_split", interrupted)
    code = main(["evaluate", "--model", "median", "--source", "sample", "--noise", "gaussian", "--level", "0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and err == ["denoiser evaluate: interrupted"]
