"""Weights that are hostile, mismatched or damaged are refused with a WeightsError; training never writes weights/.

Complements test_weights.py (truncated, swapped and missing files, interrupted saves).
"""

import json
import pathlib
import shutil

import pytest
import torch

from denoiser import weights
from denoiser.cli import main
from denoiser.evaluate import denoise_batch, evaluate, model_method
from denoiser.weights import (
    WEIGHTS_DIR,
    WeightsError,
    build_model,
    checkpoint_bytes,
    load_checkpoint,
    load_pretrained,
    write_manifest,
)


class TouchOnLoad:
    """Pickles to a call of `Path.touch(marker)`: unpickling it runs code, as a malicious file's would."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


@pytest.fixture
def weights_copy(tmp_path):
    """A copy of the shipped weights folder that a test may damage."""
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, folder)
    return folder


def test_a_checkpoint_that_runs_code_when_unpickled_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    hostile = tmp_path / "hostile.pt"
    torch.save({"model": "unet", "config": {}, "state_dict": TouchOnLoad(marker), "meta": {}}, hostile)
    with pytest.raises(WeightsError, match=r"hostile\.pt is damaged or not a denoiser checkpoint"):
        load_checkpoint(hostile)
    with pytest.raises(WeightsError, match="the uploaded weights"):
        load_checkpoint(hostile.read_bytes())
    assert not marker.exists()


def test_a_hostile_file_in_weights_with_a_matching_manifest_is_still_refused(weights_copy, tmp_path):
    """Even if an attacker rewrites the manifest too, weights_only=True keeps the code from running."""
    marker = tmp_path / "code-ran"
    torch.save({"model": "unet", "config": {}, "state_dict": TouchOnLoad(marker)}, weights_copy / "unet.pt")
    write_manifest(weights_copy)
    with pytest.raises(WeightsError, match=r"unet\.pt is damaged.*weights/README\.md"):
        load_pretrained("unet", weights_copy)
    assert not marker.exists()


def test_weights_of_the_wrong_shape_for_their_config_are_refused(tmp_path):
    small = build_model("unet", {"widths": (4, 8, 16)}, seed=0)
    payload = torch.load(
        __import__("io").BytesIO(checkpoint_bytes("unet", small)), weights_only=True
    )  # a real checkpoint...
    payload["config"]["widths"] = (8, 16, 32)  # ...whose config no longer matches its tensors
    path = tmp_path / "mismatch.pt"
    torch.save(payload, path)
    with pytest.raises(WeightsError, match=r"mismatch\.pt is damaged.*loading state_dict"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: p["config"].update(dropout=0.5), "unknown keys"),
        (lambda p: p.update(model="resnet"), "model must be one of"),
        (lambda p: p.pop("state_dict"), "state_dict"),
        (lambda p: p["state_dict"].popitem(), "loading state_dict"),
    ],
    ids=["unknown config key", "unknown model", "no state_dict", "missing tensor"],
)
def test_checkpoints_that_do_not_fit_their_model_are_refused(tmp_path, change, why):
    payload = {"model": "seed-ae", "config": {}, "state_dict": build_model("seed-ae", seed=0).state_dict(), "meta": {}}
    change(payload)
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    with pytest.raises(WeightsError, match=why):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "manifest", ["{not json", '{"sums": {}}', '{"sha256": ["unet.pt"]}', "\udcff".encode("utf-8", "surrogatepass")]
)
def test_a_damaged_manifest_gives_a_weights_error_not_a_crash(weights_copy, manifest):
    path = weights_copy / "manifest.json"
    path.write_bytes(manifest if isinstance(manifest, bytes) else manifest.encode())
    with pytest.raises(WeightsError, match=r"manifest\.json is damaged"):
        load_pretrained("unet", weights_copy)


def test_a_folder_in_place_of_the_weights_file_is_reported_as_missing(weights_copy):
    (weights_copy / "unet.pt").unlink()
    (weights_copy / "unet.pt").mkdir()
    with pytest.raises(WeightsError, match=r"unet\.pt does not exist"):
        load_pretrained("unet", weights_copy)


def test_inference_never_changes_a_shared_model():
    """The app shares one loaded model between visitors (st.cache_resource): using it must not alter it."""
    model = load_pretrained("seed-ae")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clean = torch.rand(8, 1, 28, 28)
    denoised = denoise_batch(model, clean)
    evaluate(model_method(model), clean, "gaussian", 0.5, seed=3)
    assert not model.training and not denoised.requires_grad
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_train_without_out_writes_under_runs_and_never_into_weights(tmp_path, monkeypatch, capsys):
    written = []
    real_write = weights.atomic_write_bytes

    def record(path, data):
        written.append(pathlib.Path(path).resolve())
        real_write(path, data)

    monkeypatch.setattr(weights, "atomic_write_bytes", record)
    monkeypatch.chdir(tmp_path)
    args = ["train", "--model", "unet", "--widths", "4", "8", "16", "--source", "sample", "--epochs", "1",
            "--limit", "40", "--holdout", "8", "--batch-size", "16", "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    assert written == [(tmp_path / "runs" / "unet.pt").resolve()]
    assert not any(path.is_relative_to(WEIGHTS_DIR) for path in written)
    assert load_checkpoint(tmp_path / "runs" / "unet.pt")[0] == "unet"
    assert json.loads((WEIGHTS_DIR / "manifest.json").read_text())["sha256"]  # the shipped manifest still reads
