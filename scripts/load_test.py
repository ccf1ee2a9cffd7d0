"""Load test: many visitors at once on one Streamlit server, each moving the noise slider, some retraining.

Starts `streamlit run app.py` on a free loopback port, opens `--sessions` browser contexts in one
headless Chromium (Playwright, async), and in each one presses the noise-level slider's arrow key
`--changes` times, waiting every time until the noisy PSNR on the page changes, then looking at the
result for a random time around `--think` seconds, as a person does before the next move (0: press
again at once, a stress test in which every session always has a rerun in flight). The first
`--trainings` sessions press "Retrain" first (all at the same moment) and move the slider once their
training has ended; the others start moving theirs as soon as a training has started, so their
latencies are measured while the trainings run (reported apart as "during training"). With
`--ramp R` the other visitors arrive one every R seconds after the trainers, as Locust's spawn rate
does, instead of all opening the page at the same moment and starting together once every page has
loaded (the default, a thundering herd: twenty first moves within a few seconds of each other).

Recorded: per-interaction latency (key press -> new PSNR on the page; median, 95th percentile),
errors (exceptions on a page, JavaScript errors, tracebacks in the server log, failed steps), lost
interactions (a PSNR that never updated, or a slider that did not end where the presses put it),
each training's outcome and time, and the server's peak resident memory (RSS, process tree, polled
from /proc). Everything is bounded: a fixed number of presses, a time limit per step and for the
whole run; the server and browser are stopped at the end. Only 127.0.0.1 is contacted.

    python -m scripts.load_test --sessions 20 --changes 10 --trainings 2 --think 3 --out docs/load
    python -m scripts.load_test --sessions 20 --changes 10 --trainings 2 --think 3 --ramp 1 --out docs/load/ramp

Writes results.json and results.md to --out; exits 0 when there were no errors and no lost interactions.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import TimeoutError as PlaywrightTimeout

from deploy.launch import free_port, start_server, stop_server, wait_healthy
from scripts.load_test_report import markdown
from scripts.measure import percentile
from scripts.proc_stats import RssMonitor, tree_cpu_seconds
from webapp.view import SLIDER_STEP

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DENOISER_CHROMIUM", "/usr/bin/chromium")
# Every host name but 127.0.0.1 resolves to nothing: the browser can reach the test server only.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]  # fmt: skip
# Streamlit 1.67 draws a slider as a react-aria <input type="range">: its ARIA role "slider" is implicit.
SLIDER = ".st-key-noise_level input[type=range]"
DIGITS_SLIDER = ".st-key-retrain_digits input[type=range]"
# The noisy PSNR on the page. textContent, not innerText: innerText lays the page out on every read.
METRIC_JS = """() => {
    const m = [...document.querySelectorAll('.dn-figure')]
        .find(e => e.querySelector('.dn-label').textContent === "Noisy PSNR");
    const v = m && m.querySelector('.dn-value');
    return v ? v.textContent : null;
}"""
# Resolves with the new PSNR once it differs from `old` (null: once there is one), or null after `ms`.
# It re-reads on DOM mutations, not on a timer: Playwright's 50 ms polling cost each waiting page
# ~12 ms of renderer CPU a second (twenty pages: a quarter of a core, taken from the server under
# test) and added up to 50 ms to every latency.
WAIT_CHANGED_JS = f"""([old, ms]) => new Promise(resolve => {{
    const read = {METRIC_JS};
    let timer = null;
    const done = value => {{ observer.disconnect(); clearTimeout(timer); resolve(value); }};
    const check = () => {{ const now = read(); if (now !== null && now !== old) done(now); }};
    const observer = new MutationObserver(check);
    observer.observe(document.body, {{subtree: true, childList: true, characterData: true}});
    timer = setTimeout(() => done(null), ms);
    check();
}})"""
CONFIG_KEYS = (
    "sessions",
    "changes",
    "trainings",
    "think",
    "ramp",
    "small_training",
    "step_timeout",
    "train_timeout",
    "timeout",
)
TRAINED = "Your session uses a retrained"
BUSY = "The server is still busy"


@dataclass
class Session:
    """What one visitor saw: latencies of slider changes, lost ones, errors, the training if any."""

    index: int
    trainer: bool
    load_seconds: float | None = None
    latencies: list[float] = field(default_factory=list)
    pressed_at: list[float] = field(default_factory=list)  # perf_counter() of each press that got its update
    train_window: tuple[float, float] | None = None  # perf_counter() when Retrain was pressed, and when it ended
    wrong_final_level: bool = False
    errors: list[str] = field(default_factory=list)
    training: dict | None = None


async def wait_changed(page, old: str | None, timeout_s: float) -> str | None:
    """The noisy PSNR on `page` once it differs from `old` (None: once one is shown); None after `timeout_s`."""
    return await page.evaluate(WAIT_CHANGED_JS, [old, timeout_s * 1000])


async def page_errors(page, session: Session) -> None:
    """Record any Streamlit exception box on the page as an error."""
    boxes = page.locator('[data-testid="stException"]')
    if await boxes.count():
        session.errors.append(f"exception on the page: {(await boxes.first.inner_text())[:200]}")


async def open_page(browser, url: str, session: Session, timeout_s: float):
    """A new browser context on the app; waits until the noisy PSNR is shown."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    page.on("pageerror", lambda err: session.errors.append(f"JavaScript error: {str(err)[:200]}"))
    start = time.perf_counter()
    await page.goto(url)
    if await wait_changed(page, None, timeout_s) is None:
        raise PlaywrightTimeout(f"no PSNR on the page within {timeout_s:.0f} s")
    session.load_seconds = time.perf_counter() - start
    return context, page


