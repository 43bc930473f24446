"""Turn the original bot's config.yaml into a solbot profile that `extends: base`.

The mapping is data: solbot/resources/original_config_keys.yaml lists every original key, its
value at the original's HEAD and its solbot home (or why it has none). The import converts each
key that has a home, compares the result with the shipped `base` profile and writes only the
values that differ, each with a comment naming the original key and value. Keys switching rules
(`maker.trend.enabled`, ...) become `rules.override.<id>.enabled`.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from solbot.errors import ConfigError, DataError, Problem, UsageError

TABLE_RESOURCE = "original_config_keys.yaml"
CONVERSIONS = ("same", "seconds", "negate", "times", "checks", "market", "tier")
_PROFILE_ID = re.compile(r"^[a-z][a-z0-9_-]*$")  # as the profile schema's id


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One row of the mapping table."""

    key: str
    head: Any
    to: str | None = None
    convert: str = "same"
    by: str | None = None
    rules: tuple[str, ...] = ()
    status: str = "mapped"  # mapped | dead | not_needed
    reason: str = ""


@dataclass(frozen=True, slots=True)
class KeyRow:
    """What the import did with one original key."""

    key: str
    value: Any
    solbot: str  # the solbot key(s), or "" when the key has none
    solbot_value: Any
    outcome: str  # override | same_as_base | dead | not_needed | absent | unknown
    note: str = ""


@dataclass(frozen=True, slots=True)
class ImportedConfig:
    """The import's result: the table, the overrides and the profile text."""

    profile_id: str
    rows: list[KeyRow]
    overrides: list[tuple[tuple[str, ...], Any, str]]  # (profile path, value, comment)
    text: str = field(repr=False)


@cache
def load_table() -> tuple[KeyEntry, ...]:
    """The mapping table shipped with solbot."""
    text = resources.files("solbot").joinpath("resources", TABLE_RESOURCE).read_text()
    data = YAML(typ="safe").load(text)
    entries: list[KeyEntry] = []
    for item in data["keys"]:
        entry = KeyEntry(
            key=item["key"],
            head=item.get("head"),
            to=item.get("to"),
            convert=item.get("convert", "same"),
            by=item.get("by"),
            rules=tuple(item.get("rules", ())),
            status=item.get("status", "mapped"),
            reason=item.get("reason", ""),
        )
        if entry.convert not in CONVERSIONS:
            raise ValueError(f"{TABLE_RESOURCE}: {entry.key}: unknown convert {entry.convert}")
        entries.append(entry)
    return tuple(entries)


def import_original_config(config: Path, profile_id: str) -> ImportedConfig:
    """Read `config` (the original's config.yaml) and build profile `profile_id` from it."""
    if not _PROFILE_ID.match(profile_id):
        raise UsageError(
            f"profile id {profile_id!r} (the --out file name): a lower-case letter, then "
            "a-z, 0-9, '_' or '-'"
        )
    document, lines = _read_config(config)
    leaves = dict(_leaves(document))
    base = _base()
    table = load_table()
    rows: list[KeyRow] = []
    overrides: list[tuple[tuple[str, ...], Any, str]] = []
    used: set[str] = set()
    for entry in table:
        present = [key for key in leaves if key == entry.key or key.startswith(entry.key + ".")]
        used.update(present)
        if entry.status != "mapped":
            rows.append(_status_row(entry, present, leaves))
            continue
        if entry.key not in leaves:
            rows.append(KeyRow(entry.key, None, _targets(entry), None, "absent", "base kept"))
            continue
        where = Problem(str(config), lines.get(entry.key, 1), 1, entry.key, "")
        for path, value, current in _convert(entry, leaves, base, where):
            differs = not _same(value, current)
            comment = f"original {entry.key}: {_show(leaves[entry.key])}"
            if differs:
                overrides.append((path, value, comment))
            rows.append(
                KeyRow(
                    entry.key,
                    leaves[entry.key],
                    _dotted(path),
                    value,
                    "override" if differs else "same_as_base",
                    _note(entry),
                )
            )
    for key in leaves:
        if key not in used:
            rows.append(KeyRow(key, leaves[key], "", None, "unknown", "not a key of the original"))
    text = _profile_text(profile_id, config, overrides)
    return ImportedConfig(profile_id, rows, overrides, text)


