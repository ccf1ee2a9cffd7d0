"""scripts/update_readme.py: the generated pages hold the committed results, README's headline table is read
from the results files, every link in the docs resolves, and weights/README.md gives every command that made
a checkpoint, with its time."""

import re
import shutil
from pathlib import Path

import pytest

from scripts.update_readme import HEADLINES, PAGES, ROOT, _commands, _wall_time, headline, render, splice

LINK = re.compile(r"\]\(([^)\s]+)\)")  # the target of a markdown link or image

FIRST = {"command": "python -m denoiser train --epochs 450 --out runs/a.pt", "seconds": 100.0, "steps": 10}


def test_a_continued_run_lists_the_first_command_before_its_own_and_adds_their_times():
    meta = {"command": "python -m denoiser train --init runs/a.pt --out runs/b.pt", "seconds": 50.5,
            "init_chain": [FIRST]}  # fmt: skip
    assert _commands(meta) == [FIRST["command"], meta["command"]]
    assert _wall_time(meta) == "100.0 s + 50.5 s = 150.5 s"


def test_a_single_run_shows_its_own_command_and_time():
    assert _commands(FIRST) == [FIRST["command"]] == _commands({**FIRST, "sittings": None})
    assert _wall_time(FIRST) == "100.0 s"


def test_a_run_split_over_sittings_says_how_it_was_finished():
    split = {**FIRST, "command": FIRST["command"] + " --max-minutes 60", "sittings": 3}
    meta = {"command": "python -m denoiser train --init runs/a.pt --out runs/b.pt", "seconds": 5.0,
            "init_chain": [split]}  # fmt: skip
    assert _commands(meta) == [
        split["command"],
        "python -m denoiser resume runs/a.pt.resume  # until it finishes: 3 sittings",
        meta["command"],
    ]


@pytest.mark.parametrize("path", [*PAGES, "README.md", "weights/README.md"])
def test_running_it_on_the_committed_files_changes_nothing(path):
    """Every page it writes is committed as it would write it: no figure in them was edited by hand."""
    assert render(ROOT)[path] == (ROOT / path).read_text()


def test_each_docs_page_holds_its_generated_tables():
    for page, sections in PAGES.items():
        text = (ROOT / page).read_text()
        for name, (table, _) in sections.items():
            block = text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]
            rows = [line for line in (ROOT / table).read_text().splitlines() if line.startswith("|")]
            assert rows and all(row in block for row in rows), f"{page}: {name} lacks {table}'s table"


def test_the_readme_headline_links_each_figure_to_the_page_it_comes_from(tmp_path):
    """Only results files that exist give rows; a missing one (a report not made yet) leaves its rows out."""
    results, page, _ = HEADLINES[0]
    (tmp_path / results).parent.mkdir(parents=True)
    shutil.copy(ROOT / results, tmp_path / results)
    table = headline(tmp_path)
    assert f"]({page})" in table
    assert all(f"]({other})" not in table for _, other, _ in HEADLINES[1:])
    assert "No results yet" in headline(tmp_path / "empty")


def test_a_page_without_its_markers_is_refused():
    with pytest.raises(ValueError, match="speed:start"):
        splice("# A page\n", "speed", "| a | b |")


def test_the_readme_is_a_short_page_without_long_tables():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    table_rows, longest = 0, 0
    for line in lines:
        table_rows = table_rows + 1 if line.startswith("|") else 0
        longest = max(longest, table_rows)
    assert longest <= 15 + 2  # header and separator lines besides 15 rows


@pytest.mark.parametrize(
    "page", [Path("README.md"), *sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*.md"))], ids=str
)
def test_every_relative_link_points_at_a_file_that_exists(page):
    targets = LINK.findall((ROOT / page).read_text())
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    missing = [t for t in local if not ((ROOT / page).parent / t).exists()]
    assert not missing, f"{page} links to files that do not exist: {missing}"