async def move_slider(page, session: Session, changes: int, timeout_s: float, think: float = 0.0) -> None:
    """Press ArrowRight, ArrowLeft, ... `changes` times, each time waiting for a new noisy PSNR.

    Between presses the visitor looks at the result for a time drawn uniformly from [0.5, 1.5] x
    `think` seconds (seeded by the session's number, so reruns of the test pace alike); the
    look before the first press staggers the sessions, as visitors don't move in lockstep."""
    thumb = page.locator(SLIDER)
    start_value = float(await thumb.input_value())
    pause = random.Random(session.index)
    for i in range(changes):
        if think:
            await asyncio.sleep(think * pause.uniform(0.5, 1.5))
        old = await page.evaluate(METRIC_JS)
        await thumb.focus()
        pressed = time.perf_counter()
        await thumb.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        if await wait_changed(page, old, timeout_s) is not None:
            session.latencies.append(time.perf_counter() - pressed)
            session.pressed_at.append(pressed)
        # else a lost interaction: counted as planned minus updated
    expected = round(start_value + SLIDER_STEP * (changes % 2), 2)
    final = float(await thumb.input_value())
    session.wrong_final_level = abs(final - expected) > 1e-6  # a key press the app never applied
    await page_errors(page, session)


@dataclass
class Signals:
    """Moments the sessions wait for: every page loaded; a training under way (or none planned)."""

    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    training: asyncio.Event = field(default_factory=asyncio.Event)


async def retrain(page, session: Session, small: bool, timeout_s: float, training: asyncio.Event) -> None:
    """Open the Retrain tab, press Retrain (with the fewest training digits if `small`), wait for the end."""
    await page.locator(".st-key-view").get_by_text("Retrain", exact=True).click()
    button = page.locator(".st-key-retrain button")
    await button.wait_for()
    if small:  # 64 digits instead of 1,000: a training of a few seconds
        digits = page.locator(DIGITS_SLIDER)
        await digits.focus()
        await digits.press("Home")
        await page.wait_for_function(
            f"() => document.querySelector('{DIGITS_SLIDER}').getAttribute('aria-valuetext') === '64'"
        )
    start = time.perf_counter()
    await button.click()
    done = page.get_by_text(TRAINED).or_(page.get_by_text(BUSY))
    await page.get_by_text("Retraining").or_(page.get_by_text("in the queue")).or_(done).first.wait_for()
    training.set()  # under way, or queued behind another visitor's
    await done.first.wait_for(timeout=timeout_s * 1000)
    outcome = "trained" if await page.get_by_text(TRAINED).count() else "server busy"
    session.train_window = (start, time.perf_counter())
    session.training = {"outcome": outcome, "seconds": round(session.train_window[1] - start, 2)}
    await page_errors(page, session)


def arrival_seconds(session: Session, args: argparse.Namespace) -> float:
    """When a visitor opens the page: trainers at once, the others one every `args.ramp` seconds after them."""
    return 0.0 if session.trainer else (session.index - args.trainings + 1) * args.ramp


async def visit(browser, url: str, session: Session, args: argparse.Namespace, signals: Signals) -> None:
    """One visitor: open the page, retrain if a trainer, move the slider; every failure is recorded."""
    context = None
    try:
        await asyncio.sleep(arrival_seconds(session, args))
        context, page = await open_page(browser, url, session, args.step_timeout)
        if session.trainer or not args.ramp:
            await signals.loaded.wait()  # the trainings start together, and without a ramp everybody does
        if session.trainer:
            await retrain(page, session, args.small_training, args.train_timeout, signals.training)
        else:
            await asyncio.wait_for(signals.training.wait(), args.train_timeout)
        await move_slider(page, session, args.changes, args.step_timeout, args.think)
    except Exception as err:  # a failed step is a result to report, not a crash of the test
        session.errors.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
    finally:
        if session.trainer:
            signals.training.set()  # a trainer that failed must not keep the others waiting
        if context is not None:
            await context.close()


