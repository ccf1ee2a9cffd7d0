"""What one slider move costs: CPU of the browser (per Chromium process type) and of the server, one visitor.

The load test's latency on this machine is set by CPU: its browsers share the server's two cores.
This script shows where that CPU goes. It opens the app in one headless Chromium page, moves the
noise slider `--moves` times (waiting for each new PSNR, then a pause so every move is drawn fully),
and divides the CPU time of every Chromium process (read from /proc, by its --type) and of the
server by the number of moves. Run on an otherwise idle machine:

    python -m scripts.page_cost --out docs/load

Writes page_cost.json and page_cost.md to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from deploy.launch import free_port, start_server, stop_server, wait_healthy
from scripts.load_test import CHROMIUM, CHROMIUM_ARGS, METRIC_JS, SLIDER, wait_changed
from scripts.proc_stats import browser_cpu_by_pid, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def cpu_by_type(executable: str) -> dict[str, float]:
    """CPU seconds of the running browser's processes, summed by process type (browser, renderer, gpu-process...)."""
    totals: dict[str, float] = {}
    for pid, seconds in browser_cpu_by_pid(executable).items():
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        kind = re.search(r"--type=([a-z-]+)", argv)
        name = kind.group(1) if kind else "browser"
        totals[name] = totals.get(name, 0.0) + seconds
    return totals


async def measure(url: str, server_pid: int, moves: int, chromium: str) -> dict:
    """Move the slider `moves` times on one page; CPU milliseconds per move by process type, and the latency."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await page.goto(url)
        await wait_changed(page, None, 90)
        await page.wait_for_timeout(2000)  # the first draw's tail
        thumb, latencies = page.locator(SLIDER), []
        before, server_before = cpu_by_type(chromium), cpu_seconds(server_pid)
        for i in range(moves):
            old = await page.evaluate(METRIC_JS)
            await thumb.focus()
            pressed = time.perf_counter()
            await thumb.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            await wait_changed(page, old, 60)
            latencies.append(time.perf_counter() - pressed)
            await page.wait_for_timeout(500)  # let the rest of the page finish drawing
        after, server_after = cpu_by_type(chromium), cpu_seconds(server_pid)
        await browser.close()
    per_move = {k: round((after[k] - before.get(k, 0.0)) / moves * 1000, 1) for k in after}
    return {
        "moves": moves,
        "browser_ms_per_move": per_move,
        "browser_total_ms_per_move": round(sum(per_move.values()), 1),
        "server_ms_per_move": round((server_after - server_before) / moves * 1000, 1),
        "latency_median_s": round(sorted(latencies)[len(latencies) // 2], 3),
    }


def markdown(r: dict) -> str:
    lines = [f"# CPU per slider move, one visitor ({r['moves']} moves)", ""]
    lines += ["| process | ms per move |", "| --- | ---: |"]
    lines += [f"| Chromium {name} | {ms:.0f} |" for name, ms in sorted(r["browser_ms_per_move"].items()) if ms >= 1]
    lines += [f"| **Chromium, all** | **{r['browser_total_ms_per_move']:.0f}** |"]
    lines += [f"| **server** (`streamlit run app.py`) | **{r['server_ms_per_move']:.0f}** |"]
    lines += ["", f"Latency on an idle machine, key press to new PSNR: median {r['latency_median_s']:.2f} s."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--moves", type=int, default=20)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "load")
    p.add_argument("--chromium", default=CHROMIUM)
    args = p.parse_args(argv)
    if args.moves < 1:
        p.error("--moves must be >= 1")
    port = free_port()
    server = start_server(port, Path(tempfile.mkstemp(prefix="page_cost_", suffix=".log")[1]))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=90)
        result = asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid, args.moves, args.chromium))
    finally:
        stop_server(server)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "page_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "page_cost.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
