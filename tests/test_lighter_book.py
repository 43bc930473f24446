"""Order book: snapshot, absolute-size diffs, zero deletes, numeric prices, nonce continuity."""

from __future__ import annotations

import pytest
from lighter_support import SOL, book_snapshot, book_update, levels

from solbot.adapters.venues.lighter.book import OrderBook


def built() -> OrderBook:
    book = OrderBook(SOL)
    snap = book_snapshot(
        100,
        levels(("150.100", "1.000"), ("150.050", "2.500")),
        levels(("150.200", "0.700"), ("150.300", "3.000")),
    )
    book.apply_snapshot(snap["order_book"])
    return book


def test_snapshot_gives_best_levels_in_ticks_and_lots() -> None:
    book = built()
    assert book.valid
    assert book.best_bid() == (150_100, 1_000)
    assert book.best_ask() == (150_200, 700)
    top = book.top(5, 6)
    assert (top.bid_price, top.bid_size, top.ask_price, top.ask_size) == (150100, 1000, 150200, 700)


def test_update_sets_absolute_size_and_zero_deletes() -> None:
    book = built()
    diff = book_update(100, 123, levels(("150.100", "0.400")), levels(("150.200", "0.000")))
    assert book.apply_update(diff["order_book"])
    assert book.best_bid() == (150_100, 400)  # absolute, not added
    assert book.best_ask() == (150_300, 3_000)  # "0.000" deleted the level
    assert book.nonce == 123


def test_prices_compare_numerically_not_as_text() -> None:
    book = built()
    # "150.1" is the same level as "150.100"; text comparison would add a second level.
    diff = book_update(100, 101, levels(("150.1", "0")), [])
    assert book.apply_update(diff["order_book"])
    assert book.best_bid() == (150_050, 2_500)


def test_new_best_level_and_non_contiguous_nonce_range() -> None:
    book = built()
    assert book.apply_update(
        book_update(100, 9_000, levels(("150.150", "0.100")), [])["order_book"]
    )
    assert book.apply_update(
        book_update(9_000, 9_022, [], levels(("150.180", "0.2")))["order_book"]
    )
    assert book.best_bid() == (150_150, 100)
    assert book.best_ask() == (150_180, 200)


def test_gap_invalidates_and_later_diffs_are_ignored_until_snapshot() -> None:
    book = built()
    assert not book.apply_update(
        book_update(101, 130, levels(("150.150", "1.0")), [])["order_book"]
    )
    assert not book.valid and "gap" in book.invalid_reason and book.gaps == 1
    assert not book.apply_update(
        book_update(130, 140, levels(("150.160", "1.0")), [])["order_book"]
    )
    assert book.best_bid() == (150_100, 1_000)  # nothing applied on a stale base
    book.apply_snapshot(book_snapshot(500, levels(("149.000", "1.000")), [])["order_book"])
    assert book.valid and book.best_bid() == (149_000, 1_000) and book.best_ask() is None


def test_crossed_book_is_invalid() -> None:
    book = built()
    assert not book.apply_update(
        book_update(100, 101, levels(("150.250", "1.000")), [])["order_book"]
    )
    assert not book.valid and "crossed" in book.invalid_reason


@pytest.mark.parametrize("bad", ["150.1234", "abc", None, "-1.000"])
def test_bad_levels_raise_before_changing_the_book(bad: object) -> None:
    book = built()
    diff = book_update(
        100, 101, [{"price": "150.000", "size": "1.000"}, {"price": bad, "size": "1"}], []
    )
    with pytest.raises(ValueError):
        book.apply_update(diff["order_book"])
    assert book.best_bid() == (150_100, 1_000) and book.nonce == 100
