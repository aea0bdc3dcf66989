"""The house's layout: wings without import cycles, a CLI without the demo, a product without the sandbox."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "storage", "sandbox")
# The one import allowed to run against the grain, and only inside a function: `pam-bot demo` loads the demo.
LAZY_ONLY = {("bot.cli", "bot.demo")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES if (ROOT / package).is_dir()
            for path in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path, name: str) -> list[tuple[str, bool]]:
    """(imported module, at import time?) for every import in a module, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lazy = {id(node) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(function)}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) not in lazy) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package.rsplit(".", node.level - 1)[0], *([node.module] if node.module else [])])
            found += [(base, id(node) not in lazy)]
            found += [(f"{base}.{alias.name}", id(node) not in lazy) for alias in node.names]
    return found


def wing(name: str) -> str:
    """`bot.slack.home` → `bot.slack`; a loose module (`bot.config`) is a wing of its own; `storage.db` → `storage`."""
    parts = name.split(".")
    if parts[0] != "bot" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:2])


def wing_edges(*, at_import_time_only: bool = False) -> dict[tuple[str, str], list[str]]:
    known = modules()
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in known.items():
        for target, eager in imports(path, name):
            if target not in known or (at_import_time_only and not eager):
                continue
            edge = (wing(name), wing(target))
            if edge[0] != edge[1] and not (edge in LAZY_ONLY and not eager):
                edges.setdefault(edge, []).append(f"{name} → {target}")
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target == path[0]:
                found.append([*path, target])
            elif target not in path and target > path[0]:  # each cycle once, from its smallest wing
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_the_walk_finds_the_wings() -> None:
    wings = {wing(name) for name in modules()}
    assert {"bot.domain", "bot.services", "bot.slack", "bot.aws", "bot.runtime", "bot.cli", "bot.demo",
            "storage", "sandbox"} <= wings


def test_no_import_cycle_between_the_wings() -> None:
    edges = wing_edges()
    found = cycles(edges)
    assert not found, "import cycles between wings: " + "; ".join(
        " → ".join(cycle) + " (" + ", ".join(edges[(cycle[0], cycle[1])][:2]) + ")" for cycle in found)


def test_no_import_cycle_between_modules() -> None:
    """Imports inside functions count too (serve ↔ gunicorn_conf was one); only `pam-bot demo`'s lazy import may
    point back."""
    known = modules()
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in known.items():
        for target, eager in imports(path, name):
            inside_own_package = name.startswith(f"{target}.")
            if target in known and target != name and not inside_own_package \
                    and not ((wing(name), wing(target)) in LAZY_ONLY and not eager):
                edges.setdefault((name, target), [])
    assert not cycles(edges)


def test_the_production_cli_never_imports_the_demo_at_import_time() -> None:
    eager = wing_edges(at_import_time_only=True)
    assert ("bot.cli", "bot.demo") not in eager and ("bot.cli", "sandbox") not in eager


def test_importing_the_cli_and_building_its_parser_loads_neither_the_demo_nor_the_sandbox() -> None:
    code = ("import sys, bot.cli; bot.cli.parser(); "
            "print(sorted(m for m in sys.modules if m.startswith(('bot.demo', 'bot.sandbox', 'sandbox'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


@pytest.mark.parametrize("name", sorted(name for name in modules() if name.startswith("bot.")
                                        and not name.startswith("bot.demo")))
def test_no_product_module_imports_the_sandbox(name: str) -> None:
    bad = [target for target, _ in imports(modules()[name], name)
           if target.split(".")[0] == "sandbox" or target.startswith("bot.sandbox")]
    assert not bad and not name.startswith("bot.sandbox"), f"{name} is product code and imports {bad}"


@pytest.mark.parametrize("name", sorted(name for name in modules() if name.startswith("bot.slack")))
def test_no_slack_module_imports_storage(name: str) -> None:
    """Slack renderers and listeners see read models from the services, never ORM rows or repositories."""
    bad = [target for target, _ in imports(modules()[name], name) if target.split(".")[0] == "storage"]
    assert not bad, f"{name} imports {bad}: take read models (bot.services.read_models) from a service instead"


def test_the_read_models_load_no_storage() -> None:
    code = "import sys, bot.services.read_models; print(sorted(m for m in sys.modules if m.startswith('storage')))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_the_production_image_gets_no_sandbox() -> None:
    copied = [line for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
              if line.split()[:1] == ["COPY"]]
    sources = [source for line in copied for source in line.split()[1:-1] if not source.startswith("--")]
    assert sources and "." not in sources and "sandbox" not in sources, copied
    inside = [path for source in sources if (ROOT / source).is_dir() for path in (ROOT / source).rglob("sandbox")
              if any(path.rglob("*.py"))]  # a folder of stale bytecode left by a move is not code
    assert not inside, f"the image copies {inside}"


@pytest.mark.parametrize(("edges", "expected"), [
    ({("a", "b"): [], ("b", "c"): []}, []),
    ({("a", "b"): [], ("b", "a"): []}, [["a", "b", "a"]]),
    ({("a", "b"): [], ("b", "c"): [], ("c", "a"): []}, [["a", "b", "c", "a"]]),
])
def test_the_cycle_finder_itself(edges: dict[tuple[str, str], list[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_bot_has_no_loose_modules_beyond_its_entry_points_and_settings() -> None:
    """Everything else lives in a wing (domain, services, aws, slack, runtime, cli, demo, sinks). `http_pool`, the
    kept-open connections the Slack and AWS adapters share, is cross-cutting like `logs`: neither adapter may
    import the other."""
    loose = {path.stem for path in (ROOT / "bot").glob("*.py")}
    assert loose <= {"__init__", "__main__", "config", "logs", "clock", "http_pool"}, sorted(loose)
