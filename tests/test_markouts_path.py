"""Markouts read the price path at fill time + horizon, not the next sparse sample after it."""

from __future__ import annotations

import pytest

from solbot.app.metrics_compute import PriceHistory, fill_markout_bps, markouts
from solbot.core.model import Fill, Role, Side

NS = 1_000_000_000
T0 = 1_700_000_000 * NS


def ramp(seconds: float) -> float:
    """The true mid: a steady climb of 0.01 USD a second from 100."""
    return 100.0 + 0.01 * seconds


# marks once a second (as the session records them), on the ramp
MARKS = [(T0 + s * NS, ramp(s)) for s in range(0, 120)]


def bought(at_s: float, mid: float | None) -> Fill:
    return Fill("sim", f"f{at_s}", T0 + round(at_s * NS), "SOL", Side.BID, 100.0, 1.0,
                Role.MAKER, mid=mid)  # fmt: skip


def test_5s_markout_equals_the_mid_on_the_path_at_fill_time_plus_5s() -> None:
    fill = bought(0.3, ramp(0.3))
    value = fill_markout_bps(fill, PriceHistory(MARKS, [fill]), 5)
    by_hand = (ramp(5.3) - ramp(0.3)) / ramp(0.3) * 1e4  # 0.05 USD on 100.003: 4.9999 bps
    assert value == pytest.approx(by_hand, rel=1e-9)
    # the old rule took the first mark at or after 5.3 s, the 6 s one: 0.7 bps too high
    old = (ramp(6.0) - ramp(0.3)) / ramp(0.3) * 1e4
    assert old - value == pytest.approx(0.7, abs=0.001)


def test_fills_recorded_mids_are_points_of_the_path() -> None:
    # between marks at 10 s and 11 s, another fill recorded the mid at 10.5 s off the ramp
    spike = bought(10.5, 100.5)
    fill = bought(5.5, ramp(5.5))
    prices = PriceHistory(MARKS, [fill, spike])
    assert prices.mid_at(T0 + 10_500_000_000) == pytest.approx(100.5)
    assert fill_markout_bps(fill, prices, 5) == pytest.approx((100.5 - ramp(5.5)) / ramp(5.5) * 1e4)


def test_a_fill_without_a_recorded_mid_takes_the_path_at_its_time() -> None:
    fill = bought(2.25, None)
    value = fill_markout_bps(fill, PriceHistory(MARKS, [fill]), 1)
    assert value == pytest.approx((ramp(3.25) - ramp(2.25)) / ramp(2.25) * 1e4, rel=1e-9)


def test_no_markout_where_the_data_does_not_reach_the_horizon() -> None:
    fill = bought(118.0, ramp(118.0))
    out = markouts([fill], PriceHistory(MARKS, [fill]))
    assert out.samples == {"1": 1, "5": 0, "30": 0, "60": 0}


def test_a_stale_earlier_sample_is_not_interpolated_over() -> None:
    sparse = [(T0, 100.0), (T0 + 20 * NS, 101.0)]  # nothing between 0 and 20 s
    fill = bought(0.0, 100.0)
    # 5 s: no sample in [5 s, 10 s]; 18 s: 0 s is 18 s old, so the 20 s sample alone
    assert PriceHistory(sparse, [fill]).mid_at(T0 + 5 * NS) is None
    assert PriceHistory(sparse, [fill]).mid_at(T0 + 18 * NS) == 101.0
