"""`solbot size` and `solbot markets rank` end to end against the fake venue on loopback."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_support import FakeVenue

from solbot.adapters.venues.fake_lighter import ListedStats
from solbot.cli.main import main
from solbot.cli.venue import parse_extra_market
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import load_markets
from solbot.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
MARKETS = load_markets()
ETH = MARKETS["lighter:ETH"].spec
BTC = MARKETS["lighter:BTC"].spec
# ETH: best funding and open interest; BTC: bigger open interest but a 30 bps spread (> 25, out);
# SOL (the traded market): no funding, no open interest, and 20 % initial margin (5x), so sizing
# shrinks its inventories by 0.10 / 0.20 -- but never a clip below the venue minimum.
STATS = {
    2: ListedStats(150.0, default_initial_margin_fraction=2000),
    ETH.market_id: ListedStats(3000.0, 0.0001, 2000.0, 1.5),
    BTC.market_id: ListedStats(90000.0, 0.00005, 100.0, 30.0),
}


@pytest.fixture(scope="module")
def venue() -> Iterator[FakeVenue]:
    with FakeVenue(other_markets=(ETH, BTC), market_stats=STATS) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "profiles", target / "profiles")
    shutil.copytree(REPO / "rules", target / "rules")
    return target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rank_orders_the_fake_markets_by_score_and_shows_each_component(
    venue: FakeVenue, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "markets", "rank", "--rest-url", venue.base_url, "--json")
    assert code == 0
    markets = json.loads(out)["markets"]
    assert [m["symbol"] for m in markets] == ["ETH", "SOL", "BTC"]
    eth, sol, btc = markets
    # 0.0001 per 8 h = 1 bps; 2000 ETH x 3000 = $6 M; spread 1.5 bps listed (tick rounding widens)
    assert eth["funding_8h_bps"] == pytest.approx(1.0)
    assert eth["open_interest_usd"] == pytest.approx(6_000_000)
    assert eth["components"]["funding"] == pytest.approx(1.0)
    assert eth["components"]["open_interest"] == pytest.approx(0.2 * 6.0)
    assert eth["spread_bps"] == pytest.approx(1.5, abs=0.1)
    assert eth["score"] == pytest.approx(1.0 + 1.2 - 0.02 * eth["spread_bps"])
    assert sol["score"] == pytest.approx(-0.02 * sol["spread_bps"])
    assert btc["score"] is None
    assert "max_spread_bps 25" in btc["excluded"]


def test_rank_table_names_every_market(
    venue: FakeVenue, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "markets", "rank", "--rest-url", venue.base_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split()[1] == "ETH"
    assert "excluded" in lines[3] and "BTC" in lines[3]


def test_rank_weights_from_a_file_change_the_order(
    venue: FakeVenue, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    weights = tmp_path / "rank.yaml"
    weights.write_text(
        "schema: 1\nkind: market-rank\nfunding_weight: -10\nmax_spread_bps: 50\n",
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "markets", "rank", "--rest-url", venue.base_url, "--weights", str(weights), "--json"
    )
    assert code == 0
    markets = json.loads(out)["markets"]
    # funding now costs 10 per bps: SOL (no funding) leads; BTC is back in (spread 30 < 50) at
    # -10 x 0.5 + 0.2 x 9 - 0.02 x 30 = -3.8; ETH last at -10 x 1 + 0.2 x 6 - 0.02 x 1.5 = -8.8
    assert [m["symbol"] for m in markets] == ["SOL", "BTC", "ETH"]
    assert markets[1]["score"] == pytest.approx(-3.8, abs=0.01)


def test_size_writes_a_profile_that_passes_rules_check_and_diffs_against_its_parent(
    venue: FakeVenue, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = config / "profiles" / "sol-500.yaml"
    code, out, err = run(
        capsys,
        "size",
        "--market", "lighter:SOL",
        "--collateral", "500",
        "--extends", "defensive",
        "--rest-url", venue.base_url,
        "--out", str(out_path),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    price = report["price"]
    assert 100 < price < 200  # the fake's SOL market starts at 150
    clip = math.ceil(round(max(0.05, 10 / (price * 0.98)) * 1000, 6)) / 1000
    numbers = {n["path"]: n for n in report["numbers"]}
    assert numbers["quoting.min_size_units"]["value"] == clip
    assert numbers["hedger.max_clip_units"]["value"] == clip
    assert numbers["hedger.max_clip_units"]["improved"]
    assert (
        report["numbers"]
        and "min(1, 0.1 / 0.2) = 0.5" in numbers["quoting.size_max_units"]["inputs"]
    )
    assert numbers["quoting.size_max_units"]["value"] == clip  # 0.5 x 1.18 x clip < clip
    assert numbers["hedger.trigger_units"]["value"] >= round(
        numbers["hedger.target_units"]["value"] + clip, 3
    )
    text = out_path.read_text(encoding="utf-8")
    assert "extends: defensive" in text
    assert f"min_size_units: {clip:g}" in text and "ceil_lot(max(0.05, 10 / (" in text

    code, out, err = run(capsys, "rules", "check", "--config-dir", str(config))
    assert code == 0, err
    assert "sol-500" in out
    resolved = resolve_profile("sol-500", ConfigDir(config)).profile
    assert resolved.regimes.default == "defensive"  # inherited from the parent
    assert resolved.hedger.max_clip_units == clip

    code, out, err = run(
        capsys, "diff-profiles", "defensive", "sol-500", "--config-dir", str(config), "--json"
    )
    assert code == 0, err
    changed = {item["path"]: item for item in json.loads(out)}
    assert changed["hedger.max_clip_units"]["old"] == 0.06
    assert changed["hedger.max_clip_units"]["new"] == clip
    assert "quoting.inventory_soft_cap_units" in changed
    assert "limits.max_position_usd" in changed


def test_size_with_too_little_collateral_exits_2_naming_both_numbers(
    venue: FakeVenue, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = config / "profiles" / "tiny.yaml"
    code, _, err = run(
        capsys,
        "size",
        "--market", "SOL",
        "--collateral", "12",
        "--rest-url", venue.base_url,
        "--price", "150",
        "--out", str(out_path),
    )  # fmt: skip
    assert code == 2
    assert "--collateral 12 USD is too small" in err and "at least 20.70 USD" in err
    assert not out_path.exists()


def test_size_refuses_an_out_path_outside_a_profiles_folder(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "size", "--market", "SOL", "--collateral", "500", "--out", str(config / "x.yaml")
    )
    assert code == 2
    assert "profiles/<id>.yaml" in err


def test_size_against_an_unreachable_venue_is_a_runtime_failure(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "size",
        "--market", "SOL",
        "--collateral", "500",
        "--rest-url", "http://127.0.0.1:9",
        "--out", str(config / "profiles" / "x.yaml"),
    )  # fmt: skip
    assert code == 1
    assert "error:" in err and "Traceback" not in err


def test_extra_market_knob_parses_figures_with_defaults() -> None:
    spec, stats = parse_extra_market("eth:3000:0.0001")
    assert spec.market_id == ETH.market_id
    assert stats == ListedStats(3000.0, 0.0001, 0.0, 2.0)
    with pytest.raises(UsageError, match="SYMBOL one of BTC, ETH, SOL"):
        parse_extra_market("DOGE:1")
    with pytest.raises(UsageError, match="figures must be numbers"):
        parse_extra_market("ETH:abc")


def test_listed_figures_for_an_unknown_market_are_refused() -> None:
    from solbot.adapters.venues.fake_lighter import FakeVenueConfig

    with pytest.raises(UsageError, match="market_stats: market 0 is neither"):
        FakeVenueConfig(market_stats={0: ListedStats(3000.0)})
    with pytest.raises(UsageError, match="needs mark_price > 0"):
        FakeVenueConfig(other_markets=(ETH,), market_stats={0: ListedStats(-1.0)})


def test_size_refuses_a_market_of_another_venue(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(config / "profiles" / "x.yaml")
    code, _, err = run(
        capsys, "size", "--market", "binance-usdm:SOLUSDT", "--collateral", "500", "--out", out
    )
    assert code == 2
    assert "binance-usdm:SOLUSDT is not" in err


def test_size_never_overwrites_its_own_parent_chain(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = config / "profiles" / "base.yaml"
    before = base.read_bytes()
    code, _, err = run(
        capsys,
        "size",
        "--market", "SOL",
        "--collateral", "500",
        "--extends", "defensive",
        "--out", str(base),
        "--overwrite",
        "--rest-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert code == 2
    assert "one of its parents" in err
    assert base.read_bytes() == before