async def drive(url: str, args: argparse.Namespace) -> list[Session]:
    """Open all sessions in one browser and run them concurrently, within the overall time limit."""
    from playwright.async_api import async_playwright

    sessions = [Session(i, trainer=i < args.trainings) for i in range(args.sessions)]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
        signals = Signals()
        if not args.trainings:
            signals.training.set()
        tasks = [asyncio.create_task(visit(browser, url, s, args, signals)) for s in sessions]

        together = [s for s in sessions if s.trainer or not args.ramp]

        async def release_when_loaded() -> None:  # start together once each of `together` shows its PSNR
            while not all(s.load_seconds is not None or s.errors for s in together):
                await asyncio.sleep(0.2)
            signals.loaded.set()

        releaser = asyncio.create_task(release_when_loaded())
        _, pending = await asyncio.wait(tasks, timeout=args.timeout)
        releaser.cancel()
        for task in pending:
            task.cancel()
        for s in sessions:
            if pending and not s.errors and len(s.latencies) < args.changes:
                s.errors.append(f"not finished within the {args.timeout:.0f} s limit")
        await browser.close()
    return sessions


def server_errors(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line[:200] for line in lines if "Traceback" in line or line.startswith(("Error", "Exception"))]


def summarise(
    sessions: list[Session], log_errors: list[str], monitor: RssMonitor, args, seconds: float, cpu: dict
) -> dict:
    """The figures of one run, as written to results.json."""
    latencies = [x for s in sessions for x in s.latencies]
    windows = [s.train_window for s in sessions if s.train_window]
    during = [x for s in sessions for x, t in zip(s.latencies, s.pressed_at, strict=True)
              if any(a <= t <= b for a, b in windows)]  # fmt: skip
    errors = [f"session {s.index}: {e}" for s in sessions for e in s.errors] + [f"server: {e}" for e in log_errors]
    loads = [s.load_seconds for s in sessions if s.load_seconds is not None]
    planned = args.sessions * args.changes
    lost = planned - len(latencies) + sum(s.wrong_final_level for s in sessions)
    return {
        "config": {k: getattr(args, k) for k in CONFIG_KEYS},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        "interactions": {"planned": planned, "updated": len(latencies), "lost": lost},
        "latency_s": {
            "median": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies, default=None),
        },
        # Whether the slow moves cluster: the first moves of all sessions come close together.
        "latency_by_move_s": [
            {"move": i + 1, "median": percentile(column, 0.5), "max": max(column)}
            for i, column in enumerate(
                zip(*(s.latencies for s in sessions if len(s.latencies) == args.changes), strict=True)
            )
        ],
        "latency_during_training_s": {
            "n": len(during),
            "median": percentile(during, 0.5),
            "p95": percentile(during, 0.95),
        },
        "page_load_s": {"median": percentile(loads, 0.5), "max": max(loads, default=None)},
        "trainings": [dict(session=s.index, **s.training) for s in sessions if s.training],
        "server_peak_rss_mb": round(monitor.peak_mb, 1),
        "server_peak_anon_rss_mb": round(monitor.peak_anon_mb, 1),
        # The browsers share the server's CPU here; on a real host they run on the visitors' machines.
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "errors": errors,
        "wall_seconds": round(seconds, 1),
        "ok": not errors and lost == 0,
    }


def run(args: argparse.Namespace) -> dict:
    """Start the server, drive the sessions, measure, stop everything; the results dict."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="load_test_streamlit_", suffix=".log")[1])
    server = start_server(port, log)
    monitor = RssMonitor(server.pid, args.chromium)
    start = time.monotonic()
    try:
        wait_healthy(url, server, timeout=90)
        monitor.start()
        sessions = asyncio.run(drive(url, args))
        cpu = {"server": tree_cpu_seconds(server.pid), "browser": sum(monitor.browser_cpu.values())}
    finally:
        monitor.stop.set()
        stop_server(server)
    results = summarise(sessions, server_errors(log), monitor, args, time.monotonic() - start, cpu)
    if results["ok"]:
        log.unlink()
    else:
        results["server_log"] = str(log)  # kept for the tracebacks
    return results


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions")
    p.add_argument("--changes", type=int, default=10, help="noise-level changes per session")
    p.add_argument("--trainings", type=int, default=2, help="sessions that press Retrain at the same time")
    p.add_argument("--think", type=float, default=3.0,
                   help="mean seconds a visitor looks at a result before the next move (0: at once)")  # fmt: skip
    p.add_argument("--ramp", type=float, default=0.0,
                   help="seconds between the arrivals of the visitors who do not train (0: all at once)")  # fmt: skip
    p.add_argument("--small-training", action="store_true", help="retrain on 64 digits instead of the default")
    p.add_argument("--timeout", type=float, default=900, help="limit for the whole run, seconds")
    p.add_argument("--step-timeout", type=float, default=60, help="limit for a page load or one PSNR update")
    p.add_argument("--train-timeout", type=float, default=300, help="limit for one retraining, queue included")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "load", help="folder for results.json/.md")
    p.add_argument("--chromium", default=CHROMIUM, help="Chromium executable")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.trainings <= args.sessions or args.sessions < 1 or args.changes < 1 or not args.think >= 0:
        build_parser().error("need sessions >= 1, changes >= 1, 0 <= trainings <= sessions and think >= 0")
    if not args.ramp >= 0:
        build_parser().error("need ramp >= 0")
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
