"""Sizes and limits that work at any SOL price (issue 7 §3).

The shipped position limit was 0.3 SOL next to $50: below ~$33 the smallest order the venue takes
($10) is more than 0.3 SOL, so the 2022-2023 crash regimes gave "fills 0, tx 0" with no reason.
The fixture is 12 hours of Binance SOLUSDT 1m candles from 2022-09-22 (SOL $30.6-32.8).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from policy_helpers import SOL, Driver, config_with_profile, shipped_policy

from solbot.cli.main import main
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.core.denials import DenialTally
from solbot.core.model import Side
from solbot.core.quoting import QuoteIntent, Quotes
from solbot.core.risk import (
    Denial,
    DenialReason,
    RiskResult,
    RiskState,
    check_quotes,
    position_limit_lots,
)
from solbot.errors import ConfigError

CANDLES_2022 = Path(__file__).parent / "fixtures" / "binance_spot_SOLUSDT_1m_20220922.csv.gz"
UNIT_LIMIT = """\
schema: 2
kind: profile
id: unit_limit
extends: defensive
limits: {max_position_units: 0.3}   # the schema-1 shipped limit, next to base's $50
"""


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["simulate", "--data", str(CANDLES_2022), *args])
    return code, capsys.readouterr().out


# ----- end to end on 2022 candles ---------------------------------------------------------------


@pytest.mark.parametrize("profile", ["naive", "defensive"])
def test_shipped_profiles_fill_on_2022_candles_near_30_usd(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = simulate(capsys, "--profile", profile, "--out", str(tmp_path), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["fills"] > 0
    assert summary["quoting_denied_pct"] < 50.0


def test_a_unit_limit_below_the_minimum_order_is_reported_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_with_profile(tmp_path / "config", "unit_limit", UNIT_LIMIT)
    arguments = ["--profile", "unit_limit", "--config-dir", str(tmp_path / "config")]
    code, out = simulate(capsys, *arguments, "--out", str(tmp_path / "json"), "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["fills"], summary["tx_sent"]) == (0, 0)
    assert summary["quoting_denied_pct"] > 50.0
    assert set(summary["quoting_denied"]) == {DenialReason.POSITION_LIMIT.value}
    assert "0.3 SOL" in summary["quoting_denied_reason"]  # the limit, with its numbers
    code, console = simulate(capsys, *arguments, "--out", str(tmp_path / "text"))
    assert code == 0
    assert summary["quoting_denied_reason"] in " ".join(console.split())


# ----- the guard, pure ---------------------------------------------------------------------------


def test_the_tighter_of_the_unit_and_usd_limits_binds_at_the_current_mid() -> None:
    usd_only = shipped_policy("base").risk
    assert usd_only.max_position_lots is None
    assert position_limit_lots(usd_only, SOL, 30.0) == 1666  # $50 / $30 = 1.666 SOL
    assert position_limit_lots(usd_only, SOL, 250.0) == 200
    both = replace(usd_only, max_position_lots=300)
    assert position_limit_lots(both, SOL, 30.0) == 300
    assert position_limit_lots(both, SOL, 250.0) == 200
    assert position_limit_lots(replace(both, max_position_usd=None), SOL, 250.0) == 300


def _flat_quotes_at(mid_ticks: int, size: int) -> tuple[QuoteIntent, QuoteIntent]:
    return QuoteIntent(Side.BID, mid_ticks - 20, size), QuoteIntent(Side.ASK, mid_ticks + 20, size)


def test_a_denial_carries_its_typed_reason_and_the_numbers() -> None:
    risk = replace(shipped_policy("base").risk, max_position_lots=300)
    bid, ask = _flat_quotes_at(30_000, 350)
    result = check_quotes(risk, RiskState(), 0, SOL, 30.0, 29_990, 30_010, 0, bid, ask)
    assert result.bid is None and result.ask is None
    assert [denial.reason for denial in result.denied] == [DenialReason.POSITION_LIMIT] * 2
    denial = result.denied[0]
    assert (denial.side, denial.wanted_lots, denial.allowed_lots) == (Side.BID, 350, 300)
    assert denial.minimum_lots == SOL.min_lots_at(bid.price) == 334  # $10 at $29.98
    assert (denial.limit_units, denial.limit_usd) == (0.3, 50.0)


def test_the_shipped_usd_limit_lets_the_minimum_order_through_at_30_usd() -> None:
    bid, ask = _flat_quotes_at(30_000, 350)
    risk = shipped_policy("base").risk
    result = check_quotes(risk, RiskState(), 0, SOL, 30.0, 29_990, 30_010, 0, bid, ask)
    assert (result.bid, result.ask, result.denied) == (bid, ask, ())


def _denied(*reasons: DenialReason) -> RiskResult:
    return RiskResult(None, None, (), tuple(Denial(reason, Side.BID, 30.0) for reason in reasons))


def test_tally_counts_decisions_with_all_quoting_denied_by_their_real_reason() -> None:
    wanted = Quotes(*_flat_quotes_at(30_000, 350), 12.0, 0.0)
    tally = DenialTally()
    tally.add(wanted, _denied(DenialReason.BACKOFF, DenialReason.POSITION_LIMIT))
    tally.add(wanted, _denied(DenialReason.BACKOFF))
    tally.add(wanted, _denied(DenialReason.POSITION_LIMIT))
    tally.add(Quotes(None, None, 12.0, 0.0), _denied())  # the rules paused: not a denial
    partial = RiskResult(wanted.bid, None, (), (Denial(DenialReason.PRICE_BAND, Side.ASK, 30.0),))
    tally.add(wanted, partial)  # one side still quoted: not "all quoting denied"
    assert tally.counts == {DenialReason.POSITION_LIMIT: 2, DenialReason.BACKOFF: 1}
    assert tally.total == 3
    dominant = tally.dominant()
    assert dominant is not None and dominant.reason is DenialReason.POSITION_LIMIT


def test_a_profile_without_any_position_limit_is_refused(tmp_path: Path) -> None:
    text = (
        "schema: 2\nkind: profile\nid: no_limit\nextends: base\nlimits: {max_position_usd: null}\n"
    )
    config = config_with_profile(tmp_path, "no_limit", text)
    with pytest.raises(ConfigError) as error:
        resolve_profile("no_limit", config)
    (problem,) = error.value.problems
    assert problem.path == "profiles/no_limit.yaml" and problem.field.startswith("limits")


def test_every_shipped_profile_resolves_without_a_unit_position_limit() -> None:
    for name in ("base", "defensive", "aggressive", "naive"):
        limits = resolve_profile(name, ConfigDir(Path(__file__).parent.parent)).profile.limits
        assert (limits.max_position_units, limits.max_position_usd) == (None, 50.0), name


USD_SIZES = """\
schema: 2
kind: profile
id: usd_sizes
extends: base
quoting: {size_min_units: null, size_min_usd: 10.5, size_max_units: null, size_max_usd: 14}
"""


@pytest.mark.parametrize(("mid", "flat_lots"), [(30.0, 467), (200.0, 70)])
def test_quote_sizes_in_usd_convert_at_the_mid_of_each_decision(
    tmp_path: Path, mid: float, flat_lots: int
) -> None:
    config = config_with_profile(tmp_path, "usd_sizes", USD_SIZES)
    policy = compile_policy(resolve_profile("usd_sizes", config), SOL)
    plan = Driver(policy=policy, mid=mid).step(0)
    assert plan.quotes.bid is not None and plan.quotes.ask is not None
    assert plan.quotes.bid.size == plan.quotes.ask.size == flat_lots  # ceil($14 / mid)


def test_a_size_in_both_units_and_usd_is_refused(tmp_path: Path) -> None:
    text = "schema: 2\nkind: profile\nid: both\nextends: base\nquoting: {size_max_usd: 14}\n"
    config = config_with_profile(tmp_path, "both", text)
    with pytest.raises(ConfigError) as error:
        resolve_profile("both", config)
    assert "size_max_usd" in str(error.value) and error.value.problems[0].field == "quoting"
