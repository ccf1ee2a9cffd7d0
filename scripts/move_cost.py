"""The server's CPU per slider move, page by page, each against the first page and a trivial page of the same run.

One visitor (the protocol-level load generator, `scripts.loadgen`) moves the noise slider 60 times,
0.3 s apart, on: a trivial page (`scripts/pages/floor.py`: one slider, one figure), the page a new
visitor opens, another digit (whose results are computed on the move, where the first page's are
computed when the server starts), the first page with each other tab open, and the levels tab on
another digit; with `--before REF`, the first page as an older commit served it. Each page is one
fresh server. A machine's speed moves between runs by more than the differences measured here, so
the pages are measured in turns, `--rounds` times, and each figure is the median of its rounds; a
ratio compares figures of the same run only.

    python -m scripts.move_cost --out docs/load/move_cost --before ba3ee19

Writes results.json and results.md to --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

from denoiser.bench.report import markdown_table
from scripts.capacity import FLOOR, OTHER_PAGE, OTHER_TABS, ROOT, loadgen, move_cost_before
from scripts.measure import provenance

MOVES = ["--moves", "60", "--think", "0.3", "0.3"]
FIRST, TRIVIAL = "the first page", "a trivial page"
PAGES = {  # what the table calls a page -> the load generator's arguments for it
    TRIVIAL: ["--script", FLOOR],
    FIRST: [],
    "another digit": ["--page", OTHER_PAGE],
    **{f"{tab} tab": ["--tab", tab] for tab in OTHER_TABS},
    # Its chart is made on every new level, and its curves once per digit: on another digit, both are new.
    f"{OTHER_TABS[0]} tab, another digit": ["--page", OTHER_PAGE, "--tab", OTHER_TABS[0]],
}


def measure(out: Path, rounds: int, before: tuple[str, ...] = ()) -> tuple[dict[str, list[float]], dict[str, list]]:
    """Every page's server CPU per move (s) and the messages a move sent it (median), one figure per round, the
    pages taken in turns; with `before`, the first page as each of those git commits served it, in the same
    turns (`before_name` names them)."""
    costs: dict[str, list[float]] = {page: [] for page in [*PAGES, *map(before_name, before)]}
    messages: dict[str, list] = {page: [] for page in costs}
    for turn in range(1, rounds + 1):
        for page, extra in PAGES.items():
            folder = out / "runs" / f"{turn}-{page.replace(' ', '-').replace(',', '')}"
            run = loadgen(folder, 1, 0, None, None, [*MOVES, *extra])
            if not run["passed"]:
                raise RuntimeError(f"{page}, round {turn}: the load generator's run failed ({run['errors'][:3]})")
            costs[page].append(run["server_cpu"]["per_move_s"])
            messages[page].append(run.get("messages_per_move"))
        for ref in before:
            then = move_cost_before(ref, out / "runs" / f"{turn}-at-{ref}")
            costs[before_name(ref)].append(then["per_move_s"])
            messages[before_name(ref)].append(then.get("messages"))
    return costs, messages


def before_name(ref: str) -> str:
    """How the table names the first page as git commit `ref` served it."""
    return f"{FIRST} at commit {ref}"


def dearest(medians: dict[str, float]) -> str:
    """The page whose move costs most, of the pages other than the first (this commit's or an older one's)."""
    others = [page for page in medians if page in PAGES and page not in (FIRST, TRIVIAL)]
    return max(others, key=medians.__getitem__)


def medians(costs: dict[str, list[float]]) -> dict[str, float]:
    """Each page's median over its rounds."""
    return {page: statistics.median(rounds) for page, rounds in costs.items()}


def _count(rounds: list | None) -> str:
    """The messages a move sent, the median of the rounds that counted them ("" if none did)."""
    counted = [n for n in rounds or [] if n is not None]
    return f"{statistics.median(counted):g}" if counted else ""


def markdown(results: dict) -> str:
    """A table: each page's CPU per move, its rounds, and how it compares with the first and the trivial page."""
    medians = results["median_s"]
    messages = results.get("messages", {})
    rows = [
        [page, f"{1000 * medians[page]:.1f}", " / ".join(f"{1000 * c:.1f}" for c in costs),
         f"{medians[page] / medians[FIRST]:.2f}", f"{medians[page] / medians[TRIVIAL]:.2f}", _count(messages.get(page))]
        for page, costs in results["rounds_s"].items()
    ]  # fmt: skip
    header = ["page", "ms per move (median)", "each round", "x the first page", "x a trivial page", "messages per move"]
    lines = [f"### Server CPU per slider move, {results['timestamp']}, commit {results['commit']} on "
             f"{results['machine']}", "", f"`{results['command']}`: one visitor, 60 moves 0.3 s apart, "
             f"{results['rounds']} rounds with the pages in turns.", ""]  # fmt: skip
    lines += markdown_table(header, rows, text=(0, 2))
    worst = dearest(medians)
    lines += ["", f"Dearest page but the first: {worst}, {medians[worst] / medians[FIRST]:.2f} x the first page."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times every page is measured, in turns")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load" / "move_cost")
    parser.add_argument("--before", metavar="GIT_REF", nargs="+", default=[],
                        help="also measure the first page as these commits served it, in the same turns")  # fmt: skip
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; got {args.rounds}")
    args.out.mkdir(parents=True, exist_ok=True)
    costs, messages = measure(args.out, args.rounds, tuple(args.before))
    results = {
        "command": " ".join(["python -m scripts.move_cost", *(argv if argv is not None else sys.argv[1:])]),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **provenance(),
        "rounds": args.rounds,
        "rounds_s": costs,
        "median_s": medians(costs),
        "messages": messages,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
