"""A profile's market and account tier, checked against markets.yaml and located in the profile."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from solbot.config.loader import ResolvedProfile
from solbot.config.markets import MarketEntry, resolve_market
from solbot.errors import ConfigError, InvalidInput, Problem, UsageError


def profile_problem(resolved: ResolvedProfile, field: str, message: str) -> Problem:
    """A problem at the line of the file that set `field` (the top profile when none did)."""
    origin = resolved.origins.get(field, f"{resolved.files[0]}:1")
    file, _, line = origin.rpartition(":")
    return Problem(file, int(line), _value_column(resolved, file, int(line), field), field, message)


def _value_column(resolved: ResolvedProfile, path: str, line: int, field: str) -> int:
    """Column of the value after `key:` on that line of the file (1 when not found)."""
    try:
        lines = (resolved.config_dir.root / path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    if not 0 < line <= len(lines):
        return 1
    text = lines[line - 1]
    key = field.rsplit(".", 1)[-1] + ":"
    at = text.find(key)
    if at < 0:
        return 1
    rest = text[at + len(key) :]
    return at + len(key) + len(rest) - len(rest.lstrip()) + 1


def _known(entry: MarketEntry, name: str) -> str:
    hint = difflib.get_close_matches(name, list(entry.tiers), n=1)
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    known = ", ".join(sorted(entry.tiers))
    return f"market {entry.key} has no tier '{name}'{suggestion}; known: {known}"


def profile_market(
    resolved: ResolvedProfile,
    override: str | None = None,
    markets: Mapping[str, MarketEntry] | None = None,
) -> MarketEntry:
    """The market a profile trades (`--market` wins); an unknown one is blamed on its line."""
    if override is not None:
        return resolve_market(override, markets)
    try:
        return resolve_market(resolved.profile.market, markets)
    except InvalidInput as error:
        if error.problems:
            raise
        raise ConfigError(profile_problem(resolved, "market", str(error))) from None


def profile_tier(entry: MarketEntry, resolved: ResolvedProfile, override: str | None = None) -> str:
    """The account tier: `--tier`, else the profile's; an unknown name is an error, never a
    silent fall-back to the venue's default tier."""
    if override is not None:
        if override not in entry.tiers:
            raise UsageError(f"--tier: {_known(entry, override)}")
        return override
    tier = resolved.profile.tier
    if tier not in entry.tiers:
        raise ConfigError(profile_problem(resolved, "tier", _known(entry, tier)))
    return tier
