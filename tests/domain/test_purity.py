"""The domain core imports only the standard library, pytimeparse and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import bot.domain

DOMAIN = Path(bot.domain.__file__).parent
ALLOWED_THIRD_PARTY = {"pytimeparse"}
MODULES = sorted(DOMAIN.rglob("*.py"))


def imported(tree: ast.AST, package: str) -> list[str]:
    """Top-level names of everything a module imports, relative imports resolved within `package`."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.append(f"{base}.{node.module}" if node.module else base)
            else:
                names.append(node.module or "")
    return names


def allowed(name: str) -> bool:
    top = name.split(".")[0]
    return (top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__"
            or name == "bot.domain" or name.startswith("bot.domain."))


def test_the_walk_finds_the_domain_modules() -> None:
    found = {path.stem for path in MODULES}
    assert {"durations", "names", "policy", "command", "errors"} <= found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_module_imports_only_allowed_things(path: Path) -> None:
    package = ".".join(("bot", "domain", *path.relative_to(DOMAIN).parent.parts))
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [name for name in imported(tree, package) if not allowed(name)]
    assert not bad, f"{path.name} imports {bad}; the domain core may use only the standard library and pytimeparse"


@pytest.mark.parametrize(("source", "ok"), [
    ("import re", True), ("from pytimeparse import parse", True), ("from bot.domain.errors import X", True),
    ("from . import errors", True), ("import boto3", False), ("from slack_sdk import WebClient", False),
    ("from sqlalchemy.orm import Session", False), ("import apscheduler", False), ("from bot.slack import x", False),
    ("from ..services import access", False), ("def f():\n    import boto3", False),
])
def test_the_checker_itself(source: str, ok: bool) -> None:
    names = imported(ast.parse(source), "bot.domain")
    assert all(allowed(name) for name in names) is ok
