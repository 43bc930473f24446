"""Weights of `solbot markets rank` (the original optimizer's score), from a small YAML file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from solbot.config.loader import validation_problems
from solbot.config.schema import Strict
from solbot.config.yamlio import load_yaml
from solbot.errors import ConfigError, SchemaVersionError

SCHEMA_VERSION = 1
KIND = "market-rank"


class RankWeights(Strict):
    """score = funding_weight x funding_8h_bps + open_interest_weight x open_interest_musd
    - spread_penalty_per_bps x spread_bps; a market below the minimum open interest or above
    the maximum spread is excluded (the original scored it -1e9)."""

    schema_: int = Field(alias="schema")
    kind: str
    description: str = ""
    funding_weight: float = Field(default=1.0)
    open_interest_weight: float = Field(default=0.2)
    spread_penalty_per_bps: float = Field(default=0.02, ge=0)
    min_open_interest_usd: float = Field(default=0.0, ge=0)
    max_spread_bps: float = Field(default=25.0, gt=0)
    funding_rate_hours: float = Field(default=8.0, gt=0)


def bundled_weights_path() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "market_rank.yaml"


def load_weights(path: Path | None = None) -> RankWeights:
    """Read and validate a weights file; problems name file:line:col and the field."""
    source = path or bundled_weights_path()
    loaded = load_yaml(source, str(source) if path is not None else "market_rank.yaml")
    data = loaded.data
    if not isinstance(data, dict):
        raise ConfigError(loaded.problem((), f"expected a mapping with schema and kind: {KIND}"))
    version = data.get("schema")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(loaded.problem(("schema",), f"expected 'schema: {SCHEMA_VERSION}'"))
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            loaded.problem(
                ("schema",), f"schema {version} is newer than this solbot understands (1)"
            )
        )
    if data.get("kind") != KIND:
        raise ConfigError(
            loaded.problem(("kind",), f"expected kind: {KIND}, found {data.get('kind')!r}")
        )
    try:
        return RankWeights.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_problems(loaded, error)) from None
