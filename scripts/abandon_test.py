"""Does a retraining stop when its visitor closes the tab? Measures how long the server keeps training.

One visitor sets the longest retraining the page offers (5 epochs, 4,000 digits), presses Retrain,
and closes the tab as soon as the training is under way. The CPU use of the server and its training
worker is then sampled from /proc every half second until it falls below `--idle` of a core for two
samples in a row: the time from the close to that moment is how long the abandoned training kept
running. A second or two means the app stops it at its next step; about TRAIN_SECONDS (60 s) means
only its time limit ends it.

    python -m scripts.abandon_test --out docs/load
    python -m scripts.abandon_test --keep-open --settle 5 --watch 15 --out docs/load   # the control run

The control run keeps the tab open: the training must then go on. Its `browser_cpu_while_training`
is what a training page costs its visitor's browser, in cores, over `--watch` seconds of training
that start `--settle` seconds in.

Writes abandon.json to --out. Loopback only; bounded by --timeout; stops the server and browser.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from deploy.launch import free_port, start_server, stop_server, wait_healthy
from scripts.load_test import CHROMIUM, CHROMIUM_ARGS, ROOT, Session, open_page
from scripts.proc_stats import browser_cpu_by_pid, tree_cpu_seconds

# Endless animations on the page: a spinner redraws the page many times a second for as long as it
# turns, which cost a training visitor's headless Chromium ~0.15 of a core (st.status's spinner).
SPINNERS_JS = """() => document.getAnimations().filter(a => a.playState === "running"
    && a.effect && a.effect.getComputedTiming().iterations === Infinity
    && a.effect.target && a.effect.target.closest('[data-testid*="Spinner"]')).length"""


async def start_long_training(page) -> None:
    """Retrain tab, 5 epochs on 4,000 digits, press Retrain, wait until the training is under way."""
    await page.locator(".st-key-view").get_by_text("Retrain", exact=True).click()
    epochs = page.locator(".st-key-retrain_epochs input")
    await epochs.fill("5")
    await epochs.press("Enter")
    digits = page.locator(".st-key-retrain_digits input[type=range]")
    await digits.focus()
    await digits.press("End")
    await page.wait_for_function(
        "() => document.querySelector('.st-key-retrain_digits input').getAttribute('aria-valuetext') === '4000'"
    )
    await page.locator(".st-key-retrain button").click()
    await page.get_by_text("Epoch 1/5").first.wait_for()  # the progress bar: steps are running


async def seconds_until_idle(pid: int, idle: float, timeout: float) -> float | None:
    """Seconds until the server uses less than `idle` of a core for two half-second samples; None if never."""
    start, last, quiet = time.monotonic(), tree_cpu_seconds(pid), 0
    while time.monotonic() - start < timeout:
        await asyncio.sleep(0.5)
        now = tree_cpu_seconds(pid)
        quiet = quiet + 1 if (now - last) / 0.5 < idle else 0
        last = now
        if quiet >= 2:
            return round(time.monotonic() - start - 1.0, 1)  # when the first quiet sample began
    return None


async def measure(url: str, pid: int, args: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
        session = Session(0, trainer=True)
        context, page = await open_page(browser, url, session, timeout_s=120)
        await start_long_training(page)
        await asyncio.sleep(args.settle)  # past the first loss curve's drawing (plotly's first load)
        busy_before, browser_before = tree_cpu_seconds(pid), sum(browser_cpu_by_pid(args.chromium).values())
        await asyncio.sleep(args.watch)
        cpu_while_training = (tree_cpu_seconds(pid) - busy_before) / args.watch  # share of a core
        browser_while_training = (sum(browser_cpu_by_pid(args.chromium).values()) - browser_before) / args.watch
        spinners = await page.evaluate(SPINNERS_JS)
        if not args.keep_open:  # the control run keeps it open: the training must then go on
            await context.close()  # the visitor closes the tab mid-training
        running = await seconds_until_idle(pid, args.idle, args.timeout)
        await browser.close()
    return {"cpu_while_training": round(cpu_while_training, 2), "seconds_training_kept_running": running,
            "browser_cpu_while_training": round(browser_while_training, 3), "spinners_while_training": spinners,
            "settle_seconds": args.settle, "watched_seconds": args.watch,
            "tab_closed": not args.keep_open, "idle_threshold": args.idle, "timeout": args.timeout,
            "errors": session.errors}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=0.2, help="share of a core below which the server is idle")
    parser.add_argument("--timeout", type=float, default=150, help="seconds to wait for the server to go idle")
    parser.add_argument("--keep-open", action="store_true", help="control run: the tab stays open")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds of training before the CPU is measured")
    parser.add_argument("--watch", type=float, default=1.0, help="seconds of training the CPU is measured over")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load")
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    port, log = free_port(), Path(tempfile.mkstemp(prefix="abandon_test_", suffix=".log")[1])
    server = start_server(port, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=90)
        result = asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid, args))
    finally:
        stop_server(server)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "abandon-control.json" if args.keep_open else "abandon.json"
    (args.out / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0 if result["seconds_training_kept_running"] is not None and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
