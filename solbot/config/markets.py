"""Market specs and venue tiers as data: load, validate and look up `markets.yaml`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from solbot.core.model import MarketSpec
from solbot.errors import ConfigError, Problem, SchemaVersionError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class VenueTier:
    """Fees, latencies and transaction budget of one account tier on a venue."""

    name: str
    maker_fee_bps: float
    taker_fee_bps: float
    order_latency_ms: float
    cancel_latency_ms: float
    taker_latency_ms: float
    tx_per_minute: int


@dataclass(frozen=True)
class MarketEntry:
    """One market: its spec (fees of the default tier) and every tier of its venue."""

    key: str
    spec: MarketSpec
    tiers: Mapping[str, VenueTier]
    default_tier: str
    assumption: bool = False
    source: str = ""
    file_prefixes: tuple[str, ...] = ()

    def spec_for_tier(self, tier: str) -> MarketSpec:
        """The market spec with the fees of `tier`."""
        if tier not in self.tiers:
            choices = ", ".join(sorted(self.tiers))
            raise ConfigError(f"market {self.key} has no tier '{tier}'; choose one of: {choices}")
        chosen = self.tiers[tier]
        return dataclasses.replace(
            self.spec, maker_fee_bps=chosen.maker_fee_bps, taker_fee_bps=chosen.taker_fee_bps
        )


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _TierModel(_Strict):
    maker_fee_bps: float = Field(ge=-10, le=100)
    taker_fee_bps: float = Field(ge=-10, le=100)
    order_latency_ms: float = Field(ge=0)
    cancel_latency_ms: float = Field(ge=0)
    taker_latency_ms: float = Field(ge=0)
    tx_per_minute: int = Field(gt=0)


class _VenueModel(_Strict):
    default_tier: str
    tiers: dict[str, _TierModel] = Field(min_length=1)
    file_prefixes: list[str] = Field(default_factory=list)


class _MarketModel(_Strict):
    key: str
    venue: str
    symbol: str = Field(min_length=1)
    market_id: int = Field(ge=0)
    price_decimals: int = Field(ge=0, le=9)
    size_decimals: int = Field(ge=0, le=9)
    min_base_amount: float = Field(ge=0)
    min_quote_amount: float = Field(ge=0)
    assumption: bool = False
    source: str = ""


class _FileModel(_Strict):
    schema_version: int = Field(alias="schema")
    venues: dict[str, _VenueModel] = Field(min_length=1)
    markets: list[_MarketModel] = Field(min_length=1)


class _OverlayModel(_Strict):
    """A user's markets file: the bundled schema, with venues and markets each optional."""

    schema_version: int = Field(alias="schema")
    venues: dict[str, _VenueModel] = Field(default_factory=dict)
    markets: list[_MarketModel] = Field(default_factory=list)


CONFIG_DIR_MARKETS = "markets.yaml"


def bundled_markets_path() -> Path:
    """Path of the markets file shipped with solbot."""
    return Path(str(files("solbot").joinpath("resources", "markets.yaml")))


def load_markets(path: Path | None = None) -> dict[str, MarketEntry]:
    """Load and validate a markets file (None: the bundled one), keyed by market key."""
    if path is None:
        return dict(_bundled())
    return dict(_load(path))


def markets_with(overlays: Sequence[Path]) -> dict[str, MarketEntry]:
    """The bundled markets with each overlay file's venues and markets added or replacing.

    An overlay has the bundled file's schema, but `venues` and `markets` are both optional: a
    market may use a bundled venue, and a venue given again replaces the bundled one (its
    markets then take the new tiers). Later overlays win. Errors name file:line:column.
    """
    if not overlays:
        return load_markets()
    document, base = _parse(bundled_markets_path(), _FileModel)
    assert isinstance(base, _FileModel)
    venues = dict(base.venues)
    markets = {market.key: market for market in base.markets}
    for path in overlays:
        document, overlay = _parse(path, _OverlayModel)
        shown = str(path)
        if not overlay.venues and not overlay.markets:
            message = "expected venues or markets to add; found neither"
            raise ConfigError(Problem(shown, 1, 1, "", message))
        venues.update(overlay.venues)
        _check_venues(overlay.venues, document, shown)
        problems: list[Problem] = []
        seen: dict[str, _MarketModel] = {}
        for index, market in enumerate(overlay.markets):
            problem = _market_problem(market, index, venues, seen, document, shown)
            if problem is not None:
                problems.append(problem)
                continue
            seen[market.key] = market
        if problems:
            raise ConfigError(problems)
        markets.update(seen)
    tiers_by_venue = {name: _tiers(venue) for name, venue in venues.items()}
    return {
        key: _entry(market, venues[market.venue], tiers_by_venue) for key, market in markets.items()
    }


