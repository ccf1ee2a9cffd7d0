"""Train the specialists: one unet per cell, by the shipped unet's own commands plus `--noise KIND --level L`.

    python -m scripts.train_specialists --max-minutes 170            # run or continue them, two at a time
    python -m scripts.train_specialists --dry-run                     # print what would run next, run nothing

The commands are read from `weights/unet.pt` (its `--init` chain, then its own command), so a specialist is
trained exactly as the shipped model was: same stages, same steps, same settings; only the noise, the
thread count (one per job) and the output files differ. Stage N of cell KIND LEVEL writes
`FOLDER-stageN/unet-KIND-LEVEL.pt`; the last stage writes `FOLDER/unet-KIND-LEVEL.pt`, which is what
`python -m denoiser benchmark --specialists FOLDER` compares with the blind unet.

Every stage is longer than a sitting, so the script is meant to be run again and again: each time it picks
up where the files say it stopped (an unfinished stage leaves `OUT.resume` beside its output and is
resumed; a finished stage starts the next one) and stops starting work when `--max-minutes` is spent.
Each stage's log is appended to OUT.log (not committed).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from denoiser.cli.training import TIME_LIMIT_EXIT

ROOT = Path(__file__).resolve().parent.parent
PREFIX = ["python", "-m", "denoiser"]
# Tracked in git, unlike runs/: a cell takes longer than a sitting and a machine does not outlive one, so an
# unfinished stage's .resume file is committed and the next sitting continues from it.
FOLDER = Path("weights/specialists")


def shipped_commands(weights_dir: Path) -> list[list[str]]:
    """The argv (after `python -m denoiser`) of each stage that made the shipped unet, first stage first."""
    from denoiser.weights import pretrained_meta

    meta = pretrained_meta("unet", weights_dir)
    commands = []
    for run in [*meta.get("init_chain", []), meta]:
        argv = shlex.split(run.get("command", ""))
        if argv[:4] != [*PREFIX, "train"]:
            raise ValueError(f"weights/unet.pt records a stage that is not a train command: {run.get('command')!r}")
        commands.append(argv[3:])
    return commands


def _set(argv: list[str], flag: str, value: str | None) -> list[str]:
    """`argv` with `flag` given `value` (replaced if present, appended if not); None removes the flag.
    A flag's values are the tokens up to the next `--option` (`--noise-range` takes three)."""
    out, dropping = [], False
    for token in argv:
        dropping = token == flag or (dropping and not token.startswith("--"))
        if not dropping:
            out.append(token)
    return out if value is None else [*out, flag, value]


def stage_outputs(folder: Path, kind: str, level: float, stages: int) -> list[Path]:
    """Where each stage of cell (kind, level) writes its checkpoint; the last one is the specialist."""
    name = f"unet-{kind}-{level:g}.pt"
    return [folder.with_name(f"{folder.name}-stage{i + 1}") / name for i in range(stages - 1)] + [folder / name]


def stage_commands(commands: list[list[str]], folder: Path, kind: str, level: float) -> list[list[str]]:
    """The shipped stages rewritten for one cell: its noise, one thread, and its own --out and --init files."""
    outs = stage_outputs(folder, kind, level, len(commands))
    staged = []
    for i, argv in enumerate(commands):
        argv = _set(_set(argv, "--noise-range", None), "--max-minutes", None)
        argv = _set(_set(_set(argv, "--noise", kind), "--level", f"{level:g}"), "--threads", "1")
        argv = _set(argv, "--out", str(outs[i]))
        staged.append(argv if i == 0 else _set(argv, "--init", str(outs[i - 1])))
    return staged


def next_command(staged: list[list[str]]) -> list[str] | None:
    """What a cell runs next, read from its files: resume an unfinished stage, start the first stage not yet
    made, or None when the last stage is finished."""
    from denoiser.cli import resume_path
    from denoiser.weights import load_checkpoint

    for argv in staged:
        out = Path(argv[argv.index("--out") + 1])
        if resume_path(out).exists():
            return ["resume", str(resume_path(out)), "--threads", "1"]
        if not out.exists():
            return argv
        if load_checkpoint(out)[2].get("stopped_early"):  # its .resume is gone: the next stage would start wrong
            raise ValueError(f"{out} is unfinished and has no .resume beside it; delete it to train that stage again")
    return None


def run_cell(staged: list[list[str]], deadline: float, dry_run: bool, log=print) -> None:
    """Run the cell's stages one after another until it is finished or the deadline passes."""
    while True:
        try:
            argv = next_command(staged)
        except ValueError as err:
            log(f"stopped: {err}")
            return
        if argv is None:
            break
        minutes = (deadline - time.monotonic()) / 60
        if dry_run or minutes < 1:
            log(("next: " if dry_run else "out of time; next: ") + shlex.join([*PREFIX, *argv]))
            return
        argv = [*argv, "--max-minutes", f"{minutes:.1f}"]
        out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path(argv[1]).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        log("running: " + shlex.join([*PREFIX, *argv]))
        with open(out.with_suffix(".log"), "a") as stream:
            code = subprocess.call([sys.executable, "-m", "denoiser", *argv], cwd=ROOT, stdout=stream, stderr=stream)
        if code == TIME_LIMIT_EXIT:  # --max-minutes stopped it: the next sitting continues it
            log(f"out of time; continue with: {shlex.join([*PREFIX, 'resume', str(out) + '.resume'])}")
            return
        if code != 0:
            log(f"failed with exit code {code}; see {out.with_suffix('.log')}")
            return
    log(f"finished: {staged[-1][staged[-1].index('--out') + 1]}")


def main(argv: list[str] | None = None) -> int:
    from denoiser.bench.targets import SPECIALIST_CELLS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=FOLDER, help="where the specialists go")
    parser.add_argument("--weights-dir", type=Path, default=ROOT / "weights", help="holds the shipped unet.pt")
    parser.add_argument("--jobs", type=int, default=2, help="cells trained at once, one thread each")
    parser.add_argument("--max-minutes", type=float, default=600.0, help="start no work after this many minutes")
    parser.add_argument("--dry-run", action="store_true", help="print each cell's next command and run nothing")
    parser.add_argument(
        "--cell", nargs=2, action="append", metavar=("KIND", "LEVEL"), help="only this cell (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    cells = [(kind, float(level)) for kind, level in args.cell] if args.cell else list(SPECIALIST_CELLS)
    commands = shipped_commands(args.weights_dir)
    deadline = time.monotonic() + 60 * args.max_minutes
    with ThreadPoolExecutor(args.jobs) as pool:
        jobs = [
            pool.submit(
                run_cell,
                stage_commands(commands, args.folder, kind, level),
                deadline,
                args.dry_run,
                lambda text, cell=f"{kind} {level:g}": print(f"[{cell}] {text}", flush=True),
            )
            for kind, level in cells
        ]
        for job in jobs:
            job.result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
