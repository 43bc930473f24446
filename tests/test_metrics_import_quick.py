"""`metrics import-json` at scale: the quick path books exactly what the checked path books, and
a valid file is parsed once (a trade's line is looked up only when it has a problem)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solbot.adapters.storage import trade_import
from solbot.adapters.storage.trade_import import _TradeReader, read_lighter_trades
from solbot.errors import DataError

US = 42
MS = 1_700_000_000_000


def numbers(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: usually fine, sometimes of another shape the checked path rejects."""
    odd = st.sampled_from(
        [None, True, "abc", "", "nan", "inf", "-1", 0, -2.5, [1], {"x": 1}, "1e400", 1.5]
    )
    return st.one_of(good, good, good, odd)


@st.composite
def trades(draw: st.DrawFn) -> dict[str, Any]:
    trade: dict[str, Any] = {
        "trade_id": draw(
            st.one_of(st.integers(1, 10**9), st.sampled_from(["77", " 8 ", "", None]))
        ),
        "market_id": draw(numbers(st.sampled_from([2, 2, 3]))),
        "type": draw(st.sampled_from(["trade", "liquidation", None, ""])),
        "price": draw(numbers(st.sampled_from(["150.125", 150.5, 151, "0.000"]))),
        "size": draw(numbers(st.sampled_from(["0.100", 0.2, 3, None]))),
        "base_amount": draw(numbers(st.sampled_from(["0.300", 0.4]))),
        "ask_account_id": draw(numbers(st.sampled_from([US, 7, 9]))),
        "bid_account_id": draw(numbers(st.sampled_from([US, 8, 9]))),
        "is_maker_ask": draw(st.sampled_from([True, False, 1, 0, "true", None, "x"])),
        "maker_fee": draw(numbers(st.sampled_from([0, 28, "28"]))),
        "taker_fee": draw(numbers(st.sampled_from([196, "196", 0]))),
        "timestamp": draw(
            numbers(st.sampled_from([MS + 5, (MS + 7) / 1000, MS * 1000, str(MS + 9), MS // 1000]))
        ),
        "ask_client_id": draw(numbers(st.sampled_from([5, 0, 6.0]))),
        "bid_client_id": draw(numbers(st.sampled_from([9, 0]))),
    }
    for name in draw(st.lists(st.sampled_from(sorted(trade)), max_size=2, unique=True)):
        del trade[name]
    return trade


def read_all(items: list[Any], market_id: int | None, quick: bool) -> _TradeReader:
    reader = _TradeReader("f.json", US, "lighter", "SOL", market_id)
    if not quick:
        reader._quick = lambda trade: False  # type: ignore[method-assign]
    for index, item in enumerate(items):
        reader.read(item, index)
    return reader


@settings(max_examples=400, deadline=None)
@given(st.lists(trades(), max_size=8), st.sampled_from([None, 2]))
def test_quick_path_books_exactly_what_the_checked_path_books(
    items: list[dict[str, Any]], market_id: int | None
) -> None:
    quick, checked = read_all(items, market_id, True), read_all(items, market_id, False)
    assert quick.rows == checked.rows
    assert quick.problems == checked.problems
    counts = ("not_ours", "other_market", "self_trades", "market_ids")
    assert [getattr(quick, n) for n in counts] == [getattr(checked, n) for n in counts]


def trade(trade_id: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "trade_id": trade_id, "market_id": 2, "type": "trade", "price": "150.000",
        "size": "0.100", "ask_account_id": US, "bid_account_id": 8, "is_maker_ask": True,
        "timestamp": MS + trade_id,
    }  # fmt: skip
    base.update(fields)
    return base


def test_a_valid_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trades.json"
    path.write_text(json.dumps([trade(n) for n in range(50)], indent=2))

    def no_second_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("an item was decoded again to find its line")

    monkeypatch.setattr(trade_import._decoder, "raw_decode", no_second_parse)
    parsed = read_lighter_trades(path, account_index=US)
    assert len(parsed.rows) == 50
    assert parsed.fills[0].trade_id == "0"


def test_problems_still_name_the_line_of_their_trade(tmp_path: Path) -> None:
    path = tmp_path / "trades.json"
    items = [trade(n) for n in range(30)]
    items[7]["price"] = "cheap"
    items[23]["timestamp"] = -1
    path.write_text(json.dumps({"note": "x", "trades": items}, indent=1))
    with pytest.raises(DataError) as caught:
        read_lighter_trades(path, account_index=US)
    lines = path.read_text().splitlines()
    found = {(p.field, p.line) for p in caught.value.problems}
    price_line = next(i for i, text in enumerate(lines, 1) if '"cheap"' in text)
    stamp_line = next(i for i, text in enumerate(lines, 1) if '"timestamp": -1' in text)
    # each problem names the line where its trade object starts
    assert found == {("trades[7].price", price_line - 4), ("trades[23].timestamp", stamp_line - 9)}


def test_a_valid_object_file_is_not_decoded_again_to_find_its_trades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """{"trades": [...]} (the API's shape): where the array starts is looked up only for a
    problem; finding it decodes every member again (a second parse of the whole file)."""
    path = tmp_path / "trades.json"
    path.write_text(json.dumps({"code": 200, "trades": [trade(n) for n in range(50)]}))

    def no_second_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the document was decoded again")

    monkeypatch.setattr(trade_import._decoder, "raw_decode", no_second_parse)
    parsed = read_lighter_trades(path, account_index=US)
    assert len(parsed.rows) == 50


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([-2, 0, 5, 9, 10, 10**20]), st.booleans()),
        max_size=12,
    ),
    st.booleans(),
)
def test_rows_come_out_in_venue_order_whether_or_not_the_sort_is_skipped(
    stamps_ids: list[tuple[int, int, bool]], newest_first: bool
) -> None:
    """Rows in time then trade-id order, ties in file order: the sort is skipped only when the
    file already lists them so (oldest first), and the result is always sorted()'s."""
    items = [
        trade(trade_id, timestamp=MS + stamp, price="150.000" if quick else 150)
        | ({} if quick else {"market_id": 2.0})  # a float market id takes the checked path
        for stamp, trade_id, quick in sorted(stamps_ids, reverse=newest_first)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trades.json"
        path.write_text(json.dumps(items))
        parsed = read_lighter_trades(path, account_index=US)
    reader = _TradeReader(str(path), US, "lighter", "SOL", None)
    for index, item in enumerate(items):
        reader.read(item, index)
    assert parsed.rows == sorted(reader.rows, key=trade_import._row_order)
