"""The load generator's figures: results.json (everything raw), results.md (a short table), a summary line.

Latencies are in seconds, from sending a rerun to its run having finished and its new pictures
loaded. A move "during training" was sent while some visitor's training was between its press and
its end. A move is lost when its run never finished or the page never showed its level. The server's CPU per
move is its CPU time from the first move sent to the last visitor leaving, divided by the moves.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
from dataclasses import asdict

from scripts.measure import provenance, spread

CONFIG_KEYS = ("visitors", "moves", "think", "trainings", "train_epochs", "train_digits", "ramp", "step_timeout",
               "train_timeout", "timeout", "seed", "server_pid")  # fmt: skip


def during_training(move: dict, windows: list[tuple[float, float]]) -> bool:
    return any(start <= move["sent_s"] <= end for start, end in windows)


def figures(args: argparse.Namespace, raw: dict) -> dict:
    """Every figure of results.json from the visitors' records."""
    records, trainings = raw["records"], [r.training for r in raw["records"] if r.training]
    moves = [m | {"visitor": r.visitor} for r in records for m in r.moves]
    done = [m for m in moves if m["outcome"] != "lost"]
    windows = [(t["pressed_s"], t["ended_s"]) for t in trainings]
    planned = args.visitors * args.moves
    by_move = [{"move": n} | spread([m["latency_s"] for m in done if m["move"] == n]) for n in range(1, args.moves + 1)]
    return {
        "latency_s": spread([m["latency_s"] for m in done]),
        "latency_by_move_s": by_move,
        "latency_during_training_s": spread([m["latency_s"] for m in done if during_training(m, windows)]),
        "latency_outside_training_s": spread([m["latency_s"] for m in done if not during_training(m, windows)]),
        "moves": {
            "planned": planned,
            "finished": len(done),
            "lost": planned - len(done),
            "updated": sum(m["outcome"] == "updated" for m in done),
        },
        "messages_per_move": statistics.median(m["messages"] for m in done) if done else None,
        "lost_moves": [m for m in moves if m["outcome"] == "lost"],
        "errors": raw["errors"] + [e for r in records for e in r.errors],
        "trainings": trainings,
        "trainings_finished": sum(t["outcome"] == "trained" for t in trainings),
        "open_s": spread([r.open_s for r in records if r.open_s is not None]),
        "server_cpu": {
            "seconds_while_moving": round(raw["cpu_seconds"], 3),
            "moves": len(moves),
            "per_move_s": raw["cpu_per_move_s"] and round(raw["cpu_per_move_s"], 4),
            "accounted": raw["accounted"],
            "includes_trainings": bool(trainings),  # the trainings ran during the moves: their CPU is in it
        },
        "server_memory": raw["memory"],
        "raw": {"moves": moves, "visitors": [asdict(r) | {"moves": len(r.moves)} for r in records]},
    }


def cell(value: float | None, unit: str = "s") -> str:
    return "–" if value is None else f"{value:.3f} {unit}" if unit == "s" else f"{value:.0f} {unit}"


def by_move(rows: list[dict]) -> str:
    """Each move's median latency, in order: the first moves of visitors who arrived together come together."""
    return ", ".join("–" if r["median"] is None else f"{r['median']:.2f}" for r in rows) + " s"


def markdown(results: dict) -> str:
    """A short table of the main figures."""
    lat, cpu, mem = results["latency_s"], results["server_cpu"], results["server_memory"]
    during, moves = results["latency_during_training_s"], results["moves"]
    rows = [
        (
            "visitors × moves (trainings)",
            f"{results['config']['visitors']} × {results['config']['moves']} ({results['config']['trainings']})",
        ),
        ("latency median / p95 / max", f"{cell(lat['median'])} / {cell(lat['p95'])} / {cell(lat['max'])}"),
        ("latency during training: median / p95", f"{cell(during['median'])} / {cell(during['p95'])}"),
        ("latency median by move: 1st, 2nd, ...", by_move(results["latency_by_move_s"])),
        ("moves finished / lost", f"{moves['finished']} / {moves['lost']}"),
        ("errors", str(len(results["errors"]))),
        ("trainings finished", f"{results['trainings_finished']} of {len(results['trainings'])}"),
        (
            "server CPU per move" + (" (the trainings' included)" if cpu["includes_trainings"] else ""),
            cell(cpu["per_move_s"]),
        ),
        ("server peak PSS / RSS (sum)", f"{cell(mem['peak_pss_mb_sum'], 'MB')} / {cell(mem['peak_rss_mb_sum'], 'MB')}"),
    ]
    rows += [(f"training {t['visitor']}: queue wait / duration", f"{cell(t['queue_wait_s'])} / {cell(t['duration_s'])}"
              f" ({t['outcome']})") for t in results["trainings"]]  # fmt: skip
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    head = (
        f"# Load generator: {results['timestamp']}\n\n`{results['command']}` at commit {results['commit']} on "
        f"{results['machine']['description']}\n\n"
    )
    note = " Its CPU over the moves includes the trainings that ran meanwhile." if cpu["includes_trainings"] else ""
    return f"{head}| figure | value |\n| --- | --- |\n{table}\n\nServer accounted: {cpu['accounted']}.{note}\n"


def summary(results: dict, ok: bool) -> str:
    """The one-line summary printed at the end."""
    lat, cpu, mem, moves = results["latency_s"], results["server_cpu"], results["server_memory"], results["moves"]
    trainings = results["trainings"]
    train = "".join(f"; training {t['outcome']} (queue {cell(t['queue_wait_s'])}, {cell(t['duration_s'])})"
                    for t in trainings)  # fmt: skip
    return (f"loadgen {'OK' if ok else 'FAILED'}: {results['config']['visitors']} visitors x "
            f"{results['config']['moves']} moves; latency median {cell(lat['median'])} p95 {cell(lat['p95'])} "
            f"max {cell(lat['max'])}; lost {moves['lost']}/{moves['planned']}; errors {len(results['errors'])}{train}; "
            f"server CPU {cell(cpu['per_move_s'])}/move; peak PSS {cell(mem['peak_pss_mb_sum'], 'MB')} "
            f"(RSS {cell(mem['peak_rss_mb_sum'], 'MB')})")  # fmt: skip


def report(args: argparse.Namespace, url: str, raw: dict, argv: list[str]) -> tuple[bool, str]:
    """Write results.json and results.md to args.out; whether the run passed, and its summary line."""
    results = {
        "command": " ".join(["python -m scripts.loadgen", *argv[1:]]),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": (made := provenance())["commit"],
        "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg(), "description": made["machine"]},
        "url": url,
        "config": {k: getattr(args, k) for k in CONFIG_KEYS},
    } | figures(args, raw)
    ok = not results["errors"] and results["moves"]["lost"] == 0 and results["trainings_finished"] == args.trainings
    results["passed"] = ok
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    return ok, summary(results, ok)
