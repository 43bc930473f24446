"""Resolve profiles (`extends`), load their rule files, apply overrides, hash the result."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from solbot.config.migrate import checked_version, upgrade
from solbot.config.overrides import Override, apply_overrides
from solbot.config.schema import (
    SCHEMA_VERSION,
    Profile,
    Rule,
    RulesetFile,
    canonical_data,
    known_keys,
)
from solbot.config.yamlio import LoadedYaml, PathKey, dotted, load_yaml
from solbot.errors import ConfigError, Problem

MAX_EXTENDS_DEPTH = 8
SHIPPED_DIR = Path(__file__).resolve().parent.parent.parent  # the checkout: profiles/, rules/
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "_shipped"  # a wheel install (setup.py)


@dataclass(frozen=True)
class ConfigDir:
    """A folder holding `profiles/` and `rules/`."""

    root: Path

    @classmethod
    def find(cls, explicit: Path | None = None) -> ConfigDir:
        """`--config-dir`, else the current directory if it has profiles/, else the shipped set."""
        if explicit is not None:
            if not (explicit / "profiles").is_dir():
                raise ConfigError(Problem(str(explicit), 1, 1, "", "no profiles/ folder here"))
            return cls(explicit)
        here = Path.cwd()
        if (here / "profiles").is_dir():
            return cls(here)
        return cls(shipped_config_dir())

    def profile_path(self, name: str) -> Path:
        return self.root / "profiles" / f"{name}.yaml"

    def profile_names(self) -> list[str]:
        return sorted(path.stem for path in (self.root / "profiles").glob("*.yaml"))

    def display(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def shipped_config_dir() -> Path:
    """The profiles and rules that ship with solbot: the wheel's copy, else the checkout's."""
    if (PACKAGED_DIR / "profiles").is_dir():
        return PACKAGED_DIR
    return SHIPPED_DIR


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    defaults_hold: float
    defaults_min_active: float
    defaults_cooldown: float
    defaults_on_error: str
    ruleset_id: str
    ruleset_revision: int
    source: LoadedYaml
    key: PathKey

    @property
    def hold_s(self) -> float | str:
        return self.rule.hold if self.rule.hold is not None else self.defaults_hold

    @property
    def min_active_s(self) -> float | str:
        value = self.rule.min_active
        return value if value is not None else self.defaults_min_active

    @property
    def cooldown_s(self) -> float | str:
        value = self.rule.cooldown
        return value if value is not None else self.defaults_cooldown

    @property
    def on_error(self) -> str:
        return self.rule.on_error or self.defaults_on_error

    def origin(self, *sub: str | int) -> str:
        line, _ = self.source.where((*self.key, *sub))
        return f"{self.source.path}:{line}"

    def resolved(self) -> dict[str, Any]:
        """The rule with defaults applied, as canonical data (for hashing and diffs)."""
        data = self.rule.model_dump(mode="json", exclude_none=True)
        data.update(
            hold=self.hold_s,
            min_active=self.min_active_s,
            cooldown=self.cooldown_s,
            on_error=self.on_error,
            ruleset=f"{self.ruleset_id}@{self.ruleset_revision}",
        )
        data.pop("origin", None)
        return data


@dataclass(frozen=True)
class ResolvedProfile:
    """A profile with `extends` applied and its rules loaded, validated and hashed."""

    profile: Profile
    data: dict[str, Any]
    origins: dict[str, str]
    rules: tuple[LoadedRule, ...]
    files: tuple[str, ...]
    profile_sha256: str
    ruleset_sha256: str
    config_dir: ConfigDir = field(compare=False)

    @property
    def name(self) -> str:
        return self.profile.id


def canonical_sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_schema(loaded: LoadedYaml, expected_kind: str) -> LoadedYaml:
    """Refuse files without `schema`, of a newer schema, or of the wrong kind; migrate older
    schemas in memory (with a warning) and return the file as the current schema reads it."""
    data = loaded.data
    if not isinstance(data, dict):
        raise ConfigError(
            loaded.problem((), f"expected a mapping with schema and kind: {expected_kind}")
        )
    version = data.get("schema")
    if version is None:
        raise ConfigError(loaded.problem(("schema",), f"missing 'schema: {SCHEMA_VERSION}'"))
    version = checked_version(loaded, version)
    if data.get("kind") != expected_kind:
        raise ConfigError(
            loaded.problem(("kind",), f"expected kind: {expected_kind}, found {data.get('kind')!r}")
        )
    return upgrade(loaded, expected_kind)


def validation_problems(
    loaded: LoadedYaml, error: ValidationError, base: PathKey = ()
) -> list[Problem]:
    problems = []
    for item in error.errors():
        key: PathKey = tuple(
            "schema" if part == "schema_" else part
            for part in item["loc"]
            if isinstance(part, str | int)
        )
        key = (*base, *key)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown key '{key[-1]}'" + _suggest_key(item, key)
        problems.append(loaded.problem(key, message))
    return problems


def _suggest_key(item: Mapping[str, Any], key: PathKey) -> str:
    name = str(key[-1]) if key else ""
    hint = difflib.get_close_matches(name, sorted(known_keys()), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def load_ruleset(path: Path, config_dir: ConfigDir) -> tuple[RulesetFile, LoadedYaml]:
    loaded = load_yaml(path, config_dir.display(path))
    loaded = check_schema(loaded, "ruleset")
    try:
        ruleset = RulesetFile.model_validate(loaded.data)
    except ValidationError as error:
        raise ConfigError(validation_problems(loaded, error)) from None
    return ruleset, loaded


# ----- extends ------------------------------------------------------------------------------------


def _merge(
    base: dict[str, Any],
    top: dict[str, Any],
    origins: dict[str, str],
    top_origins: dict[str, str],
    prefix: str = "",
) -> dict[str, Any]:
    """Maps merge, scalars and lists replace; origins follow the value that wins."""
    merged = dict(base)
    for key, value in top.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, origins, top_origins, path)
            continue
        merged[key] = value
        for stale in [name for name in origins if name == path or name.startswith(path + ".")]:
            del origins[stale]
        for name, origin in top_origins.items():
            if name == path or name.startswith(path + ".") or name.startswith(path + "["):
                origins[name] = origin
    return merged


def _origins(loaded: LoadedYaml) -> dict[str, str]:
    return {
        dotted(key): f"{loaded.path}:{line}" for key, (line, _) in loaded.positions.items() if key
    }


def _load_profile_chain(name: str, config_dir: ConfigDir) -> list[LoadedYaml]:
    chain: list[LoadedYaml] = []
    seen: list[str] = []
    current: str | None = name
    while current is not None:
        if current in seen:
            cycle = " -> ".join([*seen, current])
            last = chain[-1]
            raise ConfigError(last.problem(("extends",), f"extends cycle: {cycle}"))
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise ConfigError(
                chain[-1].problem(("extends",), f"extends deeper than {MAX_EXTENDS_DEPTH} levels")
            )
        path = config_dir.profile_path(current)
        if not path.is_file():
            known = config_dir.profile_names()
            hint = difflib.get_close_matches(current, known, n=1)
            message = f"profile '{current}' not found in profiles/"
            message += f" (did you mean '{hint[0]}'?)" if hint else f"; known: {', '.join(known)}"
            if chain:
                raise ConfigError(chain[-1].problem(("extends",), message))
            raise ConfigError(Problem(f"profiles/{current}.yaml", 1, 1, "profile", message))
        loaded = load_yaml(path, config_dir.display(path))
        loaded = check_schema(loaded, "profile")
        if loaded.data.get("id") != current:
            raise ConfigError(loaded.problem(("id",), f"id must match the file name '{current}'"))
        chain.append(loaded)
        seen.append(current)
        parent = loaded.data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(loaded.problem(("extends",), "extends takes one profile name"))
        current = parent
    return chain


def resolve_profile(
    name: str, config_dir: ConfigDir, overrides: Sequence[Override] = ()
) -> ResolvedProfile:
    """Load profile `name`, apply its `extends` chain and `--set` overrides, and load, check
    and hash its rules (the hash covers the overrides: an overridden profile is another one)."""
    chain = _load_profile_chain(name, config_dir)
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for loaded in reversed(chain):
        data = _merge(data, loaded.data, origins, _origins(loaded))
    data["id"] = name
    data["extends"] = chain[0].data.get("extends")
    top = chain[0]
    profile = _validate(data, origins, chain)
    if overrides:
        known = profile.model_dump(mode="json", by_alias=True)
        data = apply_overrides(data, known, overrides, origins)
        profile = _validate(data, origins, chain)
    rules = _load_rules(profile, config_dir, top, origins)
    canonical = canonical_data(profile)
    ruleset_data = [rule.resolved() for rule in rules]
    files = tuple(loaded.path for loaded in chain)
    return ResolvedProfile(
        profile=profile,
        data=canonical,
        origins=origins,
        rules=tuple(rules),
        files=files,
        profile_sha256=canonical_sha256(canonical),
        ruleset_sha256=canonical_sha256(ruleset_data),
        config_dir=config_dir,
    )


def _validate(data: dict[str, Any], origins: Mapping[str, str], chain: list[LoadedYaml]) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(
            [_profile_problem(item, origins, chain) for item in error.errors()]
        ) from None


def _profile_problem(item: Any, origins: Mapping[str, str], chain: list[LoadedYaml]) -> Problem:
    """Locate one validation error of a merged profile in the file that set the value."""
    key: PathKey = tuple(
        "schema" if part == "schema_" else part
        for part in item["loc"]
        if isinstance(part, str | int)
    )
    message = str(item["msg"]).removeprefix("Value error, ")
    if not key and ": " in message:  # whole-profile checks name their field first
        field, message = message.split(": ", 1)
        key = tuple(field.split("."))
    path = dotted(key)
    if item["type"] == "extra_forbidden":
        message = f"unknown key '{key[-1]}'" + _suggest_key(item, key)
    origin = _origin_of(origins, path, prefer=chain[0].path) or f"{chain[0].path}:1"
    file, line = origin.rsplit(":", 1)
    return Problem(file, int(line), _column(chain, file, key), path, message)


def _origin_of(origins: Mapping[str, str], path: str, prefer: str | None = None) -> str | None:
    """Origin of `path`; for a section, the value inside it that `prefer` (the child) set."""
    inside = sorted(key for key in origins if path and key.startswith((path + ".", path + "[")))
    from_child = [key for key in inside if prefer and origins[key].startswith(prefer + ":")]
    if from_child:
        return origins[from_child[0]]
    if path not in origins and inside:
        return origins[inside[0]]
    while path:
        if path in origins:
            return origins[path]
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return None


def _column(chain: list[LoadedYaml], path: str, key: PathKey) -> int:
    for loaded in chain:
        if loaded.path == path:
            return loaded.where(key)[1]
    return 1


def _load_rules(
    profile: Profile, config_dir: ConfigDir, top: LoadedYaml, origins: dict[str, str]
) -> list[LoadedRule]:
    rules: list[LoadedRule] = []
    problems: list[Problem] = []
    seen: dict[str, LoadedRule] = {}
    for index, include in enumerate(profile.rules.include):
        path = (config_dir.root / include).resolve()
        if not path.is_file():
            origin = origins.get(f"rules.include[{index}]", f"{top.path}:1")
            file, line = origin.rsplit(":", 1)
            problems.append(
                Problem(
                    file,
                    int(line),
                    1,
                    f"rules.include[{index}]",
                    f"rule file '{include}' not found",
                )
            )
            continue
        ruleset, loaded = load_ruleset(path, config_dir)
        for position, rule in enumerate(ruleset.rules):
            key: PathKey = ("rules", position)
            if rule.id in seen:
                where = seen[rule.id].origin()
                problems.append(
                    loaded.problem(
                        (*key, "id"), f"duplicate rule id '{rule.id}' (first at {where})"
                    )
                )
                continue
            item = LoadedRule(
                rule=rule,
                defaults_hold=ruleset.defaults.hold,
                defaults_min_active=ruleset.defaults.min_active,
                defaults_cooldown=ruleset.defaults.cooldown,
                defaults_on_error=ruleset.defaults.on_error,
                ruleset_id=ruleset.id,
                ruleset_revision=ruleset.revision,
                source=loaded,
                key=key,
            )
            seen[rule.id] = item
            rules.append(item)
    for rule_id, override in profile.rules.override.items():
        if rule_id not in seen:
            origin = origins.get(f"rules.override.{rule_id}", f"{top.path}:1")
            file, line = origin.rsplit(":", 1)
            hint = difflib.get_close_matches(rule_id, list(seen), n=1)
            message = f"override of unknown rule '{rule_id}'"
            message += f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(Problem(file, int(line), 1, f"rules.override.{rule_id}", message))
            continue
        changes = override.model_dump(exclude_none=True)
        index = rules.index(seen[rule_id])
        updated = rules[index].rule.model_copy(update=changes)
        rules[index] = LoadedRule(**{**rules[index].__dict__, "rule": updated})
    if problems:
        raise ConfigError(problems)
    return rules
