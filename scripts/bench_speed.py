"""Speed benchmark: latency, throughput, FLOPs, app rerun cost, cold start, retraining, memory.

    python -m scripts.bench_speed --out docs/speed            # the full run (about 10 minutes)
    python -m scripts.bench_speed --out /tmp/speed --quick    # fewer repetitions, no browser

Writes results.json and results.md (copied into docs/speed/README.md by scripts/update_readme.py). Every figure is
measured on this machine with the thread count the app uses; nothing here is a unit test. Run it on an
otherwise idle machine: a training in the background halves every number.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from denoiser.bench.report import markdown_table
from deploy.launch import free_port, start_server, stop_server
from scripts.measure import percentile, provenance

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2  # batch throughput: the library's and the command line's default, one thread per core


def percentiles(seconds: list[float]) -> dict:
    """Median and 95th percentile in milliseconds."""
    return {"median_ms": 1000 * statistics.median(seconds), "p95_ms": 1000 * percentile(seconds, 0.95)}


def time_calls(fn, calls: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def method_latency(calls: int) -> dict:
    """One 28x28 digit through each method, as the app calls it, with the app's thread count."""
    from denoiser import methods as by_name
    from denoiser.evaluate import make_noisy
    from webapp import view

    torch.set_num_threads(view.SERVE_THREADS)

    noisy = make_noisy(torch.rand(1, 1, 28, 28), "gaussian", 0.5, seed=0)
    methods = {name: by_name.get(name, "gaussian", 0.5, strict=True) for name in by_name.NAMES}
    try:
        return {name: percentiles(time_calls(lambda m=m: m(noisy), calls)) for name, m in methods.items()}
    finally:
        torch.set_num_threads(THREADS)


def throughput(repeats: int) -> dict:
    """Digits per second at batch sizes 1, 64 and 1,024 (models), and 64 (classical filters)."""
    from denoiser import methods

    result = {}
    for name in methods.MODEL_NAMES:
        method = methods.get(name)
        for batch in (1, 64, 1024):
            noisy = torch.rand(batch, 1, 28, 28)
            best = min(time_calls(lambda m=method, x=noisy: m(x), repeats, warmup=2))
            result[f"{name} @ {batch}"] = batch / best
    for name in methods.FILTER_NAMES:
        method, noisy = methods.get(name, "gaussian", 0.5, strict=True), torch.rand(64, 1, 28, 28)
        best = min(time_calls(lambda m=method, x=noisy: m(x), 2, warmup=1))
        result[f"{name} @ 64"] = 64 / best
    return result


def flops_and_peak(unet_per_s: float) -> dict:
    """The default model's FLOPs per digit, the machine's matmul peak, and the fraction reached."""
    from torch.utils.flop_counter import FlopCounterMode

    from denoiser import weights

    model = weights.load_pretrained("unet")
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.rand(1, 1, 28, 28))
    flops = counter.get_total_flops()
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    best = min(time_calls(lambda: a @ b, 10, warmup=3))
    peak = 2 * 2048**3 / best
    return {"unet_flops_per_digit": flops, "matmul_peak_gflops": peak / 1e9,
            "unet_gflops_at_1024": flops * unet_per_s / 1e9, "fraction_of_peak": flops * unet_per_s / peak}  # fmt: skip


def import_times() -> dict:
    """Wall time of `import denoiser` and of app.py's imports in a fresh interpreter; heavy modules pulled in."""
    code = (
        "import time, sys; t = time.perf_counter(); import {mod}; dt = time.perf_counter() - t; "
        "print(dt, [m for m in ('streamlit', 'plotly', 'sklearn') if m in sys.modules])"
    )
    result = {}
    # app.py itself only imports inside a Streamlit server (its canvas component registers on import),
    # so its module graph is timed as the libraries it imports.
    app_graph = "streamlit, plotly.graph_objects, webapp.view, webapp.figures, denoiser.digitize, webapp.retrain"
    for label, mod in (("denoiser", "denoiser"), ("app's libraries", app_graph)):
        out = subprocess.run([sys.executable, "-c", code.format(mod=mod)], cwd=ROOT, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"import {mod} failed: {out.stderr.strip().splitlines()[-1:]}")
        seconds, heavy = out.stdout.strip().split(" ", 1)
        result[label] = {"seconds": float(seconds), "heavy_modules": heavy}
    return result


