"""Many visitors at once: Streamlit runs every session's script in its own thread of one process.

Shared models and seeded noise must give each thread exactly what it would get alone, and the
libraries the page uses must not break when two sessions are the first to touch them at once.
"""

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from denoiser.evaluate import denoise_batch, make_noisy
from denoiser.weights import load_pretrained


def test_one_shared_model_used_by_many_threads_gives_each_the_serial_result():
    model = load_pretrained("seed-ae")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = [torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    serial = [denoise_batch(model, x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda x: denoise_batch(model, x), inputs))
    assert all(torch.equal(a, b) for a, b in zip(serial, threaded, strict=True))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_seeded_noise_is_the_same_whatever_other_threads_draw():
    clean = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    jobs = [("gaussian", 0.5, seed) for seed in range(6)] + [("poisson", 0.3, seed) for seed in range(6)]
    serial = [make_noisy(clean, *job) for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda job: make_noisy(clean, *job), jobs))
    assert all(torch.equal(a, b) for a, b in zip(serial, threaded, strict=True))


FIRST_IMPORT_RACE = textwrap.dedent(
    """
    import threading
    from webapp import figures

    rows = [{"method": m, "mse": 0.1, "psnr": 10.0, "ssim": 0.5} for m in "ab"]
    errors, stop = [], threading.Event()

    def draw():  # one session drawing its comparison chart...
        while not stop.is_set() and not errors:
            try:
                figures.comparison_figure(rows)
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")

    thread = threading.Thread(target=draw)
    thread.start()
    import pandas  # ...while another is the first to show a table (st.dataframe imports pandas)
    stop.set()
    thread.join()
    print(errors[0] if errors else "ok")
    """
)


@pytest.mark.slow
def test_charts_survive_another_session_importing_pandas_for_the_first_time():
    """Seen in the load test: two first visitors, one traceback (partially initialized module 'pandas')."""
    done = subprocess.run([sys.executable, "-c", FIRST_IMPORT_RACE], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stdout + done.stderr
