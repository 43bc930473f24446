"""Fake Lighter venue pieces without sockets: formats, knobs, tx parsing, depth, feeds, PnL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakevenue_support import recorded_chunk

from solbot.adapters.venues.fake_lighter import (
    FakeVenueConfig,
    FaultError,
    FaultSettings,
    apply_fault,
    faults_from_assignments,
)
from solbot.adapters.venues.fake_lighter.account import Position
from solbot.adapters.venues.fake_lighter.depth import BookPublisher, DepthModel
from solbot.adapters.venues.fake_lighter.feed import (
    KIND_BOOK,
    KIND_TRADE,
    MarketEvent,
    RecordedFeed,
    ReplaySchedule,
    SyntheticFeed,
)
from solbot.adapters.venues.fake_lighter.rest import RollingLimiter, check_auth_token
from solbot.adapters.venues.fake_lighter.txs import TxRejected, parse_batch, parse_tx
from solbot.adapters.venues.fake_lighter.wire import scaled, wire_channel
from solbot.core.model import Side
from solbot.errors import UsageError


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (150_000, 3, "150.000"),
        (75_515, 3, "75.515"),
        (-50, 3, "-0.050"),
        (0, 3, "0.000"),
        (7, 0, "7"),
        (1, 6, "0.000001"),
    ],
)
def test_scaled_prints_exactly_the_decimals(units: int, decimals: int, text: str) -> None:
    assert scaled(units, decimals) == text


def test_channel_names_use_colons_on_the_wire() -> None:
    assert wire_channel("account_orders/2/11") == "account_orders:2:11"


@pytest.mark.parametrize(
    ("assignment", "field", "value"),
    [
        ("drop_socket=now", "drop_socket_now", True),
        ("drop_socket=0", "drop_socket_now", True),
        ("drop_socket=2.5", "drop_socket_every_s", 2.5),
        ("skip_book_nonce", "skip_book_nonce", 1),
        ("skip_book_nonce=3", "skip_book_nonce", 3),
        ("resend_old_trades=4", "resend_old_trades", 4),
        ("rate_limit_after=10", "rate_limit_after", 10),
        ("rate_limit_after=off", "rate_limit_after", None),
        ("nonce_error_once=yes", "nonce_error_once", True),
        ("delay_ms=250", "delay_ms", 250),
        ("shutdown=500", "shutdown_close_in_ms", 500),
        ("stop_pings=true", "stop_pings", True),
        ("no_pong_close_s=1.5", "no_pong_close_s", 1.5),
        ("ping_interval_s=3", "ping_interval_s", 3.0),
    ],
)
def test_fault_assignments(assignment: str, field: str, value: Any) -> None:
    faults = faults_from_assignments([assignment])
    assert getattr(faults, field) == value


@pytest.mark.parametrize(
    ("knob", "value", "fragment"),
    [
        ("bogus", 1, "unknown fault knob 'bogus'"),
        ("delay_ms", -5, "delay_ms: expected a number >= 0"),
        ("delay_ms", 1.5, "delay_ms: expected a whole number"),
        ("resend_old_trades", 0, "resend_old_trades"),
        ("nonce_error_once", "maybe", "nonce_error_once: expected true or false"),
        ("no_pong_close_s", 0, "no_pong_close_s"),
        ("drop_socket", "often", "drop_socket: expected a number"),
    ],
)
def test_bad_fault_values_name_the_knob(knob: str, value: Any, fragment: str) -> None:
    with pytest.raises(FaultError, match=fragment):
        apply_fault(FaultSettings(), knob, value)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"host": "0.0.0.0"}, "binds 127.0.0.1 only"),
        ({"tier": "gold"}, "tier"),
        ({"speed": 0}, "speed"),
        ({"synthetic": True, "data_paths": ("a.csv",)}, "synthetic feed takes no data files"),
        ({"api_keys": {300: ""}}, "key index must be 0..254"),
    ],
)
def test_config_refuses_bad_settings(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        FakeVenueConfig(**overrides)


def create(**fields: Any) -> dict[str, Any]:
    info = {
        "AccountIndex": 1,
        "ApiKeyIndex": 4,
        "MarketIndex": 2,
        "ClientOrderIndex": 1,
        "BaseAmount": 100,
        "Price": 150_000,
        "IsAsk": 0,
        "Type": 0,
        "TimeInForce": 1,
        "ReduceOnly": 0,
        "TriggerPrice": 0,
        "OrderExpiry": -1,
        "ExpiredAt": 0,
        "Nonce": 0,
        "Sig": "x",
    }
    info.update(fields)
    return info


@pytest.mark.parametrize(
    ("tx_type", "info", "code"),
    [
        (14, "{not json", 21501),
        (14, create(Sig=""), 21501),
        (14, create(BaseAmount=0), 21701),
        (14, create(IsAsk=2), 21703),
        (14, create(TimeInForce=5), 21705),
        (14, create(Type=1, TimeInForce=1), 21705),  # market orders are IOC
        (14, create(TriggerPrice=10), 21729),
        (14, create(ApiKeyIndex=255), 21110),
        (
            15,
            {
                "AccountIndex": 1,
                "ApiKeyIndex": 4,
                "MarketIndex": 2,
                "Index": 0,
                "Nonce": 0,
                "Sig": "x",
            },
            21700,
        ),
        (
            16,
            {
                "AccountIndex": 1,
                "ApiKeyIndex": 4,
                "TimeInForce": 1,
                "Time": 0,
                "Nonce": 0,
                "Sig": "x",
            },
            21714,
        ),
        (
            16,
            {
                "AccountIndex": 1,
                "ApiKeyIndex": 4,
                "TimeInForce": 0,
                "Time": 5,
                "Nonce": 0,
                "Sig": "x",
            },
            21714,
        ),
        (
            16,
            {
                "AccountIndex": 1,
                "ApiKeyIndex": 4,
                "TimeInForce": 3,
                "Time": 0,
                "Nonce": 0,
                "Sig": "x",
            },
            21713,
        ),
        (20, create(), 21505),
    ],
)
def test_parse_tx_refusals(tx_type: int, info: Any, code: int) -> None:
    with pytest.raises(TxRejected) as refused:
        parse_tx(tx_type, info)
    assert refused.value.code == code


def test_parse_tx_accepts_string_and_object_forms() -> None:
    as_text = parse_tx(14, json.dumps(create()))
    assert as_text == parse_tx(14, create())
    assert as_text.header.api_key_index == 4


@pytest.mark.parametrize(
    ("types", "infos", "code"),
    [
        ("[14]", "[]", 21513),
        ("[]", "[]", 20001),
        (json.dumps([14] * 51), json.dumps(["{}"] * 51), 21514),
        ("nope", "[]", 20001),
    ],
)
def test_parse_batch_refusals(types: str, infos: str, code: int) -> None:
    with pytest.raises(TxRejected) as refused:
        parse_batch(types, infos)
    assert refused.value.code == code


def test_depth_grid_keeps_levels_when_the_touch_moves_one_tick() -> None:
    depth = DepthModel(levels=5, step_ticks=10, unit_lots=20_000, seed=1)
    bids, asks = depth.compose((149_995, 3_000, 150_005, 4_000), {}, {})
    assert sorted(bids, reverse=True) == [149_995, 149_990, 149_980, 149_970, 149_960]
    assert sorted(asks) == [150_005, 150_010, 150_020, 150_030, 150_040]
    moved_bids, _ = depth.compose((149_996, 3_000, 150_005, 4_000), {}, {})
    changed = {p for p in bids.keys() | moved_bids.keys() if bids.get(p) != moved_bids.get(p)}
    assert changed == {149_995, 149_996}


def test_depth_adds_our_orders_and_never_crosses_them() -> None:
    depth = DepthModel(levels=3, step_ticks=10, unit_lots=1_000, seed=0)
    bids, asks = depth.compose((149_995, 3_000, 150_005, 4_000), {149_990: 100}, {149_995: 50})
    assert asks[149_995] == 50 and max(bids) < min(asks)
    assert (
        bids[149_990] == 100 + depth.compose((149_995, 3_000, 150_005, 4_000), {}, {})[0][149_990]
    )


def test_publisher_diffs_spell_deletes_and_chain_nonces() -> None:
    publisher = BookPublisher(seed=2)
    first = publisher.publish({100: 5, 99: 7}, {101: 3}, skip_nonce=False)
    assert first.bids == [(99, 7), (100, 5)] and first.asks == [(101, 3)]
    nonce = publisher.nonce
    assert publisher.publish({100: 5, 99: 7}, {101: 3}, skip_nonce=False).empty
    assert publisher.nonce == nonce  # nothing changed: no frame, no nonce
    second = publisher.publish({100: 6}, {101: 3}, skip_nonce=False)
    assert second.bids == [(99, 0), (100, 6)]
    assert publisher.begin_nonce == nonce and publisher.nonce > nonce
    nonce = publisher.nonce
    publisher.publish({100: 7}, {101: 3}, skip_nonce=True)
    assert publisher.begin_nonce > nonce and publisher.gaps_injected == 1


def btc_chunk() -> Any:
    return recorded_chunk(
        [
            (0.0, KIND_BOOK, 60_000_000, 1_000, 60_000_100, 0),  # 60000.000 / 60000.100
            (0.1, KIND_TRADE, 60_000_100, 500, 0, 1),
            (0.2, KIND_BOOK, 60_600_000, 1_000, 60_600_100, 0),  # +1%
        ]
    )


def test_recorded_feed_rescales_keeping_relative_moves_and_notional() -> None:
    feed = RecordedFeed(lambda: [btc_chunk()], 150_000, min_spread_ticks=5)
    first, trade, moved = list(feed)
    assert first.offset_ns == 0 and moved.offset_ns == 200_000_000
    assert (first.bid + first.ask) / 2 == pytest.approx(150_000, abs=1)
    assert first.ask - first.bid == 5  # a 0.1 USD BTC spread would round to 0 SOL ticks
    assert (moved.bid + moved.ask) / 2 / ((first.bid + first.ask) / 2) == pytest.approx(1.01, 1e-4)
    ratio = 150_000 / 60_000_050
    assert first.bid_size == round(1_000 / ratio)  # same USD notional at the new price
    assert trade.aggressor == 1 and trade.price >= first.ask  # a buy trades at the ask or above
    assert trade.size == round(500 / ratio)


def test_recorded_feed_loops_from_where_it_ended() -> None:
    feed = RecordedFeed(lambda: [btc_chunk()], 150_000, min_spread_ticks=5, loop=True)
    events = iter(feed)
    first_pass = [next(events) for _ in range(3)]
    second_first = next(events)
    assert second_first.offset_ns > first_pass[-1].offset_ns
    end_mid = (first_pass[-1].bid + first_pass[-1].ask) / 2
    assert (second_first.bid + second_first.ask) / 2 == pytest.approx(end_mid, abs=1)
    assert feed.passes == 1


def test_synthetic_feed_is_seeded_and_never_crossed() -> None:
    def take(seed: int) -> list[MarketEvent]:
        events = iter(SyntheticFeed(150_000, seed=seed, min_spread_ticks=5))
        return [next(events) for _ in range(500)]

    assert take(3) == take(3) and take(3) != take(4)
    books = [e for e in take(3) if e.kind == KIND_BOOK]
    trades = [e for e in take(3) if e.kind == KIND_TRADE]
    assert books and trades and all(e.ask - e.bid >= 5 for e in books)
    offsets = [e.offset_ns for e in take(3)]
    assert offsets == sorted(offsets)


def test_replay_schedule_releases_at_speed() -> None:
    events = [MarketEvent(5_000, KIND_BOOK), MarketEvent(1_005_000, KIND_BOOK)]
    schedule = ReplaySchedule(events, start_ns=10_000, speed=2.0)
    assert len(schedule.due(10_000)) == 1  # the first event is due at once
    assert schedule.due(10_000 + 499_999) == []
    assert not schedule.exhausted
    assert len(schedule.due(10_000 + 500_000)) == 1
    assert schedule.due(10**12) == [] and schedule.exhausted and schedule.released == 2


def test_position_average_cost_realizes_and_flips() -> None:
    position = Position()
    assert position.apply(Side.BID, 100.0, 200, 1_000) == 0.0
    assert position.apply(Side.BID, 103.0, 100, 1_000) == 0.0
    assert position.avg_entry_price == pytest.approx(101.0)
    realized = position.apply(Side.ASK, 102.0, 500, 1_000)  # sell 0.5: close 0.3, open 0.2 short
    assert realized == pytest.approx(0.3)
    assert position.lots == -200 and position.avg_entry_price == 102.0
    wire = position.to_wire(_market(), 101.0, 0)
    assert (wire["sign"], wire["position"]) == (-1, "0.200")
    assert float(wire["unrealized_pnl"]) == pytest.approx(0.2)


def _market() -> Any:
    from solbot.adapters.venues.fake_lighter import SOL_MARKET

    return SOL_MARKET


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (None, "auth field is required"),
        ("garbage", "invalid auth token"),
        ("100:11:4:abcd", "expired"),
        ("9999999999:12:4:abcd", "for account 12"),
        ("9999999999:11:300:abcd", "api key index 300"),
    ],
)
def test_auth_token_checks(token: str | None, problem: str) -> None:
    assert problem in (check_auth_token(token, 11, now_s=1_000) or "")


def test_auth_token_accepts_a_live_token_for_the_account() -> None:
    assert check_auth_token("2000:11:4:" + "ab" * 40, 11, now_s=1_000) is None


def test_rolling_limiter_counts_a_sliding_minute() -> None:
    limiter = RollingLimiter()
    assert all(limiter.allow(i, 3) for i in range(3))
    assert not limiter.allow(10, 3) and limiter.refused == 1
    assert limiter.allow(60_000_000_000, 3)  # the first request left the window
    assert limiter.used(60_000_000_000) == 3