def _status_row(entry: KeyEntry, present: list[str], leaves: Mapping[str, Any]) -> KeyRow:
    """One row for a key without a solbot home; a whole section (optimizer, ...) is one row."""
    if not present:
        return KeyRow(entry.key, None, "", None, "absent", entry.reason)
    if present == [entry.key]:
        return KeyRow(entry.key, leaves[entry.key], "", None, entry.status, entry.reason)
    return KeyRow(f"{entry.key}.*", f"{len(present)} keys", "", None, entry.status, entry.reason)


def write_profile(imported: ImportedConfig, out: Path, *, force: bool) -> None:
    """Check the profile resolves against the shipped base, then write it to `out`."""
    if out.exists() and not force:
        raise UsageError(f"{out} exists; pass --force to replace it")
    check_profile(imported, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(imported.text, encoding="utf-8")


def check_profile(imported: ImportedConfig, shown_as: Path) -> Any:
    """Resolve the imported profile beside the shipped profiles and rules; return it."""
    from shutil import copytree

    from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir

    shipped = shipped_config_dir()
    with tempfile.TemporaryDirectory(prefix="solbot-import-") as folder:
        root = Path(folder)
        copytree(shipped / "profiles", root / "profiles")
        copytree(shipped / "rules", root / "rules")
        path = root / "profiles" / f"{imported.profile_id}.yaml"
        path.write_text(imported.text, encoding="utf-8")
        try:
            return resolve_profile(imported.profile_id, ConfigDir(root))
        except ConfigError as error:
            problems = [
                replace(p, path=str(shown_as)) if p.path.endswith(path.name) else p
                for p in error.problems
            ]
            raise ConfigError(problems) from None


# -- reading -----------------------------------------------------------------------------------


def _read_config(path: Path) -> tuple[Mapping[str, Any], dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(Problem(str(path), 0, 0, "", "file not found")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(path), 0, 0, "", f"cannot read: {error}")) from None
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = getattr(error, "problem", None) or str(error)
        raise DataError(Problem(str(path), line, column, "", f"invalid YAML: {message}")) from None
    if not isinstance(document, Mapping):
        raise DataError(Problem(str(path), 1, 1, "", "expected a mapping of config sections"))
    return document, dict(_lines(document))


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, dotted + ".")
        else:
            yield dotted, _plain(value)


def _lines(node: Any, prefix: str = "") -> Iterator[tuple[str, int]]:
    if not isinstance(node, CommentedMap):
        return
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        yield dotted, node.lc.key(key)[0] + 1
        yield from _lines(value, dotted + ".")


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


# -- base --------------------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir

    resolved = resolve_profile("base", ConfigDir(shipped_config_dir()))
    data: dict[str, Any] = dict(resolved.data)
    data["_rules_enabled"] = {item.rule.id: item.rule.enabled for item in resolved.rules}
    return data


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


# -- converting --------------------------------------------------------------------------------


