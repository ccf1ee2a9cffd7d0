"""Capacity: how many visitors one server, and two replicas behind nginx, serve with a p95 latency under 1 s.

For each setup (one `streamlit run app.py`; `python -m deploy.serve --replicas 2`, the same as
`make serve REPLICAS=2`) and each load (slider moves only; slider moves while two visitors
retrain), it runs the protocol-level load generator (`scripts.loadgen`: visitors that think
1.5-4.5 s between moves) at growing numbers of visitors until the 95th percentile latency reaches
`--limit` seconds or a run has an error, a lost move or an unfinished training. A setup's capacity is
the largest count that passed: a lower bound, as fine as the steps. Every run's own report is kept
beside this one, and the server's CPU per slider move is measured first (one visitor, 60 moves), on
the default page and on another digit.

    python -m scripts.capacity --out docs/load/capacity

Writes results.json and results.md to --out (and one folder per run); run it on an otherwise idle
machine: the visitors' own process shares the machine with the servers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from denoiser.bench.report import markdown_table
from deploy.launch import free_port, start_server, wait_healthy
from scripts.measure import provenance

ROOT = Path(__file__).resolve().parent.parent
SETUPS = {"1 process": 0, "2 replicas": 2}  # name -> replicas behind nginx (0: plain `streamlit run app.py`)
LOADS = {"moves only": 0, "with 2 trainings": 2}  # name -> visitors retraining
MOVE_COST = ["--moves", "60", "--think", "0.3", "0.3"]
FLOOR = "scripts/pages/floor.py"  # the cost of a move on a page that does nothing, in the same run
OTHER_TABS = ("Across noise levels", "Batch", "Retrain")  # one visitor: the server's CPU per slider move
OTHER_PAGE = "digit=7&index=12"  # a digit whose results are computed on the move (the first page's are at start)


def loadgen(out: Path, visitors: int, trainings: int, url: str | None, pid: int | None, extra: list[str]) -> dict:
    """Run the load generator once; its results.json."""
    command = [sys.executable, "-m", "scripts.loadgen", "--visitors", str(visitors), "--trainings", str(trainings),
               "--out", str(out), *extra]  # fmt: skip
    if url:
        command += ["--url", url, "--server-pid", str(pid)]
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:], flush=True)
    if not (out / "results.json").exists():
        raise RuntimeError(f"the load generator wrote no results ({done.stderr[-500:]})")
    results = json.loads((out / "results.json").read_text())
    (out / "results.json").unlink()  # every visitor's every move: too much to keep; results.md stays
    return results


def move_cost_before(ref: str, out: Path) -> dict:
    """The server's CPU per move and the messages a move sent (median), one visitor moving the slider 60 times on
    the app as it was at git `ref`."""
    tree = Path(tempfile.mkdtemp(prefix="denoiser-before-")) / "app"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    server = start_server(port, warm=False, cwd=tree)  # served as that commit served it
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        results = loadgen(out, 1, 0, f"http://127.0.0.1:{port}", server.pid, MOVE_COST)
        return {
            "ref": ref,
            "per_move_s": results["server_cpu"]["per_move_s"],
            "messages": results.get("messages_per_move"),
        }
    finally:
        stop(server)
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)


def start_replicas(replicas: int, log_dir: Path) -> tuple[subprocess.Popen, str]:
    """`python -m deploy.serve` with `replicas` replicas on a free port; the process and its URL, once healthy."""
    port = free_port()
    command = [sys.executable, "-m", "deploy.serve", "--replicas", str(replicas), "--port", str(port),
               "--log-dir", str(log_dir)]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, server, timeout=180)
    return server, url


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def passed(results: dict, limit: float) -> bool:
    p95 = results["latency_s"]["p95"]
    return bool(results["passed"]) and p95 is not None and p95 < limit


def sweep(setup: str, load: str, args: argparse.Namespace) -> list[dict]:
    """Growing visitor counts for one setup and load until one fails; a row per run."""
    rows = []
    for visitors in args.visitors:
        out = args.out / "runs" / f"{setup.replace(' ', '-')}_{load.replace(' ', '-')}_{visitors}"
        server, url = (None, None)
        if SETUPS[setup]:
            server, url = start_replicas(SETUPS[setup], out / "logs")
        try:
            results = loadgen(out, visitors, LOADS[load], url, server and server.pid, args.loadgen_args)
        finally:
            if server:
                stop(server)
        rows.append({"setup": setup, "load": load, "visitors": visitors, "passed": passed(results, args.limit),
                     "latency_s": results["latency_s"], "errors": len(results["errors"]),
                     "lost": results["moves"]["lost"], "trainings": results["trainings"],
                     "memory": results["server_memory"], "report": str(out.relative_to(args.out))})  # fmt: skip
        if not rows[-1]["passed"]:
            break
    return rows


def capacity(rows: list[dict]) -> int:
    """The largest visitor count that passed, counting up from the first (0 if the first failed)."""
    best = 0
    for row in rows:
        if not row["passed"]:
            break
        best = row["visitors"]
    return best


def run_row(row: dict) -> list:
    lat, mem = row["latency_s"], row["memory"]
    return [row["setup"], row["load"], row["visitors"], f"{lat['p95']:.2f} s", f"{lat['max']:.2f} s", row["errors"],
            row["lost"], f"{mem['peak_pss_mb_sum']:.0f} / {mem['peak_rss_mb_sum']:.0f}"]  # fmt: skip


def role(command: str) -> str:
    """What a process is, from its command line."""
    roles = {"webapp.worker": "training worker", "webapp.server": "web process", "streamlit run": "web process",
             "deploy.serve": "deploy.serve", "supervisor.supervisord": "supervisord",
             "superlance.httpok": "health check", "shutil.rmtree": "janitor",
             "nginx: master": "nginx master", "nginx: worker": "nginx worker"}  # fmt: skip
    return next((name for key, name in roles.items() if key in command), command.split()[0])


def memory_lines(runs: list[dict]) -> list[str]:
    """Every process's peak memory in each setup's largest passing run with trainings."""
    title = "Peak memory of every process, PSS / RSS in MB, in each setup's largest passing run with trainings:"
    lines = ["", title, ""]
    for setup in SETUPS:
        passed = [r for r in runs if r["setup"] == setup and r["load"] == "with 2 trainings" and r["passed"]]
        if passed:
            run = passed[-1]
            memory = run["memory"]
            each = ", ".join(f"{role(p['command'])} {p['peak_pss_mb']:.0f} / {p['peak_rss_mb']:.0f}"
                             for p in memory["processes"])  # fmt: skip
            lines.append(f"- {setup}, {run['visitors']} visitors: {each}; all together at most "
                         f"{memory['peak_pss_mb_sum']:.0f} / {memory['peak_rss_mb_sum']:.0f}")  # fmt: skip
    return lines


def markdown(results: dict) -> str:
    """The capacity table, the runs behind it, and the cost of a move."""
    intro = (f"Visitors served with a 95th percentile latency under {results['limit']:.1f} s (think time 1.5-4.5 s, "
             f"10 moves each), counted in steps of {results['step']}; `{results['command']}`.")  # fmt: skip
    lines = [f"### Capacity, {results['timestamp']}, commit {results['commit']} on {results['machine']}", "", intro, ""]
    lines += markdown_table(["setup", *LOADS], [[s, *(results["capacity"][s][ld] for ld in LOADS)] for s in SETUPS])
    header = ["setup", "load", "visitors", "p95", "max", "errors", "lost", "peak PSS / RSS (MB)"]
    lines += ["", *markdown_table(header, [run_row(row) for row in results["runs"]], text=(0, 1))]
    lines += memory_lines(results["runs"])
    cost, before, other = results["move_cost"], results["move_cost_before"], results.get("move_cost_other")
    lines += ["", f"Server CPU per slider move on the default page (one visitor, {cost['moves']} moves): "
              f"**{1000 * cost['per_move_s']:.1f} ms**."]  # fmt: skip
    if other:
        lines[-1] += (f" On another digit (`--page \"{other['page']}\"`), whose results are computed on the move "
                      f"rather than when the server starts: {1000 * other['per_move_s']:.1f} ms.")  # fmt: skip
    if results.get("move_cost_floor"):
        lines[-1] += (f" A trivial page (`{results['move_cost_floor']['page']}`: one slider, one figure), served the "
                      f"same way: {1000 * results['move_cost_floor']['per_move_s']:.1f} ms.")  # fmt: skip
    if results.get("move_cost_tabs"):
        tabs = "; ".join(f"{tab}, {1000 * cost:.1f} ms" for tab, cost in results["move_cost_tabs"].items())
        lines[-1] += f" With another tab open: {tabs}."
    if before:
        then = "; ".join(f"at commit {b['ref']}, {1000 * b['per_move_s']:.1f} ms" for b in before)
        lines[-1] += f" The default page of the app as it was, in the same run: {then}."
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[20, 40, 60, 80])
    parser.add_argument("--limit", type=float, default=1.0, help="p95 latency a load must stay under (s)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load" / "capacity")
    parser.add_argument("--before", metavar="GIT_REF", nargs="+", default=[],
                        help="also measure the CPU per move of the app at these commits")  # fmt: skip
    parser.add_argument("--loadgen-args", nargs=argparse.REMAINDER, default=[], help="passed to scripts.loadgen")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cost = loadgen(args.out / "runs" / "move-cost", 1, 0, None, None, MOVE_COST)
    other = loadgen(args.out / "runs" / "move-cost-other", 1, 0, None, None, [*MOVE_COST, "--page", OTHER_PAGE])
    floor = loadgen(args.out / "runs" / "move-cost-floor", 1, 0, None, None, [*MOVE_COST, "--script", FLOOR])
    tabs = {tab: loadgen(args.out / "runs" / f"move-cost-{tab.split()[0].lower()}", 1, 0, None, None,
                         [*MOVE_COST, "--tab", tab])["server_cpu"]["per_move_s"] for tab in OTHER_TABS}  # fmt: skip
    before = [move_cost_before(ref, args.out / "runs" / f"move-cost-{ref}") for ref in args.before]
    runs = [row for setup in SETUPS for load in LOADS for row in sweep(setup, load, args)]
    results = {
        "command": " ".join(["python -m scripts.capacity", *(argv if argv is not None else sys.argv[1:])]),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **provenance(),
        "limit": args.limit,
        "step": args.visitors[1] - args.visitors[0] if len(args.visitors) > 1 else args.visitors[0],
        "capacity": {
            s: {ld: capacity([r for r in runs if r["setup"] == s and r["load"] == ld]) for ld in LOADS} for s in SETUPS
        },
        "move_cost": {"moves": cost["server_cpu"]["moves"], "per_move_s": cost["server_cpu"]["per_move_s"]},
        "move_cost_other": {"page": OTHER_PAGE, "per_move_s": other["server_cpu"]["per_move_s"]},
        "move_cost_floor": {"page": FLOOR, "per_move_s": floor["server_cpu"]["per_move_s"]},
        "move_cost_tabs": tabs,
        "move_cost_before": before,
        "runs": runs,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"capacity: {time.monotonic() - started:.0f} s")
    sys.exit(code)
