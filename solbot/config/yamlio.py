"""YAML loading with ruamel.yaml that keeps where every key and value came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from solbot.errors import ConfigError, Problem

Location = tuple[int, int]  # 1-based line and column
PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML document as plain Python data plus the position of every node."""

    path: str
    data: Any
    positions: dict[PathKey, Location]
    lines: tuple[str, ...] = ()

    def where(self, key: PathKey) -> Location:
        """Position of the deepest known node on `key` (falls back to the document start)."""
        for end in range(len(key), -1, -1):
            found = self.positions.get(key[:end])
            if found is not None:
                return found
        return (1, 1)

    def problem(self, key: PathKey, message: str) -> Problem:
        line, column = self.where(key)
        return Problem(self.path, line, column, dotted(key), message)


def dotted(key: PathKey) -> str:
    """Render a key path as `a.b[2].c`."""
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_yaml(path: Path, display_path: str | None = None) -> LoadedYaml:
    """Parse one YAML file; syntax errors become a ConfigError with the file position."""
    shown = display_path or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem(shown, 1, 1, "", "file not found")) from None
    except OSError as error:
        raise ConfigError(Problem(shown, 1, 1, "", f"cannot read file: {error}")) from None
    return parse_yaml_text(text, shown)


def parse_yaml_text(text: str, shown: str) -> LoadedYaml:
    """Parse YAML text that came from `shown` (a path used in messages)."""
    try:
        node = _yaml().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else 1
        message = (error.problem or error.context or "invalid YAML").strip()
        raise ConfigError(Problem(shown, line, column, "", f"invalid YAML: {message}")) from None
    except Exception as error:  # ruamel raises several unrelated types for duplicate keys etc.
        raise ConfigError(Problem(shown, 1, 1, "", f"invalid YAML: {error}")) from None
    positions: dict[PathKey, Location] = {(): (1, 1)}
    data = _plain(node, (), positions)
    return LoadedYaml(shown, data, positions, tuple(text.splitlines()))


def value_start(loaded: LoadedYaml, key: PathKey) -> Location:
    """Where a scalar's text starts, stepping over an opening quote or a block indicator."""
    line, column = loaded.where(key)
    if 0 < line <= len(loaded.lines):
        text = loaded.lines[line - 1]
        char = text[column - 1 : column]
        if char in ("'", '"'):
            return line, column + 1
        if char in ("|", ">") and line < len(loaded.lines):
            following = loaded.lines[line]
            return line + 1, len(following) - len(following.lstrip()) + 1
    return line, column


def _plain(node: Any, key: PathKey, positions: dict[PathKey, Location]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for name, value in node.items():
            child = (*key, str(name))
            try:
                line, column = node.lc.value(name)
            except (KeyError, TypeError):
                line, column = node.lc.key(name)
            if not isinstance(value, CommentedMap | CommentedSeq):
                positions[child] = (line + 1, column + 1)
            else:
                key_line, key_column = node.lc.key(name)
                positions[child] = (key_line + 1, key_column + 1)
            out[str(name)] = _plain(value, child, positions)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            child = (*key, index)
            line, column = node.lc.item(index)
            positions[child] = (line + 1, column + 1)
            items.append(_plain(value, child, positions))
        return items
    if hasattr(node, "value") and type(node).__module__.startswith("ruamel"):
        return _scalar(node)
    return node


def _scalar(node: Any) -> Any:
    # ruamel wraps some scalars (ScalarFloat, ScalarBoolean, quoted strings); unwrap to builtins.
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node
