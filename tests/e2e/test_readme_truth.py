"""README says what the code enforces: the configuration's bounds, and operator messages as the code writes them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# String literals continued on the next line are joined, so a message reads as the person sees it.
SOURCES = re.sub(r'"\s*\n\s*f?"', "", "\n".join(path.read_text() for path in (ROOT / "bot").rglob("*.py")))


def row(name: str) -> str:
    found = re.search(rf"^\| `{name}` \|.*$", README, re.M)
    assert found, f"{name} has no row in the configuration table"
    return found.group(0)


def test_the_configuration_table_gives_every_enforced_bound() -> None:
    config = (ROOT / "bot" / "config.py").read_text()
    seconds = re.findall(r'reader\.seconds\("([A-Z_]+)", "[^"]*", minimum=(\d+)\)', config)
    integers = re.findall(r'reader\.integer\("([A-Z_]+)", "[^"]*", minimum=(\d+), maximum=(\d+)\)', config)
    assert ("PAM_REQUEST_TIMEOUT", "60") in seconds and integers
    for name, minimum in seconds:
        assert f"at least {minimum}" in row(name), name
    for name, low, high in integers:
        assert f"{low}–{high}" in row(name), name


def test_operator_messages_in_troubleshooting_are_what_the_code_says() -> None:
    table = README.split("| Operator message |", 1)[1].split("\n\n", 1)[0]
    cells = [line.split("|")[1] for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(cells) >= 5
    for cell in cells:
        text = re.sub(r"`|\b(error|not serving|unhealthy):\s*", "", cell).replace(" / ", " ")
        fragments = re.split(r"[()…]|FILE|HOST|/path|sqlite:///pam\.db", text)  # placeholders
        longest = max((f.strip() for f in fragments), key=len)
        assert len(longest) >= 12 and longest in SOURCES, longest
