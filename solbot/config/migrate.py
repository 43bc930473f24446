"""Schema migrations of profile and rule files.

Older files migrate in memory when loaded (with a warning) and on disk with
`solbot rules migrate --write`, which edits the ruamel round-trip tree so comments, key order and
flow style are kept. Every step preserves what the file meant, even where the shipped files chose
new numbers: a schema-1 `widen.add_bps: X` moved each side by X, so it becomes
`add_full_spread_bps: 2 * X` (the spread grows by 2X, each side by X, as before).
"""

from __future__ import annotations

import copy
import difflib
import io
import warnings
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from solbot.config.schema import OLDEST_MIGRATABLE_SCHEMA, SCHEMA_VERSION
from solbot.config.yamlio import LoadedYaml, PathKey, dotted, parse_yaml_text
from solbot.errors import ConfigError, Problem, SchemaMigrationWarning, SchemaVersionError


@dataclass(frozen=True)
class Change:
    """One edit a migration made: the key it had in the old file and the key it has now."""

    old_key: PathKey
    new_key: PathKey
    message: str

    def describe(self) -> str:
        return f"{dotted(self.old_key)}: {self.message}"


Step = Callable[[MutableMapping[str, Any], str], list[Change]]


def _rename(mapping: MutableMapping[str, Any], old: str, new: str, value: Any) -> None:
    """Replace key `old` by `new` at the same position (ruamel maps keep their comments)."""
    if isinstance(mapping, CommentedMap):
        position = list(mapping).index(old)
        comment = mapping.ca.items.pop(old, None)
        del mapping[old]
        mapping.insert(position, new, value)
        if comment is not None:
            mapping.ca.items[new] = comment
        return
    items = [
        (new if key == old else key, value if key == old else item) for key, item in mapping.items()
    ]
    mapping.clear()
    mapping.update(items)


