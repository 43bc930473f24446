"""Funding on a live position: booked from changes of the position's cumulative funding paid."""

from __future__ import annotations

from lighter_support import ACCOUNT, account_frame, position

from solbot.adapters.venues.lighter.messages import FrameParser
from solbot.config.markets import resolve_market
from solbot.core.model import FundingPayment

SOL = resolve_market("lighter:SOL").spec


def held(paid: str | None, sign: int = 1, size: str = "0.100") -> dict[str, object]:
    entry = position(sign, size)
    if paid is not None:
        entry["total_funding_paid_out"] = paid
    return {"2": entry}


def payments(parser: FrameParser, frame: dict[str, object], ts_ns: int) -> list[FundingPayment]:
    events = parser.parse(frame, ts_ns).events
    return [event for event in events if isinstance(event, FundingPayment)]


def test_first_value_is_a_baseline_and_changes_are_payments() -> None:
    parser = FrameParser(SOL, ACCOUNT, history_cutoff_ns=0)
    assert payments(parser, account_frame(snapshot=True, positions=held("1.250000")), 1) == []
    assert payments(parser, account_frame(positions=held("1.250000")), 2) == []
    paid = payments(parser, account_frame(positions=held("1.260000")), 3)
    assert len(paid) == 1
    assert abs(paid[0].amount_usd + 0.01) < 1e-12  # paid out grew: we paid
    assert (paid[0].venue, paid[0].market, paid[0].position, paid[0].ts_ns) == (
        "lighter",
        "SOL",
        0.1,
        3,
    )
    received = payments(parser, account_frame(positions=held("1.255000", sign=-1)), 4)
    assert abs(received[0].amount_usd - 0.005) < 1e-12 and received[0].position == -0.1


def test_frames_without_the_field_or_without_positions_book_nothing() -> None:
    parser = FrameParser(SOL, ACCOUNT, history_cutoff_ns=0)
    assert payments(parser, account_frame(positions=held(None)), 1) == []
    assert payments(parser, account_frame(positions=held("2.0")), 2) == []
    assert payments(parser, account_frame(trades=[]), 3) == []  # no positions object
    assert len(payments(parser, account_frame(positions=held("2.5")), 4)) == 1
