"""The configuration file: YAML read strictly (no duplicate keys), checked against the JSON Schema, and written."""

from __future__ import annotations

from typing import Any

import yaml
from jsonschema import Draft202012Validator

from bot.domain.config_schema import SCHEMA, VERSION
from bot.services.account_spec import AccountSpec
from bot.services.config_plan import DesiredConfig, ResourceConfig, account_fields, resource_fields

HEADER = ("# pam-bot configuration: `pam-bot apply -f FILE` makes pam-bot match it (`--dry-run` shows the plan);\n"
          "# `pam-bot schema` prints its JSON Schema. Options left out take their defaults.\n")
_DEFAULTS = {"description": "", "source_identity": False, "approvers": [], "approver_group": None,
             "approvals_required": 1, "channel": None, "auto_approve": False, "auto_approve_daily_limit": None,
             "require_reason": False, "revocation": False, "requester_group": None, "requesters": [],
             "break_glass": False, "max_extensions": 0, "extend_without_approval": False, "escalate_to": None}


class FileError(Exception):
    """The file cannot be used; `problems` lists every reason, each one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML would keep the last silently)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice",
                                                    key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(text: str, source: str = "the file") -> DesiredConfig:
    """Parse and check a configuration file; FileError with every problem the schema finds."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise FileError([f"{source} is not valid YAML: {' '.join(str(error).split())}"]) from error
    problems = [f"{source}: {_where(e.absolute_path)}: {e.message}"
                for e in sorted(Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))]
    if problems:
        raise FileError(problems)
    return _desired(data)


def _where(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "(top level)"


def _desired(data: dict[str, Any]) -> DesiredConfig:
    resources = []
    for resource in data.get("resources") or ():
        accounts = tuple(_account(resource["name"], a) for a in resource.get("accounts") or ())
        resources.append(ResourceConfig(resource["name"], resource["role_arn"], resource.get("description", ""),
                                        bool(resource.get("source_identity", False)), accounts))
    return DesiredConfig(tuple(sorted(data.get("admins") or ())), tuple(resources))


def _account(resource: str, said: dict[str, Any]) -> AccountSpec:
    requesters = said.get("requesters") or []
    return AccountSpec(
        resource=resource, name=said["name"], role_arn=said["role_arn"], duration=said["duration"],
        description=said.get("description", ""), approver_ids=tuple(said.get("approvers") or ()),
        approver_group=said.get("approver_group"), approvals_required=said.get("approvals_required", 1),
        approval_channel=said.get("channel"), auto_approve=said.get("auto_approve", False),
        auto_approve_daily_limit=said.get("auto_approve_daily_limit"),
        require_reason=said.get("require_reason", False), revocation_enabled=said.get("revocation", False),
        requesters_everyone=requesters == "everyone",
        requester_ids=() if requesters == "everyone" else tuple(requesters),
        requester_group=said.get("requester_group"), break_glass=said.get("break_glass", False),
        max_extensions=said.get("max_extensions", 0),
        extend_without_approval=said.get("extend_without_approval", False), escalate_to=said.get("escalate_to"))


def dump(config: DesiredConfig) -> str:
    """The configuration as a file `load` reads back to the same values (defaults left out)."""
    data: dict[str, Any] = {"version": VERSION, "admins": list(config.admins), "resources": []}
    for resource in config.resources:
        entry = {"name": resource.name, **_trimmed(resource_fields(resource))}
        entry["accounts"] = [{"name": a.name, **_trimmed(account_fields(a))} for a in resource.accounts]
        data["resources"].append(entry)
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def _trimmed(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in _DEFAULTS or v != _DEFAULTS[k]}
