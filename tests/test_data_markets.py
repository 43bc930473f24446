"""Market specs as data: the bundled file, lookups and located validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from solbot.config.markets import (
    infer_market_from_filename,
    load_markets,
    resolve_market,
    select_market,
)
from solbot.errors import ConfigError, SchemaVersionError

VALID = """\
schema: 1
venues:
  lighter:
    file_prefixes: [lighter]
    default_tier: standard
    tiers:
      standard: {maker_fee_bps: 0, taker_fee_bps: 0, order_latency_ms: 200,
                 cancel_latency_ms: 200, taker_latency_ms: 300, tx_per_minute: 60}
markets:
  - key: lighter:SOL
    venue: lighter
    symbol: SOL
    market_id: 2
    price_decimals: 3
    size_decimals: 3
    min_base_amount: 0.05
    min_quote_amount: 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "markets.yaml"
    path.write_text(text)
    return path


def test_bundled_lighter_sol_matches_the_venue_facts() -> None:
    sol = load_markets()["lighter:SOL"]
    assert (sol.spec.market_id, sol.spec.price_decimals, sol.spec.size_decimals) == (2, 3, 3)
    assert (sol.spec.min_base_amount, sol.spec.min_quote_amount) == (0.05, 10.0)
    assert sol.default_tier == "standard"
    assert not sol.assumption


def test_bundled_tiers_carry_fees_and_latencies() -> None:
    tiers = load_markets()["lighter:SOL"].tiers
    standard, premium = tiers["standard"], tiers["premium"]
    assert (standard.maker_fee_bps, standard.taker_fee_bps, standard.tx_per_minute) == (0, 0, 60)
    assert (standard.order_latency_ms, standard.cancel_latency_ms) == (200, 200)
    assert standard.taker_latency_ms == 300
    assert (premium.maker_fee_bps, premium.taker_fee_bps, premium.tx_per_minute) == (0.4, 2.8, 4000)
    assert (premium.order_latency_ms, premium.taker_latency_ms) == (0, 200)


def test_spec_for_tier_takes_that_tiers_fees() -> None:
    sol = load_markets()["lighter:SOL"]
    premium = sol.spec_for_tier("premium")
    assert (premium.maker_fee_bps, premium.taker_fee_bps) == (0.4, 2.8)
    assert premium.price_decimals == sol.spec.price_decimals
    with pytest.raises(ConfigError, match="no tier 'gold'"):
        sol.spec_for_tier("gold")


@pytest.mark.parametrize(
    ("key", "ids", "assumed"),
    [("lighter:ETH", (0, 2, 4), True), ("lighter:BTC", (1, 1, 5), True)],
)
def test_eth_and_btc_are_marked_as_assumptions(
    key: str, ids: tuple[int, int, int], assumed: bool
) -> None:
    entry = load_markets()[key]
    assert (entry.spec.market_id, entry.spec.price_decimals, entry.spec.size_decimals) == ids
    assert entry.assumption is assumed


@pytest.mark.parametrize(
    ("key", "decimals", "fees"),
    [
        ("binance-usdm:BTCUSDT", (1, 3), (2.0, 5.0)),
        ("binance-usdm:ETHUSDT", (2, 3), (2.0, 5.0)),
    ],
)
def test_binance_fixture_markets(
    key: str, decimals: tuple[int, int], fees: tuple[float, float]
) -> None:
    spec = load_markets()[key].spec
    assert (spec.price_decimals, spec.size_decimals) == decimals
    assert (spec.maker_fee_bps, spec.taker_fee_bps) == fees


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("SOL", "lighter:SOL"),
        ("sol", "lighter:SOL"),
        ("lighter:SOL", "lighter:SOL"),
        ("LIGHTER:sol", "lighter:SOL"),
        ("BTC", "lighter:BTC"),  # BTCUSDT is both a USD-M and a spot market now
        ("binance-spot:SOLUSDT", "binance-spot:SOLUSDT"),
    ],
)
def test_resolve_market_by_key_or_unique_symbol(query: str, key: str) -> None:
    assert resolve_market(query).key == key


