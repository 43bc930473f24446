"""`solbot size` arithmetic: the seed's set_market formulas, and where solbot departs from them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solbot.app.sizing import ParentSizes, SizingRequest, VenueMarket, size_profile
from solbot.app.sizing_profile import parent_sizes
from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir
from solbot.errors import UsageError

SOL = VenueMarket("SOL", 3, 0.050, 10.0, 0.10)
BASE = ParentSizes(0.061, 0.072, 0.05, 1.1, 1.4, {"inventory_tier1_units": 0.01})


def sized(price: float, collateral: float = 500.0, market: VenueMarket = SOL) -> dict[str, object]:
    sizing = size_profile(SizingRequest(market, price, collateral, BASE))
    return {number.path: number.value for number in sizing.numbers}


def test_min_clip_meets_the_quote_minimum_two_percent_below_the_price() -> None:
    values = sized(150.0)
    # 10 / (150 x 0.98) = 0.06803 -> rounded UP to the lot: 0.069 (0.068 x 147 = 9.996 < 10)
    assert values["quoting.min_size_units"] == 0.069
    assert values["quoting.size_min_units"] == 0.069


def test_min_clip_is_the_base_minimum_when_the_price_is_high() -> None:
    # 10 / (300 x 0.98) = 0.034 < 0.050: the base minimum binds
    assert sized(300.0)["quoting.min_size_units"] == 0.05


def test_seed_ratios_at_baseline_margin() -> None:
    values = sized(150.0)
    # size_max = ceil(0.069 x 0.072/0.061) = ceil(0.08144) = 0.082; soft cap 2x; trigger 1.5x
    assert values["quoting.size_max_units"] == 0.082
    assert values["quoting.inventory_soft_cap_units"] == 0.164
    assert values["hedger.trigger_units"] == 0.123
    assert values["hedger.target_units"] == 0.034  # floor(0.5 x 0.069)
    assert values["limits.max_position_usd"] == round(2 * 0.164 * 150.0, 2)
    assert values["limits.max_position_units"] is None
    assert values["quoting.clip_usd"] == 10.5
    assert values["params.inventory_tier1_units"] == 0.033  # 0.01 x 0.164 / 0.05


def test_hedge_clip_stays_at_the_venue_minimum_where_the_seed_scaled_it_below() -> None:
    # IMF 25 % (4x): the seed multiplied every size by baseline 0.10 / 0.25 = 0.4, so its hedge
    # clip (size_min x 0.4 = 0.0276 SOL, $4.1) was below the 0.05 SOL / $10 minimum.
    risky = VenueMarket("SOL", 3, 0.050, 10.0, 0.25)
    values = sized(150.0, market=risky)
    seed_clip = 0.069 * (0.10 / 0.25)
    assert seed_clip < 0.05
    assert values["hedger.max_clip_units"] == 0.069
    assert values["quoting.size_max_units"] == 0.069  # the scale shrinks it to the minimum only
    # trigger - target is still one legal clip
    assert values["hedger.trigger_units"] - values["hedger.target_units"] >= 0.069 - 1e-9


def test_collateral_too_small_names_the_collateral_and_the_amount_needed() -> None:
    with pytest.raises(UsageError) as caught:
        sized(150.0, collateral=15.0)
    message = str(caught.value)
    assert "--collateral 15 USD is too small" in message
    assert "0.069 SOL" in message  # the venue minimum clip
    assert "at least 20.70 USD" in message  # 2 x 0.069 x 150


def test_collateral_just_enough_sizes_everything_at_the_minimum() -> None:
    values = sized(150.0, collateral=20.70)
    assert values["quoting.size_max_units"] == 0.069  # capped at collateral / (2 x price)


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_a_non_positive_or_non_finite_collateral_is_a_usage_error(bad: float) -> None:
    with pytest.raises(UsageError, match="--collateral"):
        sized(150.0, collateral=bad)


def test_parent_sizes_convert_a_usd_size_at_the_price() -> None:
    folder = ConfigDir(shipped_config_dir())
    parent = resolve_profile("base", folder).profile
    quoting = parent.quoting.model_copy(
        update={"size_min_units": None, "size_min_usd": 9.0, "size_max_units": 0.072}
    )
    sizes = parent_sizes(parent.model_copy(update={"quoting": quoting}), 150.0)
    assert sizes.size_min_units == pytest.approx(0.06)
    assert sizes.size_max_units == 0.072
    assert "trend_override_units" in sizes.unit_params


@settings(max_examples=200, deadline=None)
@given(
    price=st.floats(0.5, 200_000),
    size_decimals=st.integers(0, 5),
    min_base=st.floats(0.0, 2.0),
    min_quote=st.floats(0.0, 200.0),
    imf=st.floats(0.01, 1.0),
    extra=st.floats(1.0, 50.0),
)
def test_every_clip_is_a_legal_order_and_the_limits_hold(
    price: float, size_decimals: int, min_base: float, min_quote: float, imf: float, extra: float
) -> None:
    market = VenueMarket("X", size_decimals, min_base, min_quote, imf)
    lot = 10.0**-size_decimals
    needed = 2 * max(min_base, min_quote / (price * 0.98), lot) * price
    try:
        sizing = size_profile(SizingRequest(market, price, needed * extra + 1, BASE))
    except UsageError:
        return  # lot rounding can need a little more than the estimate; covered above
    v = {number.path: number.value for number in sizing.numbers}
    clip = v["hedger.max_clip_units"]
    assert isinstance(clip, float)
    assert clip >= min_base - 1e-12
    assert clip * price * 0.98 >= min_quote - 1e-9
    assert v["quoting.size_max_units"] >= clip
    assert v["quoting.inventory_soft_cap_units"] >= v["quoting.size_max_units"]
    assert v["hedger.trigger_units"] - v["hedger.target_units"] >= clip - lot / 2
    assert v["hedger.target_units"] < v["hedger.trigger_units"]
    # the position limit's initial margin fits in the collateral
    position_usd = v["limits.max_position_usd"]
    assert isinstance(position_usd, float)
    assert position_usd * imf <= sizing.request.collateral_usd + 0.01
    assert v["limits.max_order_usd"] >= v["quoting.size_max_units"] * price
