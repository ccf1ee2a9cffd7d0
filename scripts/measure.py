"""What every measurement script shares: one percentile, one summary of a sample, the commit and machine measured.

Figures the docs compare come from these, so a 95th percentile means the same on every page: the
linear interpolation between the two nearest ranks (numpy's and `statistics.quantiles`' "inclusive").
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float | None:
    """The `q`-quantile (0..1) of `values` by linear interpolation; None for no values."""
    if len(values) < 2:
        return values[0] if values else None
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def spread(values: list[float], digits: int = 4) -> dict:
    """Count, median, 95th percentile and max, rounded to `digits`; None figures when there are no values."""
    if not values:
        return {"count": 0, "median": None, "p95": None, "max": None}
    figures = statistics.median(values), percentile(values, 0.95), max(values)
    return {"count": len(values)} | {
        k: round(v, digits) for k, v in zip(("median", "p95", "max"), figures, strict=True)
    }


def provenance() -> dict:
    """The commit measured (with "+changes" when the checkout differs from it) and the machine, for a results file."""
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit + ("+changes" if changed else ""), "machine": machine()}


def machine() -> str:
    """The processor, its cores and the load when the measurement started, in words."""
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores {model or platform.machine()}, load average {load:.1f} at the start"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