def _doubled(value: Any) -> Any:
    """2 x a number, or `2 * (expression)` (the doubled value of a per-side amount)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return 2 * int(value)
    if isinstance(value, float):
        return 2 * float(value)
    return f"2 * ({str(value).strip()})"


def _v1_to_v2_ruleset(document: MutableMapping[str, Any], kind: str) -> list[Change]:
    """widen.add_bps (added to each side) -> widen.add_full_spread_bps (added to the spread)."""
    changes: list[Change] = []
    rules = document.get("rules")
    if not isinstance(rules, list):
        return changes
    for index, rule in enumerate(rules):
        actions = rule.get("actions") if isinstance(rule, MutableMapping) else None
        if not isinstance(actions, list):
            continue
        for position, action in enumerate(actions):
            widen = action.get("widen") if isinstance(action, MutableMapping) else None
            if not isinstance(widen, MutableMapping) or "add_bps" not in widen:
                continue
            old_value = widen["add_bps"]
            new_value = _doubled(old_value)
            _rename(widen, "add_bps", "add_full_spread_bps", new_value)
            base: PathKey = ("rules", index, "actions", position, "widen")
            changes.append(
                Change(
                    (*base, "add_bps"),
                    (*base, "add_full_spread_bps"),
                    f"add_bps {old_value} moved each side by that much -> "
                    f"add_full_spread_bps {new_value} (the same quotes)",
                )
            )
    return changes


def _v1_to_v2_profile(document: MutableMapping[str, Any], kind: str) -> list[Change]:
    """quoting.extra_spread_bps -> extra_full_spread_bps (it always widened the full spread)."""
    changes: list[Change] = []
    sections: list[tuple[PathKey, Any]] = [(("quoting",), document.get("quoting"))]
    regimes = document.get("regimes")
    overlays = regimes.get("overlays") if isinstance(regimes, MutableMapping) else None
    if isinstance(overlays, MutableMapping):
        for name, overlay in overlays.items():
            if isinstance(overlay, MutableMapping):
                key: PathKey = ("regimes", "overlays", str(name), "quoting")
                sections.append((key, overlay.get("quoting")))
    for key, quoting in sections:
        if isinstance(quoting, MutableMapping) and "extra_spread_bps" in quoting:
            _rename(
                quoting, "extra_spread_bps", "extra_full_spread_bps", quoting["extra_spread_bps"]
            )
            changes.append(
                Change(
                    (*key, "extra_spread_bps"),
                    (*key, "extra_full_spread_bps"),
                    "renamed extra_full_spread_bps (same value: it is added to the full spread)",
                )
            )
    return changes


# Schema-1 defaults that schema 2 changed: a root profile (no `extends`) that relied on them gets
# them written out, so it keeps its limits.
V1_DEFAULTS: tuple[tuple[str, str, float], ...] = (
    ("limits", "max_position_units", 0.3),  # schema 2: no unit limit unless set
    ("hedger", "max_clip_units", 0.08),  # schema 2: 0.06 (the notes' later learning)
)


def _v1_to_v2_defaults(document: MutableMapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if document.get("extends") is not None:
        return changes  # the defaults apply at the root of the extends chain only
    for section, key, value in V1_DEFAULTS:
        body = document.get(section)
        if body is None:
            body = CommentedMap() if isinstance(document, CommentedMap) else {}
            document[section] = body
        if not isinstance(body, MutableMapping) or key in body:
            continue
        body[key] = value
        changes.append(
            Change(
                (section, key),
                (section, key),
                f"set to {value:g}, the schema-1 default this file relied on "
                "(schema 2 changed the default)",
            )
        )
    return changes


def _v1_to_v2(document: MutableMapping[str, Any], kind: str) -> list[Change]:
    if kind == "ruleset":
        return _v1_to_v2_ruleset(document, kind)
    return _v1_to_v2_profile(document, kind) + _v1_to_v2_defaults(document)


STEPS: dict[int, Step] = {1: _v1_to_v2}  # from schema N to N + 1


def migrate_document(document: MutableMapping[str, Any], kind: str) -> list[Change]:
    """Upgrade `document` (plain or ruamel data) in place to the current schema."""
    version = document["schema"]
    changes: list[Change] = []
    while version < SCHEMA_VERSION:
        changes += STEPS[version](document, kind)
        version += 1
    document["schema"] = SCHEMA_VERSION
    return changes


def _remap(positions: dict[PathKey, Any], changes: list[Change]) -> dict[PathKey, Any]:
    """Positions of renamed keys: the new key points where the old one was written."""
    out = dict(positions)
    for change in changes:
        size = len(change.old_key)
        for key, location in positions.items():
            if key[:size] == change.old_key:
                out[(*change.new_key, *key[size:])] = location
    return out


def upgrade(loaded: LoadedYaml, kind: str) -> LoadedYaml:
    """`loaded` migrated in memory to the current schema, with a warning (no-op when current).

    The caller has checked that `schema` is an integer no newer than this solbot's.
    """
    version = loaded.data["schema"]
    if version == SCHEMA_VERSION:
        return loaded
    if version < OLDEST_MIGRATABLE_SCHEMA:
        raise SchemaVersionError(
            loaded.problem(
                ("schema",),
                f"schema {version} is unknown (this solbot reads {OLDEST_MIGRATABLE_SCHEMA} to "
                f"{SCHEMA_VERSION}); no migration exists for it",
            )
        )
    data = copy.deepcopy(loaded.data)
    changes = migrate_document(data, kind)
    line, column = loaded.where(("schema",))
    notice = Problem(
        loaded.path,
        line,
        column,
        "schema",
        f"warning: schema {version} migrated in memory to {SCHEMA_VERSION} "
        f"({len(changes)} change(s)); "
        "run `solbot rules migrate --write` to update the file",
    )
    warnings.warn(SchemaMigrationWarning(str(notice)), stacklevel=2)
    return LoadedYaml(loaded.path, data, _remap(loaded.positions, changes), loaded.lines)


# ----- on disk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileMigration:
    """One file's migration: what changed and its new text (not yet written)."""

    path: Path
    shown: str
    old_version: int
    old_text: str
    new_text: str
    changes: tuple[Change, ...]

    @property
    def needed(self) -> bool:
        return self.old_version < SCHEMA_VERSION

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                f"a/{self.shown}",
                f"b/{self.shown}",
            )
        )


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def plan_file(path: Path, shown: str) -> FileMigration:
    """Read one profile or rule file and migrate its round-trip tree (comments kept)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem(shown, 1, 1, "", "file not found")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(Problem(shown, 1, 1, "", f"cannot read file: {error}")) from None
    loaded = parse_yaml_text(text, shown)  # syntax errors with positions, as everywhere else
    data = loaded.data
    if not isinstance(data, dict) or data.get("kind") not in ("profile", "ruleset"):
        raise ConfigError(loaded.problem(("kind",), "expected kind: profile or ruleset"))
    version = checked_version(loaded, data.get("schema"))
    if version == SCHEMA_VERSION:
        return FileMigration(path, shown, version, text, text, ())
    if version < OLDEST_MIGRATABLE_SCHEMA:
        raise SchemaVersionError(
            loaded.problem(("schema",), f"schema {version} is unknown; no migration exists for it")
        )
    yaml = _round_trip_yaml()
    tree = yaml.load(text)
    changes = migrate_document(tree, str(data["kind"]))
    out = io.StringIO()
    yaml.dump(tree, out)
    return FileMigration(path, shown, version, text, out.getvalue(), tuple(changes))


def config_files(root: Path) -> list[Path]:
    """The profile and rule files of a config folder, in a stable order."""
    return sorted((root / "profiles").glob("*.yaml")) + sorted((root / "rules").glob("*.yaml"))


def write(migration: FileMigration) -> None:
    """Write a migrated file in place (same encoding, comments kept)."""
    migration.path.write_text(migration.new_text, encoding="utf-8")


def checked_version(loaded: LoadedYaml, version: object) -> int:
    """A file's `schema:` as an integer this solbot can read (newer ones: exit 4)."""
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(
            loaded.problem(("schema",), f"schema must be an integer, found {version!r}")
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            loaded.problem(
                ("schema",),
                f"schema {version} is newer than this solbot understands ({SCHEMA_VERSION}); "
                "upgrade solbot",
            )
        )
    return version
