"""`rules check`: load every profile and rule file, compile them, and collect every problem."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from solbot.config.compile import ExpressionCollector, compile_policy, rule_spec
from solbot.config.loader import (
    ConfigDir,
    LoadedRule,
    load_ruleset,
    resolve_profile,
    shipped_config_dir,
)
from solbot.config.markets import config_dir_markets, markets_with
from solbot.config.profile_market import profile_market, profile_tier
from solbot.config.schema import Profile, RulesetFile
from solbot.config.yamlio import load_yaml
from solbot.core.catalog import DEFAULT_FILL_WINDOWS, DEFAULT_REALIZED_WINDOWS, SignalCatalog
from solbot.errors import (
    ConfigError,
    InvalidInput,
    Problem,
    SchemaVersionError,
    SolbotError,
    UsageError,
)


def check(config_dir: ConfigDir, profile: str | None = None) -> list[str]:
    """Raise with every problem found; return the names of the profiles checked."""
    problems: list[Problem] = []
    schema_problems: list[Problem] = []
    names = [profile] if profile else config_dir.profile_names()
    if profile is None:
        params, returns, windows = _declared(config_dir)
        for path in sorted((config_dir.root / "rules").glob("*.yaml")):
            _collect(
                lambda path=path: _check_rule_file(path, config_dir, params, returns, windows),
                problems,
                schema_problems,
            )
    markets = markets_with(config_dir_markets(config_dir.root))
    for name in names:

        def compile_one(name: str = name) -> None:
            resolved = resolve_profile(name, config_dir)
            entry = profile_market(resolved, markets=markets)
            compile_policy(resolved, entry.spec_for_tier(profile_tier(entry, resolved)))

        _collect(compile_one, problems, schema_problems)
    unique = sorted(set(problems), key=lambda p: (p.path, p.line, p.column, p.message))
    if unique:
        everything = set(unique + schema_problems)
        raise ConfigError(sorted(everything, key=lambda p: (p.path, p.line, p.column, p.message)))
    if schema_problems:
        raise SchemaVersionError(schema_problems[0])
    return names


@dataclass(frozen=True)
class _Windows:
    """Rolling-window signal names declared by some profile."""

    realized: set[str]
    fills: set[str]


def _declared(config_dir: ConfigDir) -> tuple[set[str], set[str], _Windows]:
    """Parameter, return-signal and rolling-window names declared anywhere in the profiles
    (read leniently)."""
    params: set[str] = set()
    returns: set[str] = {"ret_45s_bps", "ret_5m_bps"}
    realized: set[str] = {name for name, _ in DEFAULT_REALIZED_WINDOWS}
    fills: set[str] = {name for name, _ in DEFAULT_FILL_WINDOWS}
    for name in config_dir.profile_names():
        try:
            data = load_yaml(config_dir.profile_path(name)).data
        except ConfigError:
            continue
        if isinstance(data, dict):
            params |= set((data.get("params") or {}).keys())
            signals = data.get("signals") or {}
            if isinstance(signals, dict):
                returns |= set((signals.get("returns") or {}).keys())
                realized |= set((signals.get("realized_windows") or {}).keys())
                fills |= set((signals.get("fill_windows") or {}).keys())
    return params, returns, _Windows(realized, fills)


def _check_rule_file(
    path: Path, config_dir: ConfigDir, params: set[str], returns: set[str], windows: _Windows
) -> None:
    """A rule file on its own: schema, then every expression against the catalog."""
    ruleset, loaded = load_ruleset(path, config_dir)
    catalog = SignalCatalog.build(
        ((name, 1.0) for name in returns),
        ((name, 1.0) for name in windows.realized),
        ((name, 1.0) for name in windows.fills),
    )
    collector = ExpressionCollector(catalog, sorted(params))
    rules = [
        LoadedRule(
            rule,
            ruleset.defaults.hold,
            ruleset.defaults.min_active,
            ruleset.defaults.cooldown,
            ruleset.defaults.on_error,
            ruleset.id,
            ruleset.revision,
            loaded,
            ("rules", position),
        )
        for position, rule in enumerate(ruleset.rules)
    ]
    for rule in rules:
        rule_spec(rule, collector, ["aggressive", "defensive", *sorted(params)])
    problems = [p for p in collector.problems if "unknown regime" not in p.message]
    if problems:
        raise ConfigError(problems)


def _collect(action: object, problems: list[Problem], schema: list[Problem]) -> None:
    try:
        action()  # type: ignore[operator]
    except SchemaVersionError as error:
        schema.extend(error.problems)
    except InvalidInput as error:
        problems.extend(error.problems or [Problem("?", 1, 1, "", str(error))])
    except SolbotError as error:
        problems.append(Problem("?", 1, 1, "", str(error)))


def init_config(target: Path, force: bool = False) -> list[Path]:
    """Copy the shipped profiles and rules into `target` for the user to edit."""
    source = shipped_config_dir()
    written: list[Path] = []
    for folder in ("profiles", "rules"):
        for path in sorted((source / folder).glob("*.yaml")):
            destination = target / folder / path.name
            if destination.exists() and not force:
                raise UsageError(f"{destination} exists; use --force to overwrite")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            written.append(destination)
    schema_dir = target / "docs" / "schema"  # the files' yaml-language-server comments point here
    schema_dir.mkdir(parents=True, exist_ok=True)
    for kind, model in (("profile", Profile), ("ruleset", RulesetFile)):
        destination = schema_dir / f"{kind}.json"
        schema = model.model_json_schema(by_alias=True)
        destination.write_text(
            json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        written.append(destination)
    return written
