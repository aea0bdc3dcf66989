"""`/pam`'s dispatch table: every command the parser can return has exactly one handler, and nothing else does."""

from __future__ import annotations

import ast
import inspect
from typing import get_args

from bot.domain import command as cmd
from bot.slack.listeners import commands


def test_every_parsed_command_type_has_exactly_one_handler() -> None:
    parsed_types = set(get_args(cmd.Command))
    assert parsed_types, "bot.domain.command.Command lists the parsed command types"
    assert set(commands.HANDLERS) == parsed_types
    # A dict literal keeps the last of two equal keys: read the table's source to see each type named once.
    table = next(node for node in ast.walk(ast.parse(inspect.getsource(commands)))
                 if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "HANDLERS")
    assert isinstance(table.value, ast.Dict)
    keys = [ast.unparse(key) for key in table.value.keys if key is not None]
    assert len(keys) == len(set(keys)) == len(parsed_types)


def test_every_parsed_command_reaches_its_own_handler() -> None:
    samples = ["help", "list", "access prod-aws readonly 30m INC-1", "break-glass prod-aws readonly 15m fire",
               "sessions", "revoke S-7KQ2MX", "cancel R-7KQ2MX", "admin", "setup", "audit"]
    parsed = [cmd.parse_command(text) for text in samples]
    assert {type(p) for p in parsed} == set(get_args(cmd.Command))
    assert len({commands.HANDLERS[type(p)] for p in parsed}) == len(parsed)
