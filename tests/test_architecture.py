"""The codebase's three rooms stay apart: what each module may import, read from the source itself.

The library (`denoiser/`) is what `import denoiser` and the command line need; the research bench
(`denoiser/bench/`) measures it; the web app (`webapp/`, started by `app.py`) serves it. The
library never imports the app, streamlit or the bench (but for the command line's `benchmark`),
plotly lives in the bench and the app only, the production supervisor (`deploy/`) never imports the
measurement scripts, and no product modules import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("denoiser", "webapp", "deploy")
MAX_LINES, MAX_FUNCTION_LINES = 400, 45


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_files() -> list[Path]:
    return [*sorted(p for top in PRODUCT for p in (ROOT / top).rglob("*.py")), ROOT / "app.py"]


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as absolute dotted names."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def graph() -> dict[str, set[str]]:
    """Product module -> the product modules it imports."""
    names = {module_name(p): p for p in product_files()}
    return {name: {m for m in imports(path) if m in names and m != name} for name, path in names.items()}


def test_no_product_modules_import_each_other_in_a_circle():
    edges = graph()
    # A package's __init__ re-exporting its modules is not a circle: leave packages out of the search.
    packages = {module_name(p) for p in product_files() if p.name == "__init__.py"}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(edges[name] - packages):
            assert state.get(nxt) != "open", f"import circle: {' -> '.join([*path, name, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, name])
        state[name] = "done"

    for name in sorted(set(edges) - packages):
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("path", [p for p in product_files() if p.parts[len(ROOT.parts)] == "denoiser"],
                         ids=lambda p: str(p.relative_to(ROOT)))  # fmt: skip
def test_the_library_imports_neither_the_app_nor_streamlit_nor_plotly_outside_the_bench(path):
    found = imports(path)
    assert not {m for m in found if m.split(".")[0] in ("webapp", "streamlit", "app", "scripts")}
    if "bench" not in path.parts:
        assert not {m for m in found if m.split(".")[0] == "plotly"}
        allowed = path.parts[-2:] == ("cli", "quality.py")  # `python -m denoiser benchmark`
        assert allowed or not {m for m in found if m.startswith("denoiser.bench")}


def test_deploy_imports_nothing_from_the_scripts():
    for path in (ROOT / "deploy").rglob("*.py"):
        assert not {m for m in imports(path) if m.split(".")[0] == "scripts"}, path


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_product_files_and_their_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES, f"{node.name} in {path.name}"