def _convert(
    entry: KeyEntry, leaves: Mapping[str, Any], base: Mapping[str, Any], where: Problem
) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(profile path, new value, base value) for every solbot home of `entry`."""
    value = leaves[entry.key]
    out: list[tuple[tuple[str, ...], Any, Any]] = []
    if entry.rules:
        enabled = _boolean(value, where)
        for rule_id in entry.rules:
            current = base["_rules_enabled"].get(rule_id, True)
            out.append((("rules", "override", rule_id, "enabled"), enabled, current))
    if entry.to is None:
        return out
    path = tuple(entry.to.split("."))
    current = _get(base, path)
    if entry.convert == "market":
        converted: Any = _market(value, where)
    elif entry.convert == "tier":
        converted = "standard" if _number(value, where) == 0 else "premium"
    elif isinstance(current, bool):
        converted = _boolean(value, where)
    elif value is None and current is None:
        converted = None  # null where base has null: no limit (guard.max_position_units)
    else:
        number = _number(value, where)
        if entry.convert == "negate":
            number = -number
        elif entry.convert == "times":
            assert entry.by is not None
            number = _round(number * _by(entry, leaves, where))
        elif entry.convert == "checks":
            assert entry.by is not None
            if number < 1 or number != int(number):
                raise DataError(replace(where, message="expected a whole number >= 1"))
            number = _round((number - 1) * _by(entry, leaves, where))
        converted = f"{number:g}s" if entry.convert == "seconds" else number
    out.append((path, converted, current))
    return out


def _by(entry: KeyEntry, leaves: Mapping[str, Any], where: Problem) -> float:
    assert entry.by is not None
    if entry.by in leaves:
        return _number(leaves[entry.by], replace(where, field=entry.by))
    head = next(item.head for item in load_table() if item.key == entry.by)
    return float(head)


def _number(value: Any, where: Problem) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(replace(where, message=f"expected a number, found {_show(value)}"))
    if not math.isfinite(value):
        raise DataError(replace(where, message=f"expected a finite number, found {value}"))
    return float(value)


def _boolean(value: Any, where: Problem) -> bool:
    if not isinstance(value, bool):
        raise DataError(replace(where, message=f"expected true or false, found {_show(value)}"))
    return value


def _market(value: Any, where: Problem) -> str:
    from solbot.config.markets import load_markets

    text = str(value)
    number = text.removeprefix("market:")
    if not number.isdigit():
        raise DataError(replace(where, message=f"expected market:<id>, found {_show(value)}"))
    for key, market in load_markets().items():
        if key.startswith("lighter:") and market.spec.market_id == int(number):
            return key
    raise DataError(replace(where, message=f"no Lighter market with id {number} in markets.yaml"))


def _round(number: float) -> float:
    return float(f"{number:.12g}")


def _seconds(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return value
    return value


def _same(new: Any, current: Any) -> bool:
    new, current = _seconds(new), current
    if isinstance(new, bool) or isinstance(current, bool) or new is None or current is None:
        return bool(new == current)
    if isinstance(new, int | float) and isinstance(current, int | float):
        return math.isclose(new, current, rel_tol=1e-9, abs_tol=1e-12)
    return bool(new == current)


# -- output ------------------------------------------------------------------------------------


def _targets(entry: KeyEntry) -> str:
    names = [entry.to] if entry.to else []
    names += [f"rules.override.{rule}.enabled" for rule in entry.rules]
    return ", ".join(name for name in names if name)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _note(entry: KeyEntry) -> str:
    notes = {
        "seconds": "seconds -> duration",
        "negate": "sign flipped (solbot triggers are signed returns)",
        "times": f"x {entry.by}",
        "checks": f"(N - 1) x {entry.by} seconds",
        "market": "market id -> market key",
        "tier": "fee rate -> tier",
    }
    return notes.get(entry.convert, "")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _profile_text(
    profile_id: str, config: Path, overrides: list[tuple[tuple[str, ...], Any, str]]
) -> str:
    root = CommentedMap()
    root["schema"] = 2
    root["kind"] = "profile"
    root["id"] = profile_id
    root["extends"] = "base"
    root["description"] = f"Imported from the original bot's {config.name}"
    for path, value, comment in overrides:
        node = root
        for part in path[:-1]:
            if part not in node:
                node[part] = CommentedMap()
            node = node[part]
        node[path[-1]] = value
        node.yaml_add_eol_comment(comment, path[-1])
    stream = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.width = 200
    yaml.dump(root, stream)
    header = (
        f"# Imported from {config} by `solbot import original-config`.\n"
        "# Only values that differ from the shipped `base` profile are written, each naming its\n"
        "# original key; the command's table lists every key and where it went.\n"
        "# yaml-language-server: $schema=../docs/schema/profile.json\n"
    )
    return header + stream.getvalue()
