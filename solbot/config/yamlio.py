"""YAML loading with ruamel.yaml that keeps where every key and value came from."""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.reader import ReaderError

from solbot.errors import ConfigError, InvalidInput, Problem

Location = tuple[int, int]  # 1-based line and column

# Profile and rule files are a few KB; these caps turn hostile files (a 50 MB file, a "billion
# laughs" alias bomb, thousand-level nesting) into a located refusal instead of a hang or a crash.
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 50_000  # after alias expansion
MAX_DEPTH = 64
_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    _CORE + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
) | {_CORE + "merge"}
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


class _CheckedConstructor(RoundTripConstructor):
    """Checks the composed node tree (tags, depth, alias expansion) before building anything."""

    source = "?"

    def construct_document(self, node: Any) -> Any:
        _check_nodes(node, self.source)
        return super().construct_document(node)


def _yaml(shown: str = "?") -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Constructor = _CheckedConstructor
    constructor = yaml.constructor
    assert isinstance(constructor, _CheckedConstructor)
    constructor.source = shown
    return yaml


def load_yaml(path: Path, display_path: str | None = None) -> LoadedYaml:
    """Parse one YAML file; syntax errors become a ConfigError with the file position."""
    shown = display_path or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            message = f"file is {size:,} bytes; profile and rule files are limited to "
            raise ConfigError(Problem(shown, 1, 1, "", message + f"{MAX_FILE_BYTES:,} bytes"))
        with path.open("rb") as handle:  # read no more than the cap even if the file grows
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(Problem(shown, 1, 1, "", "file not found")) from None
    except OSError as error:
        raise ConfigError(Problem(shown, 1, 1, "", f"cannot read file: {error}")) from None
    if len(raw) > MAX_FILE_BYTES:
        message = f"file is over {MAX_FILE_BYTES:,} bytes, the limit for profile and rule files"
        raise ConfigError(Problem(shown, 1, 1, "", message))
    return parse_yaml_text(decode_text(raw, shown), shown)


def decode_text(raw: bytes, shown: str, error_type: type[InvalidInput] = ConfigError) -> str:
    """UTF-8 text of a file; anything else is refused with the offending byte's position."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = "file is UTF-16 (byte-order mark at byte offset 0); save it as UTF-8"
        raise error_type(Problem(shown, 1, 1, "", message))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
        message = f"not UTF-8 text: byte 0x{raw[offset]:02x} at byte offset {offset}"
        raise error_type(Problem(shown, line, column, "", message)) from None


# Parsed documents by their text: ruamel's pure-Python scanner takes 10-50 ms per profile or rule
# file, and `rules check`, `sweep` and `compare` read the same files many times in one process.
# The key is the whole text, so an edited file is parsed afresh; only successful parses are kept.
_PARSED: OrderedDict[str, LoadedYaml] = OrderedDict()
_PARSED_MAX = 64


def parse_yaml_text(text: str, shown: str) -> LoadedYaml:
    """Parse YAML text that came from `shown` (a path used in messages).

    The same text parses once per process; each caller gets its own copy of the data."""
    cached = _PARSED.get(text)
    if cached is None:
        cached = _parse_yaml_text(text, shown)
        _PARSED[text] = cached
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(text)
    return LoadedYaml(shown, copy.deepcopy(cached.data), dict(cached.positions), cached.lines)


def _parse_yaml_text(text: str, shown: str) -> LoadedYaml:
    if len(text) > MAX_FILE_BYTES:
        message = (
            f"text is over {MAX_FILE_BYTES:,} characters, the limit for profile and rule files"
        )
        raise ConfigError(Problem(shown, 1, 1, "", message))
    _check_flow_depth(text, shown)
    try:
        node = _yaml(shown).load(text)
    except ConfigError:
        raise
    except DuplicateKeyError as error:
        raise ConfigError(_duplicate_key(error, shown)) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else 1
        message = (error.problem or error.context or "invalid YAML").strip()
        raise ConfigError(Problem(shown, line, column, "", f"invalid YAML: {message}")) from None
    except ReaderError as error:
        line, column = _text_location(text, error.position)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"invalid YAML: character #x{code:04x} is not allowed in YAML text"
        raise ConfigError(Problem(shown, line, column, "", message)) from None
    except RecursionError:
        message = f"invalid YAML: nested deeper than {MAX_DEPTH} levels"
        raise ConfigError(Problem(shown, 1, 1, "", message)) from None
    except Exception as error:  # ruamel raises several unrelated types for duplicate keys etc.
        raise ConfigError(Problem(shown, 1, 1, "", f"invalid YAML: {error}")) from None
    positions: dict[PathKey, Location] = {(): (1, 1)}
    data = _plain(node, (), positions)
    return LoadedYaml(shown, data, positions, tuple(text.splitlines()))


def _duplicate_key(error: DuplicateKeyError, shown: str) -> Problem:
    """Name the duplicated key and both lines, never the values: they may be secrets (a
    webhook URL carries its token), and ruamel's own message prints both in full."""
    found = re.search(r'duplicate key "((?:[^"\\]|\\.)*)"', str(error.problem or ""))
    key = found.group(1) if found else "?"
    mark, first = error.problem_mark, error.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    where = f" (first at line {first.line + 1})" if first else ""
    return Problem(shown, line, column, "", f"duplicate key '{key}'{where}")