def config_dir_markets(root: Path) -> list[Path]:
    """The config folder's `markets.yaml`, when it has one (an overlay of the bundled markets)."""
    path = root / CONFIG_DIR_MARKETS
    return [path] if path.is_file() else []


@lru_cache(maxsize=1)
def _bundled() -> tuple[tuple[str, MarketEntry], ...]:
    return tuple(_load(bundled_markets_path()).items())


def resolve_market(
    key_or_symbol: str, markets: Mapping[str, MarketEntry] | None = None
) -> MarketEntry:
    """Find a market by key (`lighter:SOL`) or by a symbol that only one market has (`SOL`)."""
    table = load_markets() if markets is None else markets
    wanted = key_or_symbol.strip()
    if wanted in table:
        return table[wanted]
    by_key = [entry for key, entry in table.items() if key.lower() == wanted.lower()]
    if len(by_key) == 1:
        return by_key[0]
    by_symbol = [entry for entry in table.values() if entry.spec.symbol.lower() == wanted.lower()]
    if len(by_symbol) == 1:
        return by_symbol[0]
    choices = ", ".join(table)
    if by_symbol:
        keys = ", ".join(entry.key for entry in by_symbol)
        raise ConfigError(f"market '{wanted}' is ambiguous ({keys}); give the full key")
    raise ConfigError(f"unknown market '{wanted}'; choose one of: {choices}")


def infer_market_from_filename(
    path: Path, markets: Mapping[str, MarketEntry] | None = None
) -> MarketEntry | None:
    """Market named by a data file name such as `binance_usdm_BTCUSDT_...csv.gz`, if any."""
    table = load_markets() if markets is None else markets
    name = path.name.lower()
    best: tuple[int, MarketEntry] | None = None
    for entry in table.values():
        symbol = entry.spec.symbol.lower()
        for prefix in entry.file_prefixes:
            stem = f"{prefix.lower()}_{symbol}"
            matched = name.startswith((stem + "_", stem + "."))
            if matched and (best is None or len(prefix) > best[0]):
                best = (len(prefix), entry)
    return None if best is None else best[1]


def select_market(
    paths: Sequence[Path], key: str | None, markets: Mapping[str, MarketEntry] | None = None
) -> MarketEntry:
    """The market given by `key`, else the one every recognisable file name agrees on."""
    table = load_markets() if markets is None else markets
    if key:
        return resolve_market(key, table)
    found = {entry.key: entry for entry in _inferred(paths, table)}
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        raise ConfigError(f"the files name different markets ({', '.join(sorted(found))})")
    choices = ", ".join(table)
    raise ConfigError(
        f"cannot tell the market from the file names; pass --market (one of: {choices})"
    )


def _inferred(paths: Iterable[Path], table: Mapping[str, MarketEntry]) -> list[MarketEntry]:
    found = (infer_market_from_filename(path, table) for path in paths)
    return [entry for entry in found if entry is not None]


# --- loading ------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, MarketEntry]:
    document, parsed = _parse(path, _FileModel)
    assert isinstance(parsed, _FileModel)
    return _entries(parsed, document, str(path))


def _parse(
    path: Path, model: type[_FileModel] | type[_OverlayModel]
) -> tuple[CommentedMap, _FileModel | _OverlayModel]:
    shown = str(path)
    document = _read_yaml(path, shown)
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            Problem(shown, 1, 1, "", "expected a mapping with schema, venues, markets")
        )
    _check_schema(document, shown)
    try:
        return document, model.model_validate(_plain(document))
    except ValidationError as error:
        raise ConfigError(_problems(error, document, shown)) from None


def _check_venues(venues: Mapping[str, _VenueModel], document: CommentedMap, shown: str) -> None:
    """Every venue's default tier must be one of its tiers."""
    problems: list[Problem] = []
    for venue_name, venue in venues.items():
        if venue.default_tier not in venue.tiers:
            where = ("venues", venue_name, "default_tier")
            message = f"'{venue.default_tier}' is not one of the tiers ({', '.join(venue.tiers)})"
            problems.append(_problem(document, shown, where, message))
    if problems:
        raise ConfigError(problems)


def _tiers(venue: _VenueModel) -> dict[str, VenueTier]:
    return {name: VenueTier(name=name, **tier.model_dump()) for name, tier in venue.tiers.items()}


def _read_yaml(path: Path, shown: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem(shown, 1, 1, "", "file not found")) from None
    except OSError as error:
        raise ConfigError(Problem(shown, 1, 1, "", f"cannot read file: {error}")) from None
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (error.problem or error.context or "invalid YAML").strip()
        raise ConfigError(Problem(shown, line, column, "", f"invalid YAML: {message}")) from None


