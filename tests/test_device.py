"""Devices: names resolved or refused before any work, models run where asked, checkpoints stay device-free."""

import math
import subprocess
import sys

import pytest
import torch

from denoiser.cli import main
from denoiser.device import Precision, resolve_device, to_cpu
from denoiser.evaluate import denoise_batch, evaluate, make_noisy, model_method
from denoiser.train import TrainConfig, train
from denoiser.weights import build_model, checkpoint_bytes, load_checkpoint

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
TINY = {"epochs": 1, "batch_size": 16, "lr": 3e-3, "threads": 1, "loss": "psnr"}


@pytest.fixture
def no_gpu(monkeypatch):
    """This machine as one without CUDA or MPS, whatever it really has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def _weights(model) -> torch.Tensor:
    return torch.cat([p.detach().cpu().flatten() for p in model.parameters()])


def test_auto_falls_back_to_the_cpu_without_a_gpu(no_gpu):
    assert resolve_device("auto") == torch.device("cpu") == resolve_device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_a_cuda_device_is_refused_without_cuda_naming_it(no_gpu, name):
    with pytest.raises(ValueError, match=f"device {name}: CUDA is not available on this machine"):
        resolve_device(name)


def test_mps_is_refused_where_apple_has_none(no_gpu):
    with pytest.raises(ValueError, match="device mps: Apple's MPS is not available"):
        resolve_device("mps")


def test_a_gpu_number_beyond_the_machines_count_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"cuda:2: this machine has 2 CUDA device\(s\), cuda:0..cuda:1"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["tpu", "CPU", "cuda:", "cuda:-1", "cuda:x", "", None, 0])
def test_a_misspelt_device_raises_value_error_listing_the_names(name):
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda, cuda:N or mps"):
        resolve_device(name)


def test_mixed_precision_needs_cuda():
    with pytest.raises(ValueError, match=r"amp \(mixed precision\) needs a CUDA device; got cpu"):
        Precision(torch.device("cpu"), amp=True)
    with pytest.raises(ValueError, match="amp must be True or False"):
        Precision(torch.device("cpu"), amp="yes")


def test_training_state_is_moved_to_the_cpu_whatever_its_nesting():
    state = {"a": [torch.ones(2), (torch.zeros(1), 3)], "b": "text"}
    moved = to_cpu(state)
    assert moved["b"] == "text" and moved["a"][1][1] == 3 and isinstance(moved["a"][1], tuple)
    assert all(t.device.type == "cpu" for t in (moved["a"][0], moved["a"][1][0]))


def test_a_model_run_on_a_named_device_gives_what_it_gives_by_default(clean):
    model = build_model("unet", {"widths": (4, 8, 16)}, seed=0).eval()
    noisy = make_noisy(clean, "gaussian", 0.4, seed=1)
    assert torch.equal(denoise_batch(model, noisy, device="cpu"), denoise_batch(model, noisy))
    by_model = evaluate(model, clean, "gaussian", 0.4, device="cpu")
    by_method = evaluate(model_method(model), clean, "gaussian", 0.4)
    assert by_model["psnr"] == by_method["psnr"] and by_model["ssim"] == by_method["ssim"]


def test_a_device_for_a_classical_filter_is_refused(clean):
    with pytest.raises(ValueError, match="device applies to a model"):
        evaluate(lambda noisy: noisy, clean, "gaussian", 0.4, device="cpu")


def test_training_on_the_named_cpu_is_the_training_by_default(train_digits):
    """Naming the device changes nothing on the CPU: same random stream, same weights, bit for bit."""
    digits = train_digits.subset(slice(0, 32))
    default, named = (build_model("unet", {"widths": (4, 8, 16)}, seed=0) for _ in range(2))
    train(default, digits, TrainConfig(**TINY))
    train(named, digits, TrainConfig(**TINY), device="cpu")
    assert torch.equal(_weights(default), _weights(named))


COMMANDS = [
    ("train", "--model", "unet", "--data-root", "MISSING"),
    ("resume", "MISSING.resume"),
    ("evaluate", "--model", "unet", "--data-root", "MISSING", "--noise", "gaussian", "--level", "0.5"),
    ("denoise", "MISSING.png", "OUT.png"),
    ("benchmark", "--data-root", "MISSING", "--out", "OUT"),
    ("train-classifier", "--data-root", "MISSING", "--out", "OUT.pt"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
def test_every_command_refuses_a_missing_gpu_before_any_work(no_gpu, tmp_path, capsys, args):
    """Status 2 and one line naming CUDA; a missing data root or file (status 1) is never reached."""
    args = [str(tmp_path / a) if a.startswith(("MISSING", "OUT")) else a for a in args]
    assert main([*args, "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda: CUDA is not available" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_a_misspelt_device_or_amp_without_cuda_exits_2_with_one_line(no_gpu, data_root, capsys):
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--model", "unet", "--noise", "gaussian", "--level", "0.5", "--device", "gpu"])
    assert done.value.code == 2 and "--device: must be one of auto, cpu, cuda, cuda:N or mps" in capsys.readouterr().err
    assert main(["train", "--model", "unet", "--data-root", str(data_root), "--amp"]) == 2
    assert capsys.readouterr().err.strip() == "denoiser train: error: --amp needs a CUDA device; --device auto is cpu"


@pytest.mark.slow
@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA")
def test_train_on_cuda_exits_2_with_one_line_on_a_machine_without_it(tmp_path):
    out = tmp_path / "never.pt"
    args = ["train", "--model", "unet", "--source", "sample", "--device", "cuda", "--out", str(out)]
    done = subprocess.run([sys.executable, "-m", "denoiser", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == ["denoiser train: error: --device cuda: CUDA is not available on "
                                                "this machine (no CUDA GPU or driver)"]  # fmt: skip
    assert not out.exists()


@needs_cuda
def test_a_model_trained_on_cuda_is_saved_device_free_and_loads_on_the_cpu(train_digits):
    model = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    result = train(model, train_digits.subset(slice(0, 32)), TrainConfig(**TINY), device="cuda")
    assert math.isfinite(result.epoch_losses[-1]) and next(model.parameters()).is_cuda
    _, loaded, _ = load_checkpoint(checkpoint_bytes("unet", model))
    assert all(t.device.type == "cpu" for t in loaded.state_dict().values())
    noisy = make_noisy(train_digits.images[:8], "gaussian", 0.5)
    assert torch.allclose(denoise_batch(model, noisy), denoise_batch(loaded, noisy), atol=1e-4)


@needs_cuda
def test_mixed_precision_training_on_cuda_stays_close_to_float32(train_digits):
    digits, held_out = train_digits.subset(slice(0, 256)), train_digits.images[256:320]
    psnr = {}
    for amp in (False, True):
        model = build_model("unet", {"widths": (8, 16, 32)}, seed=0)
        train(model, digits, TrainConfig(**{**TINY, "epochs": 4}), device="cuda", amp=amp)
        psnr[amp] = evaluate(model, held_out, "gaussian", 0.5)["psnr"]
    assert abs(psnr[True] - psnr[False]) < 0.05
