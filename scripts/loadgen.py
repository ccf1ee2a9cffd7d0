"""Load generator: many visitors on the app at once, measuring the SERVER (no browser, so no browser's CPU).

Each visitor (scripts/visitor.py, one coroutine each) speaks Streamlit's websocket protocol as the
page does: it loads the page, then moves the noise-level slider `--moves` times, waiting each time
until the run has finished and its new pictures have loaded, then looks at the result for a random
time in `--think LOW HIGH` seconds. The first `--trainings` visitors open the Retrain tab and press
Retrain first; the others start moving once a training has started, so their latencies are measured
while it runs (also reported apart, "during training"). With `--ramp R` visitors arrive one every R s.

By default it starts `streamlit run app.py` on a free port and stops it at the end; `--url` targets a
running server (a load balancer, say) and `--server-pid` names the processes to account for (with
their descendants; without it, every process whose command line contains "streamlit").

    python -m scripts.loadgen --visitors 1 --moves 60 --think 0.3 0.3 --out /tmp/lg-cost
    python -m scripts.loadgen --visitors 1 --moves 60 --think 0.3 0.3 --page "digit=7&index=12" --out /tmp/lg-7
    python -m scripts.loadgen --visitors 20 --moves 10 --trainings 2 --out /tmp/lg-20
    python -m scripts.loadgen --visitors 1 --moves 60 --think 0.3 0.3 --script scripts/pages/floor.py --out /tmp/lg-0
    python -m scripts.loadgen --url http://127.0.0.1:8598 --visitors 20 --moves 10 --trainings 2 --out /tmp/lg-proxy

Writes results.json (every figure, the command line, the machine) and results.md to --out, prints a
one-line summary, and exits 0 only when there were no errors, no lost moves and every training finished.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from deploy.launch import free_port, start_server, stop_server, wait_healthy
from scripts.loadgen_report import report
from scripts.proc_stats import ServerWatch
from scripts.visitor import Visitor, VisitorError

NOISY_PSNR = "Noisy PSNR"


@dataclass
class Plan:
    """What every visitor does, from the command line."""

    url: str
    visitors: int
    moves: int
    think: tuple[float, float]
    trainings: int
    ramp: float
    epochs: int | None
    digits: int | None
    step_timeout: float
    train_timeout: float
    seed: int
    page: str = ""
    tab: str = ""  # a tab each visitor opens before moving the slider ("" keeps the first)


@dataclass
class Record:
    """What one visitor saw."""

    visitor: int
    trainer: bool
    open_s: float | None = None
    moves: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    training: dict | None = None


@dataclass
class Shared:
    """What the visitors share: when the moves began (CPU mark), and whether a training has started."""

    watch: ServerWatch
    t0: float
    training_started: asyncio.Event = field(default_factory=asyncio.Event)
    cpu_start: dict | None = None


def arrival_seconds(index: int, plan: Plan) -> float:
    """When visitor `index` opens the page: the trainers at once, then one visitor every `ramp` seconds."""
    if index < plan.trainings:
        return 0.0
    return (index - plan.trainings + (1 if plan.trainings else 0)) * plan.ramp


def next_level(rng: random.Random, current: float, positions: list[float]) -> float:
    """Another of the slider's `positions` than `current`, above 0 (level 0 gives an infinite PSNR: avoided)."""
    return rng.choice([level for level in positions if level > 0 and abs(level - current) > 1e-9])


def url_level(visitor: Visitor) -> float | None:
    """The noise level the page wrote into its URL (the app mirrors its view there)."""
    values = urllib.parse.parse_qs(visitor.query_string).get("level")
    return float(values[0]) if values else None


async def one_move(visitor: Visitor, number: int, level: float, shared: Shared) -> dict:
    """Move the slider to `level`; the latency and whether the page showed the new result."""
    before = visitor.metric(NOISY_PSNR)
    if shared.cpu_start is None:
        shared.cpu_start = shared.watch.mark()
    sent, received = time.perf_counter(), visitor.received
    move = {"move": number, "level": level, "sent_s": round(sent - shared.t0, 3), "psnr_before": before}
    try:
        await visitor.move(level)
    except VisitorError as err:
        return move | {"outcome": "lost", "detail": str(err)}
    after, shown = visitor.metric(NOISY_PSNR), url_level(visitor)
    # The messages the server sent for the move: each element it redraws is one, and each costs it CPU.
    latency = round(time.perf_counter() - sent, 4)
    move |= {"latency_s": latency, "psnr_after": after, "messages": visitor.received - received}
    if after is not None and after != before:
        return move | {"outcome": "updated"}
    if after is not None and shown is not None and abs(shown - level) < 1e-9:
        return move | {"outcome": "reflected"}
    return move | {"outcome": "lost", "detail": f"page shows {NOISY_PSNR} {after} at level {shown}"}


async def train(visitor: Visitor, record: Record, plan: Plan, shared: Shared) -> None:
    """Retrain on the page; record its outcome, queue wait and duration."""
    result = await visitor.retrain(plan.train_timeout, plan.epochs, plan.digits, shared.training_started.set)
    record.training = {
        "visitor": record.visitor,
        "outcome": result.outcome,
        "queue_wait_s": result.queue_wait,
        "duration_s": result.duration,
        "pressed_s": round(result.pressed_at - shared.t0, 3),
        "ended_s": round(result.ended_at - shared.t0, 3),
        "detail": result.detail,
    }