def _check_schema(document: CommentedMap, shown: str) -> None:
    version = document.get("schema")
    line, column = _position(document, ("schema",))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        found = "nothing" if version is None else repr(version)
        message = f"expected schema: {SCHEMA_VERSION}, found {found}"
        raise ConfigError(Problem(shown, line, column, "schema", message))
    if version > SCHEMA_VERSION:
        message = f"schema {version} is newer than this solbot understands ({SCHEMA_VERSION})"
        raise SchemaVersionError(Problem(shown, line, column, "schema", message))


def _entries(parsed: _FileModel, document: CommentedMap, shown: str) -> dict[str, MarketEntry]:
    # markets of a venue without a valid default tier cannot build
    _check_venues(parsed.venues, document, shown)
    tiers_by_venue = {name: _tiers(venue) for name, venue in parsed.venues.items()}
    problems: list[Problem] = []
    entries: dict[str, MarketEntry] = {}
    for index, market in enumerate(parsed.markets):
        problem = _market_problem(market, index, parsed.venues, entries, document, shown)
        if problem is not None:
            problems.append(problem)
            continue
        entries[market.key] = _entry(market, parsed.venues[market.venue], tiers_by_venue)
    if problems:
        raise ConfigError(problems)
    return entries


def _market_problem(
    market: _MarketModel,
    index: int,
    venues: Mapping[str, _VenueModel],
    entries: Mapping[str, object],
    document: CommentedMap,
    shown: str,
) -> Problem | None:
    if market.venue not in venues:
        message = f"unknown venue '{market.venue}'; expected one of: {', '.join(venues)}"
        return _problem(document, shown, ("markets", index, "venue"), message)
    expected_key = f"{market.venue}:{market.symbol}"
    if market.key != expected_key:
        message = f"expected '{expected_key}' (venue:symbol), found '{market.key}'"
        return _problem(document, shown, ("markets", index, "key"), message)
    if market.key in entries:
        message = f"duplicate market key '{market.key}'"
        return _problem(document, shown, ("markets", index, "key"), message)
    return None


def _entry(
    market: _MarketModel, venue: _VenueModel, tiers_by_venue: Mapping[str, dict[str, VenueTier]]
) -> MarketEntry:
    tiers = tiers_by_venue[market.venue]
    default = tiers[venue.default_tier]
    spec = MarketSpec(
        symbol=market.symbol,
        venue=market.venue,
        market_id=market.market_id,
        price_decimals=market.price_decimals,
        size_decimals=market.size_decimals,
        min_base_amount=market.min_base_amount,
        min_quote_amount=market.min_quote_amount,
        maker_fee_bps=default.maker_fee_bps,
        taker_fee_bps=default.taker_fee_bps,
    )
    return MarketEntry(
        key=market.key,
        spec=spec,
        tiers=dict(tiers),
        default_tier=venue.default_tier,
        assumption=market.assumption,
        source=market.source,
        file_prefixes=tuple(venue.file_prefixes),
    )


# --- positions ----------------------------------------------------------------------------------


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists (pydantic wants plain data)."""
    if isinstance(node, CommentedMap):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(value) for value in node]
    return node


def _problems(error: ValidationError, document: CommentedMap, shown: str) -> list[Problem]:
    found: list[Problem] = []
    for item in error.errors():
        location = tuple(part for part in item["loc"] if isinstance(part, str | int))
        location = tuple("schema" if part == "schema_version" else part for part in location)
        at_key = item["type"] == "extra_forbidden"  # point at the unknown key, not its value
        found.append(_problem(document, shown, location, item["msg"], at_key=at_key))
    return found


def _problem(
    document: CommentedMap,
    shown: str,
    location: tuple[str | int, ...],
    message: str,
    *,
    at_key: bool = False,
) -> Problem:
    line, column = _position(document, location, at_key=at_key)
    return Problem(shown, line, column, _dotted(location), message)


def _position(
    document: Any, location: Sequence[str | int], *, at_key: bool = False
) -> tuple[int, int]:
    """1-based line and column of the deepest node on `location` that exists in the file."""
    node, best = document, (1, 1)
    for depth, part in enumerate(location):
        if isinstance(node, CommentedMap) and part in node:
            last = depth == len(location) - 1
            line, column = node.lc.key(part) if at_key and last else node.lc.value(part)
            best = (line + 1, column + 1)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, column = node.lc.item(part)
            best = (line + 1, column + 1)
            node = node[part]
        else:
            if isinstance(node, CommentedMap | CommentedSeq):
                best = (node.lc.line + 1, node.lc.col + 1)
            break
    return best


def _dotted(location: Sequence[str | int]) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out
