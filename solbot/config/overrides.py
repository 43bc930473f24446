"""`--set KEY=VALUE` overrides: dotted profile paths applied to a resolved profile's data."""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from solbot.errors import ConfigError, Problem, UsageError

SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Override:
    """One `KEY=VALUE`: a dotted profile path and the value parsed as a YAML scalar."""

    key: str
    value: Any
    text: str  # as the user typed it, for messages and tables

    @property
    def origin(self) -> str:
        """Where a problem with this value is reported (`--set KEY=VALUE:1:1: ...`)."""
        return f"{self.label}:1"

    @property
    def label(self) -> str:
        return f"--set {self.key}={self.text}"


def parse_override(text: str) -> Override:
    """Read `KEY=VALUE`; VALUE is a YAML scalar (`12`, `1.5`, `true`, `null`, `text`)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise UsageError(f"--set: expected KEY=VALUE with a dotted profile path, found '{text}'")
    return Override(key, parse_scalar(raw.strip(), key), raw.strip())


def parse_scalar(raw: str, key: str) -> Any:
    """A YAML scalar; lists, maps and non-finite numbers are refused."""
    try:
        value = YAML(typ="safe", pure=True).load(raw) if raw else None
    except YAMLError:
        raise UsageError(f"{key}: cannot read '{raw}' as a YAML scalar") from None
    if not isinstance(value, SCALARS):
        raise UsageError(
            f"{key}: expected a single value (number, text, true/false), found '{raw}'"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{key}: expected a finite number, found '{raw}'")
    return value


def apply_overrides(
    data: Mapping[str, Any],
    known: Mapping[str, Any],
    overrides: Sequence[Override],
    origins: dict[str, str],
) -> dict[str, Any]:
    """`data` with every override set; a path absent from `known` (the validated profile,
    defaults included) is refused with a did-you-mean. Origins point at the `--set`."""
    out = copy.deepcopy(dict(data))
    problems = [problem for item in overrides if (problem := _check_path(known, item))]
    if problems:
        raise ConfigError(problems)
    for item in overrides:
        parts = item.key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else child
                node[part] = child
            node = child
        node[parts[-1]] = item.value
        origins[item.key] = item.origin
    return out


def _check_path(known: Mapping[str, Any], item: Override) -> Problem | None:
    node: Any = known
    walked: list[str] = []
    for part in item.key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            choices = sorted(str(k) for k in node) if isinstance(node, Mapping) else []
            hint = difflib.get_close_matches(part, choices, n=1)
            where = ".".join(walked) or "the profile"
            message = f"unknown key '{part}' in {where}"
            message += f" (did you mean '{'.'.join([*walked, hint[0]])}'?)" if hint else ""
            if not isinstance(node, Mapping):
                message = f"'{'.'.join(walked)}' is a value, not a section"
            return Problem(item.label, 1, 1, item.key, message)
        walked.append(part)
        node = node[part]
    if isinstance(node, Mapping):
        message = f"'{item.key}' is a section; set one of its keys"
        return Problem(item.label, 1, 1, item.key, message)
    return None