def _text_location(text: str, offset: int) -> Location:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _check_flow_depth(text: str, shown: str) -> None:
    """Refuse `[[[[…` nested beyond MAX_DEPTH before ruamel's scanner, which slows down
    quadratically on them (5000 levels: several seconds) before failing on recursion."""
    depth = 0
    line, line_start = 1, 0
    in_comment = False
    previous = "\n"
    for offset, char in enumerate(text):
        if char == "\n":
            line, line_start, in_comment = line + 1, offset + 1, False
        elif in_comment:
            pass
        elif char == "#" and previous in " \t\n":
            in_comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                message = f"nested deeper than {MAX_DEPTH} levels"
                raise ConfigError(Problem(shown, line, offset - line_start + 1, "", message))
        elif char in "]}":
            depth = max(depth - 1, 0)
        previous = char


def _check_nodes(root: Node | None, shown: str) -> None:
    """Refuse unknown tags, deep nesting, and alias expansion beyond MAX_NODES (alias bombs)."""
    pending: list[tuple[Node, int]] = [(root, 1)] if root is not None else []
    visited = 0
    while pending:
        node, depth = pending.pop()
        visited += 1
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if visited > MAX_NODES:
            message = f"more than {MAX_NODES:,} values once aliases are expanded (alias bomb?)"
            raise ConfigError(Problem(shown, line, column, "", message))
        if depth > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} levels"
            raise ConfigError(Problem(shown, line, column, "", message))
        tag = str(node.tag)
        if tag not in ALLOWED_TAGS:
            shown_tag = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
            message = f"unsupported YAML tag '{shown_tag}' (only plain YAML values are read)"
            raise ConfigError(Problem(shown, line, column, "", message))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                pending.extend(((key, depth + 1), (value, depth + 1)))
        elif isinstance(node, SequenceNode):
            pending.extend((item, depth + 1) for item in node.value)


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
            positions[child] = _entry_location(node, name, value)
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


def _entry_location(node: CommentedMap, name: Any, value: Any) -> Location:
    """Where a mapping entry's value (a scalar) or key (a collection) starts."""
    try:
        if not isinstance(value, CommentedMap | CommentedSeq):
            try:
                line, column = node.lc.value(name)
            except (KeyError, TypeError):
                line, column = node.lc.key(name)
        else:
            line, column = node.lc.key(name)
    except (KeyError, TypeError):  # merged in by `<<: *anchor`: blame the mapping itself
        line, column = node.lc.line, node.lc.col
    return line + 1, column + 1


def _scalar(node: Any) -> Any:
    # ruamel wraps some scalars (ScalarFloat, ScalarBoolean, quoted strings); unwrap to builtins.
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    if isinstance(node, TaggedScalar):  # an explicit `!!str 3`
        return node.value
    return node