def rerun_cost(reruns: int) -> dict:
    """Server-side time of a rerun after a noise-slider change (AppTest; includes its own small overhead)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    times = []
    for i in range(reruns):
        at.slider(key="noise_level").set_value(round(0.2 + 0.5 * (i % 2) + 0.05 * (i % 7), 2))
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return percentiles(times[2:])  # the first reruns fill the caches


def retraining() -> dict:
    """The app's default retraining, from scratch: wall time, images/s and PSNR against the shipped seed-ae."""
    from denoiser import data, methods, weights
    from denoiser.evaluate import evaluate, model_method
    from denoiser.train import train
    from webapp import retrain

    kind, level = "gaussian", 0.5  # the app's default noise
    spec = retrain.DEFAULT_SPEC | {"scratch": True, "curriculum": retrain.default_curriculum(kind, level)}
    train_set, held_out = data.split_holdout(data.load_sample(), retrain.HELD_OUT, seed=0)
    model = weights.build_model(spec["arch"], seed=0)
    result = train(model, train_set.subset(slice(0, spec["digits"])), retrain.retrain_config(spec))
    retrained = evaluate(model_method(model), held_out.images, kind, level)["psnr"]
    seed_ae = evaluate(methods.get("seed-ae"), held_out.images, kind, level)["psnr"]
    return {"seconds": result.seconds, "images_per_s": result.steps * 64 / result.seconds, "noise": f"{kind} {level}",
            "retrained_psnr": retrained, "shipped_seed_ae_psnr": seed_ae}  # fmt: skip


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_starts(starts: int) -> dict:
    """From `streamlit run app.py` to a rendered page (three digit images and the metrics) in Chromium."""
    from playwright.sync_api import sync_playwright

    times, peak = [], 0.0
    with sync_playwright() as p:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        for _ in range(starts):
            port, start = free_port(), time.perf_counter()
            server = start_server(port)
            try:
                page = browser.new_page()
                for _ in range(300):  # the server needs a moment to listen
                    try:
                        page.goto(f"http://127.0.0.1:{port}", timeout=2000)
                        break
                    except Exception:
                        time.sleep(0.05)
                page.wait_for_function("document.querySelectorAll('.dn-pictures img').length >= 3", timeout=60000)
                page.locator(".dn-figure").filter(has_text="PSNR").first.wait_for(timeout=60000)
                times.append(time.perf_counter() - start)
                peak = max(peak, vm_hwm_mb(server.pid))
                page.close()
            finally:
                stop_server(server)
        browser.close()
    return {"median_s": statistics.median(times), "all_s": times, "server_peak_rss_mb_one_visitor": peak}


def markdown(r: dict) -> str:
    lines = ["## Speed", "", f"`{r['command']}` at commit {r['commit']} on {r['machine']}: one digit with the app's "
             f"{r['threads']['app']} torch thread(s), batches with {r['threads']['batch']}.", ""]  # fmt: skip
    latency = [[k, f"{v['median_ms']:.2f}", f"{v['p95_ms']:.2f}"] for k, v in r["latency"].items()]
    lines += markdown_table(["method", "one digit, median ms", "p95 ms"], latency)
    throughput = [[k, f"{v:,.0f}"] for k, v in r["throughput"].items()]
    lines += ["", *markdown_table(["method @ batch", "digits / s"], throughput)]
    f = r["flops"]
    lines += ["", f"- unet: {f['unet_flops_per_digit'] / 1e6:.1f} MFLOP per digit; {f['unet_gflops_at_1024']:.1f} "
              f"GFLOP/s at batch 1,024 = {100 * f['fraction_of_peak']:.0f}% of this machine's matmul peak "
              f"({f['matmul_peak_gflops']:.0f} GFLOP/s)"]  # fmt: skip
    lines.append(f"- targets: unet one digit under 5 ms median ({r['latency']['unet']['median_ms']:.2f} ms); at least "
                 f"2,000 digits/s at batch 1,024 ({r['throughput']['unet @ 1024']:,.0f})")  # fmt: skip
    for label, v in r["imports"].items():
        lines.append(
            f"- `import {label}`: {v['seconds']:.2f} s; streamlit/plotly/sklearn imported: {v['heavy_modules']}"
        )
    if "rerun" in r:
        v = r["rerun"]
        lines.append(
            f"- app rerun after a slider change: median {v['median_ms']:.0f} ms (target: under 100 ms), "
            f"p95 {v['p95_ms']:.0f} ms"
        )
    if "retraining" in r:
        t = r["retraining"]
        lines.append(
            f"- default on-page retraining from scratch: {t['seconds']:.1f} s, {t['images_per_s']:.0f} images/s, "
            f"{t['retrained_psnr']:.2f} dB at {t['noise']} (target: under 60 s and at least the shipped seed-ae's "
            f"{t['shipped_seed_ae_psnr']:.2f} dB)"
        )
    if "cold_start" in r:
        c = r["cold_start"]
        lines.append(
            f"- cold start to a rendered page: median {c['median_s']:.2f} s of {len(c['all_s'])} (target: under 6 s); "
            f"server peak RSS with one visitor {c['server_peak_rss_mb_one_visitor']:.0f} MB (target: under 800 MB)"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "speed")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; no browser, AppTest or training")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    calls = 50 if args.quick else 200
    r = {"command": "python -m scripts.bench_speed" + (" --quick" if args.quick else ""), **provenance()}
    r["machine"] += f", torch {torch.__version__}"
    from webapp import view

    r["threads"] = {"app": view.SERVE_THREADS, "batch": THREADS}
    r["latency"] = method_latency(calls)
    r["throughput"] = throughput(3 if args.quick else 10)
    r["flops"] = flops_and_peak(r["throughput"]["unet @ 1024"])
    r["imports"] = import_times()
    if not args.quick:
        r["rerun"] = rerun_cost(30)
        r["retraining"] = retraining()
        r["cold_start"] = cold_starts(5)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(r, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(r))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
