"""What a server computes once for all its visitors: shared results and the pictures' encodings.

A web server shows the same few digits to many visitors, and a visitor moving a slider back and
forth asks for the same results again. Both are cached here per process, keyed by the pixels
themselves, so a result anyone has seen costs a lookup. Plain `functools.lru_cache` on bytes keys:
hashing 3 KB of pixels takes about a microsecond, where a general-purpose cache that inspects its
arguments on every call cost a visible share of a slider move. Cached results are shared, not
copied; callers must not modify them.
"""

from __future__ import annotations

import base64
import collections
import functools
import threading

import numpy as np
import torch

from denoiser import methods
from denoiser.evaluate import make_noisy, psnr_by_level, rank
from denoiser.picture_io import tensor_to_png

from . import view

RESULTS_KEPT = 4096  # (digit, noise) results: ~40 KB each with every method's output
PICTURES_KEPT = 4096  # encoded pictures: ~1-2 KB each

# New results are computed in turns. Each of their many small torch and scikit-image calls lets go of
# the interpreter lock; with many visitors computing at once they took it back in turns, every one of
# them finished near the end of the whole burst, and the handovers cost CPU of their own. In turns,
# the first finish first.
_turns = threading.Lock()


def _key(image: torch.Tensor) -> tuple[bytes, tuple[int, ...], str]:
    pixels = image.detach().cpu().numpy()
    return pixels.tobytes(), pixels.shape, pixels.dtype.str


def _image(key: tuple[bytes, tuple[int, ...], str]) -> torch.Tensor:
    pixels, shape, dtype = key
    return torch.from_numpy(np.frombuffer(pixels, dtype=dtype).reshape(shape).copy())


def shared_results(clean: torch.Tensor, kind: str, level: float, seed: int,
                   names: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[dict]]:  # fmt: skip
    """The seeded noisy digit (1, 1, H, W) for one clean digit (1, H, W), the outputs of methods `names`
    on it (name -> (1, 1, H, W)) and their ranking with the noisy input (`evaluate.rank`).

    Kept per digit and noise, method by method: a page that shows one method finds it among the
    results computed for every method (the first page's, when the server started), and the reverse."""
    key = (_key(clean), kind, float(level), int(seed))
    entry = _results.get(key)
    if entry is None or not all(name in entry[2] for name in names):  # ranked, not only computed
        with _turns:
            entry = _complete(key, names)
    noisy, outputs, rows = entry
    ranked = sorted([rows[methods.NOISY], *(rows[name] for name in names)], key=lambda r: (-r["psnr"], -r["ssim"]))
    return noisy, {name: outputs[name] for name in names}, ranked


def _complete(key: tuple, names: tuple[str, ...]) -> tuple:
    """The entry of `key` (noisy digit, outputs by method, ranking rows by method) with every one of `names`."""
    clean_key, kind, level, _ = key
    clean = _image(clean_key)[None]
    computed = (_results.get(key) or (None, {}, None))[1]
    _models_at_every_level([n for n in names if n in methods.MODEL_NAMES and n not in computed], key, clean)
    noisy, outputs, rows = _entry(key, clean)
    outputs |= {name: methods.get(name, kind, level)(noisy) for name in names if name not in outputs}
    unranked = {name: outputs[name] for name in names if name not in rows} | ({} if rows else {methods.NOISY: noisy})
    rows |= {row["method"]: row for row in rank(clean, unranked)}
    _results.put(key, (noisy, outputs, rows))
    return noisy, outputs, rows


def _entry(key: tuple, clean: torch.Tensor) -> tuple:
    """The entry of `key` as far as it is computed: at least its noisy digit."""
    _, kind, level, seed = key
    return _results.get(key) or (make_noisy(clean, kind, level, seed), {}, {})


def _models_at_every_level(names: list[str], key: tuple, clean: torch.Tensor) -> None:
    """Shipped models `names` on the noisy digit of `key` and of every other slider position, in one batch each.

    The page's main interaction is moving that slider. One batch of the 21 positions costs the U-Net about
    what 10 calls of one digit cost here (each call pays its overheads again, and a call after a visitor's
    pause runs on cold caches): a visitor who tries more than a few positions of a digit costs less."""
    if not names:
        return
    clean_key, kind, level, seed = key
    keys = [(clean_key, kind, at, seed) for at in dict.fromkeys([level, *view.SLIDER_LEVELS])]
    entries = [_entry(k, clean) for k in keys]
    for name in names:
        todo = [i for i, (_, outputs, _) in enumerate(entries) if name not in outputs]
        denoised = methods.get(name)(torch.cat([entries[i][0] for i in todo]))
        for row, i in enumerate(todo):
            entries[i][1][name] = denoised[row : row + 1]
    for k, entry in zip(keys, entries, strict=True):
        _results.put(k, entry)


class _Kept:
    """At most `size` entries, the least recently used dropped first (a dict is ordered; a lock keeps it whole)."""

    def __init__(self, size: int) -> None:
        self.size, self._entries, self._lock = size, collections.OrderedDict(), threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
            return self._entries.get(key)

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_results = _Kept(RESULTS_KEPT)


def batch_results(
    clean: torch.Tensor, kind: str, level: float, seed: int, name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The seeded noisy digits (N, 1, H, W) for a batch of clean ones, and shared method `name`'s output on them."""
    return _batch(_key(clean), kind, float(level), int(seed), name)


@functools.lru_cache(maxsize=RESULTS_KEPT)
def _batch(clean: tuple, kind: str, level: float, seed: int, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    with _turns:
        noisy = make_noisy(_image(clean), kind, level, seed)
        return noisy, methods.get(name, kind, level)(noisy)


def precompute(clean: torch.Tensor, kind: str, levels: list[float], seed: int, names: tuple[str, ...]) -> None:
    """Compute the shared results of one clean digit at every one of `levels`: moves among them then cost lookups."""
    for level in levels:
        shared_results(clean, kind, level, seed, names)


def level_curves(clean: torch.Tensor, kind: str, levels: tuple[float, ...], seed: int,
                 names: tuple[str, ...]) -> dict[str, list[float]]:  # fmt: skip
    """PSNR at each of `levels` for the seeded noisy digits of `clean` (N, 1, H, W) and each shared method of `names`
    (`evaluate.psnr_by_level`): the levels chart's curves."""
    return _level_curves(_key(clean), kind, tuple(levels), int(seed), names)


@functools.lru_cache(maxsize=256)
def _level_curves(clean: tuple, kind: str, levels: tuple, seed: int, names: tuple) -> dict[str, list[float]]:
    with _turns:
        return psnr_by_level(lambda level: {n: methods.get(n, kind, level) for n in names}, _image(clean), kind,
                             levels, seed)  # fmt: skip


def png_url(image: torch.Tensor, scale: int = 1) -> str:
    """A picture in [0, 1] as a PNG `data:` URL, upscaled `scale` times (see `denoiser.picture_io.tensor_to_png`).

    A page shows a data URL without a request of its own: a slider move that changes two
    pictures sends them with the page's update instead of two more round trips to the server."""
    return _png_url(_key(image), scale)


@functools.lru_cache(maxsize=PICTURES_KEPT)
def _png_url(image: tuple, scale: int) -> str:
    return "data:image/png;base64," + base64.b64encode(tensor_to_png(_image(image), scale)).decode("ascii")
