"""Peak memory (RSS) of `import torch` in a fresh interpreter: the floor of every replica's memory.

    python -m deploy.import_memory [--python PATH]

Each replica is a process of its own that imports torch, so this figure times the replica count is
memory a host needs before a single visitor arrives.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys

PROBE = "import torch; print(torch.__version__)"


def import_peak_mb(python: str) -> tuple[str, float]:
    """(torch's version, peak RSS in MB) of `python -c "import torch"`; ru_maxrss is in KiB on Linux."""
    version = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, check=True).stdout.strip()
    return version, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.import_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter to measure (default: this one)")
    args = parser.parse_args(argv)
    version, peak = import_peak_mb(args.python)
    print(f"import torch {version}: peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
