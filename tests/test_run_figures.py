"""Run figures against numbers worked out by hand on a small ledger (not with the same code)."""

from __future__ import annotations

import pytest

from solbot.app.run_figures import compute_run_figures
from solbot.core.model import Fill, FundingPayment, Role, Side

NS = 1_000_000_000
DAY = 86_400 * NS
T0 = 1_700_000_000 * NS - (1_700_000_000 * NS) % DAY  # midnight UTC: 2023-11-14


def fill(t_s: float, side: Side, price: float, size: float, fee: float = 0.0) -> Fill:
    return Fill("sim", f"t{t_s}", T0 + round(t_s * NS), "SOL", side, price, size, Role.MAKER,
                fee_usd=fee, mid=price)  # fmt: skip


# buy 2 @ 100 at 10 s, sell 1 @ 103 at 20 s (+3), sell 1 @ 99 at 30 s (-1): flat again after 20 s;
# next day: sell 1 @ 110 at DAY+10 s, buy 1 @ 108 at DAY+40 s (+2): flat after 30 s;
# then buy 1 @ 107 at DAY+50 s, still open at the end (DAY+70 s).
FILLS = [
    fill(10, Side.BID, 100.0, 2.0, fee=0.02),
    fill(20, Side.ASK, 103.0, 1.0, fee=0.01),
    fill(30, Side.ASK, 99.0, 1.0, fee=0.01),
    fill(86_410, Side.ASK, 110.0, 1.0),
    fill(86_440, Side.BID, 108.0, 1.0),
    fill(86_450, Side.BID, 107.0, 1.0),
]
MARKS = [
    (T0 + 5 * NS, 100.0),
    (T0 + 15 * NS, 98.0),  # holding 2 bought at 100: unrealized -4
    (T0 + 25 * NS, 104.0),  # 1 left at 100: unrealized +4, realized +3
    (T0 + 35 * NS, 99.0),  # flat, realized +2
    (T0 + DAY + 20 * NS, 112.0),  # short 1 at 110: unrealized -2
    (T0 + DAY + 60 * NS, 105.0),  # long 1 at 107: unrealized -2
]
FUNDING = [FundingPayment("sim", T0 + 32 * NS, "SOL", 0.0001, 0.0, 99.0, 0.5)]
START, END = T0, T0 + DAY + 70 * NS


def test_equity_curve_is_realized_minus_fees_plus_funding_plus_unrealized_at_each_mark() -> None:
    result = compute_run_figures("SOL", FILLS, MARKS, FUNDING, START, END)
    # by hand: fees 0.02 after 10 s, 0.03 after 20 s, 0.04 after 30 s; funding +0.5 at 32 s
    expected = [0.0, -0.02 - 4.0, 3.0 - 0.03 + 4.0, 2.0 - 0.04 + 0.5, 2.46 - 2.0, 4.46 - 2.0]
    assert [v for _, v in result.equity] == pytest.approx(expected)
    assert [t for t, _ in result.equity] == [t for t, _ in MARKS]
    assert result.final_equity_usd == pytest.approx(2.46)


def test_max_drawdown_is_the_largest_fall_from_the_running_peak() -> None:
    result = compute_run_figures("SOL", FILLS, MARKS, FUNDING, START, END)
    # peaks 0 -> falls to -4.02 (4.02); peak 6.97 -> 2.46 (4.51) and 0.46 (6.51)
    assert result.max_drawdown_usd == pytest.approx(6.97 - 0.46)


def test_daily_net_pnl_is_the_change_of_equity_per_utc_day() -> None:
    result = compute_run_figures("SOL", FILLS, MARKS, FUNDING, START, END)
    assert result.daily_net_pnl_usd == pytest.approx(
        {"2023-11-14": 2.46, "2023-11-15": 2.46 - 2.46}
    )
    assert sum(result.daily_net_pnl_usd.values()) == pytest.approx(result.final_equity_usd)


def test_profit_factor_is_gross_profit_over_gross_loss_of_fifo_closes() -> None:
    result = compute_run_figures("SOL", FILLS, MARKS, FUNDING, START, END)
    # closes: +3 (103 - 100), -1 (99 - 100), +2 (110 - 108); the last buy opens
    assert (result.gross_profit_usd, result.gross_loss_usd) == pytest.approx((5.0, 1.0))
    assert result.profit_factor == pytest.approx(5.0)


def test_profit_factor_is_none_without_a_losing_close() -> None:
    winners = FILLS[:2]
    result = compute_run_figures("SOL", winners, MARKS, [], START, END)
    assert result.profit_factor is None and result.gross_profit_usd == pytest.approx(3.0)


def test_inventory_dwell_is_time_weighted_with_times_to_flat() -> None:
    result = compute_run_figures("SOL", FILLS, MARKS, FUNDING, START, END)
    # |inv| 2 for 10 s, 1 for 10 s, 1 (short) for 30 s, 1 for the last 20 s
    area = 2 * 10 + 1 * 10 + 1 * 30 + 1 * 20
    assert result.mean_abs_inventory == pytest.approx(area / (DAY / NS + 70))
    assert result.mean_time_to_flat_s == pytest.approx((20 + 30) / 2)
    assert result.max_time_to_flat_s == pytest.approx(30)
    assert result.open_excursion_s == pytest.approx(20)


def test_hit_rate_is_the_share_of_fills_with_a_positive_5s_markout() -> None:
    marks = [(T0 + s * NS, 100.0 + (0.5 if s >= 8 else 0.0)) for s in range(0, 20)]
    # mid 100 until 8 s, 100.5 after; each fill's own mid is 100 (its price)
    fills = [
        fill(2, Side.BID, 100.0, 1.0),  # mid at 7 s: 100 -> markout 0, not a hit
        fill(4, Side.BID, 100.0, 1.0),  # mid at 9 s: 100.5 -> bought below: hit
        fill(5, Side.ASK, 100.0, 1.0),  # mid at 10 s: 100.5 -> sold below: miss
        fill(30, Side.ASK, 100.0, 1.0),  # no mark near 35 s: not sampled
    ]
    result = compute_run_figures("SOL", fills, marks, [], T0, T0 + 40 * NS)
    assert result.hit_samples_5s == 3
    assert result.hit_rate_5s == pytest.approx(1 / 3)


def test_an_empty_run_has_neutral_figures() -> None:
    result = compute_run_figures("SOL", [], [], [], START, END)
    assert result.equity == [] and result.max_drawdown_usd == 0.0
    assert result.profit_factor is None and result.hit_rate_5s is None
    assert result.mean_abs_inventory == 0.0 and result.max_time_to_flat_s is None
