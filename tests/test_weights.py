"""Weights: registry, checkpoints with their own config, the SHA-256 manifest, atomic writes."""

import json
import shutil

import pytest
import torch

from denoiser.evaluate import denoise_batch
from denoiser.weights import (
    REGISTRY,
    WEIGHTS_DIR,
    WeightsError,
    build_model,
    load_checkpoint,
    load_pretrained,
    save_checkpoint,
    sha256,
    write_manifest,
)


@pytest.fixture
def weights_copy(tmp_path):
    """A copy of the shipped weights folder that a test may damage."""
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, folder)
    return folder


@pytest.mark.parametrize("name", list(REGISTRY))
def test_shipped_weights_load_in_eval_mode_and_denoise(name):
    model = load_pretrained(name)
    assert not model.training
    noisy = torch.rand(4, 1, 28, 28)
    out = denoise_batch(model, noisy)
    assert out.shape == noisy.shape and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", list(REGISTRY))
def test_shipped_weights_match_their_manifest(name):
    manifest = json.loads((WEIGHTS_DIR / "manifest.json").read_text())["sha256"]
    assert manifest[REGISTRY[name].filename] == sha256(WEIGHTS_DIR / REGISTRY[name].filename)


def test_checkpoint_round_trip_keeps_config_weights_and_meta(tmp_path):
    model = build_model("unet", {"widths": (8, 16, 32)}, seed=1)
    path = save_checkpoint(tmp_path / "m.pt", "unet", model, {"epochs": 3, "source": "sample"})
    name, loaded, meta = load_checkpoint(path)
    assert name == "unet" and loaded.config.widths == (8, 16, 32) and meta == {"epochs": 3, "source": "sample"}
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(denoise_batch(model.eval(), x), denoise_batch(loaded, x))


def test_unknown_config_keys_fail_loudly():
    with pytest.raises(ValueError, match="unknown keys"):
        build_model("unet", {"widths": (8, 16), "dropout": 0.1})
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("transformer")


def test_truncated_weights_name_the_file_and_how_to_regenerate(weights_copy):
    path = weights_copy / "unet.pt"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"unet\.pt.*(damaged|replaced).*weights/README\.md"):
        load_pretrained("unet", weights_copy)


def test_swapped_weights_are_caught_by_the_manifest(weights_copy):
    shutil.copy(weights_copy / "seed-ae.pt", weights_copy / "unet.pt")
    with pytest.raises(WeightsError, match="SHA-256"):
        load_pretrained("unet", weights_copy)


def test_swapped_weights_with_a_rewritten_manifest_are_still_caught(weights_copy):
    shutil.copy(weights_copy / "seed-ae.pt", weights_copy / "unet.pt")
    write_manifest(weights_copy)
    with pytest.raises(WeightsError, match="holds model 'seed-ae'"):
        load_pretrained("unet", weights_copy)


def test_missing_weights_file_names_it(weights_copy):
    (weights_copy / "unet.pt").unlink()
    with pytest.raises(WeightsError, match=r"unet\.pt does not exist"):
        load_pretrained("unet", weights_copy)


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", "unet", build_model("unet", {"widths": (4, 8, 16)}))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, "unet", build_model("unet", {"widths": (8, 16, 32)}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


def test_damage_errors_are_one_line_for_the_command_line(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and "\x1b" not in message and "bad.pt" in message


def test_saved_files_are_readable_by_others(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", "unet", build_model("unet", {"widths": (4, 8, 16)}))
    assert path.stat().st_mode & 0o044 == 0o044