async def visit(record: Record, plan: Plan, shared: Shared) -> None:
    """One visitor from arrival to leaving: open, (retrain), move and think, close."""
    await asyncio.sleep(arrival_seconds(record.visitor, plan))
    visitor, rng = Visitor(plan.url, plan.step_timeout), random.Random(plan.seed * 1000 + record.visitor)
    try:
        started = time.perf_counter()
        await visitor.open(plan.page)
        record.open_s = round(time.perf_counter() - started, 3)
        if plan.tab:
            await visitor.open_tab(plan.tab)
        if record.trainer:
            await train(visitor, record, plan, shared)
        else:
            await asyncio.wait_for(shared.training_started.wait(), plan.train_timeout)
        await moves(visitor, record, plan, shared, rng)
    except (VisitorError, TimeoutError) as err:
        record.errors.append(f"visitor {record.visitor}: {str(err) or 'no training started in time'}")
    finally:
        record.errors.extend(f"visitor {record.visitor}: {e}" for e in visitor.media_errors)
        await visitor.close()


async def moves(visitor: Visitor, record: Record, plan: Plan, shared: Shared, rng: random.Random) -> None:
    """`plan.moves` slider moves, each followed by a look at the result; a run with an exception is an error."""
    level, positions = url_level(visitor) or 0.5, visitor.slider_positions("noise_level")
    for number in range(1, plan.moves + 1):
        level = next_level(rng, level, positions)
        move = await one_move(visitor, number, level, shared)
        record.moves.append(move)
        if "exception" in move.get("detail", ""):
            record.errors.append(f"visitor {record.visitor}, move {number}: {move['detail']}")
        if number < plan.moves:
            await asyncio.sleep(rng.uniform(*plan.think))


async def run_all(plan: Plan, shared: Shared, timeout: float) -> tuple[list[Record], list[str]]:
    """Every visitor at once, bounded by `timeout`; the records, complete or as far as they got."""
    records = [Record(i, trainer=i < plan.trainings) for i in range(plan.visitors)]
    if plan.trainings == 0:
        shared.training_started.set()
    tasks = [asyncio.create_task(visit(r, plan, shared)) for r in records]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    errors = [f"the run did not end within --timeout {timeout:.0f} s"] if pending else []
    errors += [f"visitor crashed: {t.exception()!r}" for t in done if t.exception() is not None]
    return records, errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--moves", type=int, default=10, help="slider moves per visitor")
    parser.add_argument("--think", type=float, nargs=2, default=(1.5, 4.5), metavar=("LOW", "HIGH"),
                        help="seconds a visitor looks at a result before the next move (uniform)")  # fmt: skip
    parser.add_argument("--trainings", type=int, default=0, help="the first K visitors retrain first")
    parser.add_argument("--train-epochs", type=int, help="epochs of a retraining (default: the page's)")
    parser.add_argument("--train-digits", type=int, help="training digits (default: the page's)")
    parser.add_argument("--ramp", type=float, default=0.0, help="seconds between arrivals (0: all at once)")
    parser.add_argument("--url", help="a running server (default: start the app's server here)")
    parser.add_argument(
        "--script",
        default="app.py",
        help="the page to serve instead of the app (scripts/pages/floor.py: the floor of a move's cost)",
    )
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="a server process (repeatable)")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds for any one step")
    parser.add_argument("--train-timeout", type=float, default=300.0, help="seconds for a training")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=0)
    page_help = "the page the visitors open, as a link's query: digit=7&index=12 (default: the first)"
    parser.add_argument("--page", default="", metavar="QUERY", help=page_help)
    parser.add_argument("--tab", default="", help='a tab every visitor opens first, e.g. "Batch"')
    parser.add_argument("--out", type=Path, default=Path("loadgen-results"))
    return parser


def validate(args: argparse.Namespace) -> None:
    """Bad input -> ValueError naming the option and its range."""
    if args.visitors < 1 or args.moves < 0:
        raise ValueError(f"--visitors must be >= 1 and --moves >= 0 (got {args.visitors}, {args.moves})")
    if not 0 <= args.trainings <= args.visitors:
        raise ValueError(f"--trainings must be in 0..--visitors ({args.visitors}), got {args.trainings}")
    if not 0 <= args.think[0] <= args.think[1] or args.ramp < 0:
        raise ValueError(f"--think needs 0 <= LOW <= HIGH and --ramp >= 0 (got {args.think}, {args.ramp})")


async def measure(args: argparse.Namespace, url: str, watch: ServerWatch) -> dict:
    """Run the visitors against `url` while `watch` polls the server; every raw figure."""
    plan = Plan(url, args.visitors, args.moves, tuple(args.think), args.trainings, args.ramp, args.train_epochs,
                args.train_digits, args.step_timeout, args.train_timeout, args.seed, args.page, args.tab)  # fmt: skip
    shared = Shared(watch, time.perf_counter())
    watch.start()
    records, errors = await run_all(plan, shared, args.timeout)
    cpu_end = watch.mark()
    watch.stop()
    moves_total = sum(len(r.moves) for r in records)
    cpu = watch.cpu_between(shared.cpu_start or cpu_end, cpu_end)
    return {
        "records": records,
        "errors": errors,
        "cpu_seconds": cpu,
        "cpu_per_move_s": cpu / moves_total if moves_total else None,
        "memory": watch.memory_report(),
        "accounted": watch.describe(),
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    validate(args)
    args.out.mkdir(parents=True, exist_ok=True)
    server, url = None, args.url
    if url is None:
        port = free_port()
        url, server = f"http://127.0.0.1:{port}", start_server(port, args.out / "server.log", script=args.script)
        wait_healthy(url, server, timeout=120)
    watch = ServerWatch([server.pid] if server else args.server_pid)
    try:
        raw = asyncio.run(measure(args, url.rstrip("/"), watch))
    finally:
        if server is not None:
            stop_server(server)
    log = args.out / "server.log"
    if server is not None and "Traceback" in log.read_text(errors="replace"):
        raw["errors"].append(f"the server logged a traceback (see {log})")
    ok, summary = report(args, url, raw, sys.argv)
    print(summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