def test_resolve_market_errors_list_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown market 'DOGE'; choose one of: .*lighter:SOL"):
        resolve_market("DOGE")
    with pytest.raises(ConfigError, match=r"ambiguous.*binance-usdm:SOLUSDT.*binance-spot:SOLUSDT"):
        resolve_market("SOLUSDT")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (
            "binance_usdm_BTCUSDT_20240718T2357-20240719T0005_bookticker.csv.gz",
            "binance-usdm:BTCUSDT",
        ),
        ("binance_usdm_ETHUSDT_20240808T2354-20240808T2359_trades.csv.gz", "binance-usdm:ETHUSDT"),
        ("binance_usdm_perp_SOLUSDT_1m_20250504-20250624.csv.gz", "binance-usdm:SOLUSDT"),
        ("binance_spot_SOLUSDT_1m_20210917-20211017.csv.gz", "binance-spot:SOLUSDT"),
        ("binance-futures_BTCUSDT_quotes_20200222.csv.gz", "binance-usdm:BTCUSDT"),
        ("lighter_SOL_trades.csv", "lighter:SOL"),
        ("hyperliquid_perp_SOL_1m_20250721-20250726.csv.gz", None),
        ("binance_usdm_BTCUSDTX_bookticker.csv", None),
        ("events.parquet", None),
    ],
)
def test_infer_market_from_filename(name: str, key: str | None) -> None:
    entry = infer_market_from_filename(Path("/data") / name)
    assert (entry.key if entry else None) == key


def test_select_market_prefers_the_key_then_agreeing_names() -> None:
    names = [
        Path("binance_usdm_ETHUSDT_x_bookticker.csv"),
        Path("binance_usdm_ETHUSDT_x_trades.csv"),
    ]
    assert select_market(names, None).key == "binance-usdm:ETHUSDT"
    assert select_market(names, "SOL").key == "lighter:SOL"
    with pytest.raises(ConfigError, match="different markets"):
        select_market([names[0], Path("binance_usdm_BTCUSDT_x.csv")], None)
    with pytest.raises(ConfigError, match="pass --market"):
        select_market([Path("mystery.csv")], None)


def test_custom_file_loads(tmp_path: Path) -> None:
    markets = load_markets(write(tmp_path, VALID))
    assert list(markets) == ["lighter:SOL"]
    assert resolve_market("SOL", markets).spec.min_lots_at(150_000) == 67


@pytest.mark.parametrize(
    ("old", "new", "where", "field", "words"),
    [
        (
            "    price_decimals: 3",
            "    price_decimals: many",
            "14:21",
            "markets[0].price_decimals",
            "integer",
        ),
        ("    market_id: 2", "    market_id: -2", "13:16", "markets[0].market_id", "greater than"),
        (
            "    symbol: SOL\n",
            "    symbol: SOL\n    colour: red\n",
            "13:5",
            "markets[0].colour",
            "Extra inputs",
        ),
        ("    venue: lighter\n", "    venue: dydx\n", "11:12", "markets[0].venue", "unknown venue"),
        ("  - key: lighter:SOL", "  - key: lighter:ETH", "10:10", "markets[0].key", "venue:symbol"),
        (
            "default_tier: standard",
            "default_tier: gold",
            "5:19",
            "venues.lighter.default_tier",
            "'gold' is not one of the tiers",
        ),
        ("    min_quote_amount: 10\n", "", "10:5", "markets[0].min_quote_amount", "Field required"),
    ],
)
def test_invalid_files_point_at_line_and_column(
    tmp_path: Path, old: str, new: str, where: str, field: str, words: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_markets(path)
    problem = caught.value.problems[0]
    assert f"{problem.line}:{problem.column}" == where
    assert problem.field == field
    assert words in problem.message
    assert problem.path == str(path)


def test_newer_schema_is_refused_with_exit_4(tmp_path: Path) -> None:
    with pytest.raises(SchemaVersionError) as caught:
        load_markets(write(tmp_path, VALID.replace("schema: 1", "schema: 2")))
    assert caught.value.exit_code == 4
    assert caught.value.problems[0].line == 1


def test_missing_schema_and_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected schema: 1"):
        load_markets(write(tmp_path, VALID.replace("schema: 1\n", "")))
    with pytest.raises(ConfigError) as caught:
        load_markets(write(tmp_path, "schema: 1\nvenues: [\n"))
    assert "invalid YAML" in caught.value.problems[0].message
    with pytest.raises(ConfigError, match="file not found"):
        load_markets(tmp_path / "absent.yaml")


def test_duplicate_market_keys_are_rejected(tmp_path: Path) -> None:
    markets_part = VALID[VALID.index("  - key:") :]
    with pytest.raises(ConfigError) as caught:
        load_markets(write(tmp_path, VALID + markets_part))
    problem = caught.value.problems[0]
    assert problem.message == "duplicate market key 'lighter:SOL'"
    assert (problem.line, problem.column) == (18, 10)
