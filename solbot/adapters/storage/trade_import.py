"""Read Lighter `/api/v1/trades` JSON (a list, or an object with a `trades` list) into our fills.

Our side comes from ask_account_id / bid_account_id; we were maker iff (is_maker_ask and we were
the ask) or (not is_maker_ask and we were the bid). `maker_fee` / `taker_fee` are fee rates in
millionths of notional and are omitted when zero. Problems are reported with the line and column
of the offending trade object in the file.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solbot.adapters.storage.json_fields import FieldError, kind
from solbot.adapters.storage.json_fields import number as field_number
from solbot.core.model import Fill, Role, Side
from solbot.core.times import epoch_to_ns
from solbot.errors import DataError, Problem

_WHITESPACE = " \t\n\r"
_MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class TradeFile:
    """Our fills from one trades file, and what was left out and why."""

    fills: list[Fill]
    total: int
    not_ours: int = 0
    other_market: int = 0
    self_trades: int = 0
    market_ids: list[int] = field(default_factory=list)


def read_lighter_trades(
    path: Path,
    *,
    account_index: int,
    venue: str = "lighter",
    market: str = "SOL",
    market_id: int | None = None,
) -> TradeFile:
    """Parse a trades file; raise DataError (exit 3) naming file, line and field on bad input."""
    text = _read_text(path)
    items, offsets = _trade_items(path, text)
    locate = _Locator(text)
    reader = _TradeReader(str(path), account_index, venue, market, market_id)
    for index, (item, offset) in enumerate(zip(items, offsets, strict=True)):
        line, column = locate(offset)
        reader.read(item, index, line, column)
    if reader.problems:
        raise DataError(reader.problems)
    ids = sorted(reader.market_ids)
    if market_id is None and len(ids) > 1:
        message = f"trades of several markets (ids {ids}); pass --market-id to pick one"
        raise DataError(Problem(str(path), 1, 1, "market_id", message))
    return TradeFile(
        # API pages come newest first: store oldest first, and fills that share a millisecond
        # in the venue's own order (trade id), so FIFO matches `fetch-trades` exactly.
        fills=sorted(reader.fills, key=venue_order),
        total=len(items),
        not_ours=reader.not_ours,
        other_market=reader.other_market,
        self_trades=reader.self_trades,
        market_ids=ids,
    )


class _TradeReader:
    """Turns trade objects into fills, collecting every problem rather than stopping at one."""

    def __init__(
        self, path: str, account: int, venue: str, market: str, market_id: int | None
    ) -> None:
        self.path, self.account, self.venue = path, account, venue
        self.market, self.market_id = market, market_id
        self.fills: list[Fill] = []
        self.problems: list[Problem] = []
        self.market_ids: set[int] = set()
        self.not_ours = self.other_market = self.self_trades = 0

    def read(self, item: Any, index: int, line: int, column: int) -> None:
        where = f"trades[{index}]"
        if len(self.problems) >= _MAX_PROBLEMS:
            return
        if not isinstance(item, dict):
            self._problem(line, column, where, f"expected a trade object, found {kind(item)}")
            return
        try:
            self._read_trade(item, where)
        except FieldError as error:
            self._problem(line, column, f"{where}.{error.field}", error.message)

    def _read_trade(self, trade: dict[str, Any], where: str) -> None:
        ask_account = _optional_int(trade, "ask_account_id")
        bid_account = _optional_int(trade, "bid_account_id")
        if ask_account is None and bid_account is None:
            raise FieldError("ask_account_id", "missing: need ask_account_id or bid_account_id")
        ours_ask, ours_bid = ask_account == self.account, bid_account == self.account
        if ours_ask and ours_bid:
            self.self_trades += 1
            return
        if not (ours_ask or ours_bid):
            self.not_ours += 1
            return
        trade_market = _optional_int(trade, "market_id")
        if self.market_id is not None and trade_market != self.market_id:
            self.other_market += 1
            return
        if trade_market is not None:
            self.market_ids.add(trade_market)
        self.fills.append(self._fill(trade, Side.ASK if ours_ask else Side.BID))

    def _fill(self, trade: dict[str, Any], side: Side) -> Fill:
        maker_is_ask = _boolean(trade, "is_maker_ask")
        role = Role.MAKER if maker_is_ask == (side is Side.ASK) else Role.TAKER
        price = _positive(trade, "price")
        size = _positive(trade, "size" if trade.get("size") is not None else "base_amount")
        rate_field = "maker_fee" if role is Role.MAKER else "taker_fee"
        fee_rate = field_number(trade, rate_field) if trade.get(rate_field) is not None else 0.0
        kind = str(trade.get("type") or "trade")
        client_id = _optional_int(trade, "ask_client_id" if side is Side.ASK else "bid_client_id")
        return Fill(
            venue=self.venue,
            trade_id=_trade_id(trade),
            ts_ns=_timestamp_ns(trade),
            market=self.market,
            side=side,
            price=price,
            size=size,
            role=role,
            fee_usd=price * size * fee_rate / 1e6,
            client_id=client_id or None,
            tag="" if kind == "trade" else kind,
            source="import",
        )

    def _problem(self, line: int, column: int, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, column, field_name, message))


def _positive(trade: dict[str, Any], name: str) -> float:
    number = field_number(trade, name)
    if number <= 0:
        raise FieldError(name, f"expected a positive number, found {trade[name]!r}")
    return number


def _optional_int(trade: dict[str, Any], name: str) -> int | None:
    if trade.get(name) is None:
        return None
    number = field_number(trade, name)
    if number != int(number):
        raise FieldError(name, f"expected an integer, found {trade[name]!r}")
    return int(number)


def _boolean(trade: dict[str, Any], name: str) -> bool:
    value = trade.get(name)
    if isinstance(value, bool):
        return value
    if value in (0, 1, "true", "false"):
        return value in (1, "true")
    raise FieldError(name, "missing" if value is None else f"expected true/false, found {value!r}")


def venue_order(fill: Fill) -> tuple[int, int, str]:
    """Sort key of the venue's execution order: time, then numeric trade id."""
    number = int(fill.trade_id) if fill.trade_id.isdigit() else -1
    return fill.ts_ns, number, fill.trade_id


def _trade_id(trade: dict[str, Any]) -> str:
    for name in ("trade_id", "trade_id_str"):
        value = trade.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise FieldError("trade_id", "missing: need trade_id or trade_id_str")


def _timestamp_ns(trade: dict[str, Any]) -> int:
    value = field_number(trade, "timestamp")
    if value <= 0:
        raise FieldError("timestamp", f"expected a positive epoch time, found {value!r}")
    return epoch_to_ns(trade["timestamp"])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(Problem(str(path), 0, 0, "", "file not found")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(path), 0, 0, "", f"cannot read: {error}")) from None


def _trade_items(path: Path, text: str) -> tuple[list[Any], list[int]]:
    """The list of trade values and the offset in `text` where each one starts."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            Problem(str(path), error.lineno, error.colno, "", f"invalid JSON: {error.msg}")
        ) from None
    if isinstance(document, list):
        return document, _array_offsets(text, _skip(text, 0))
    if isinstance(document, dict) and isinstance(document.get("trades"), list):
        return document["trades"], _array_offsets(text, _member_start(text, "trades"))
    message = f"expected a list of trades or an object with a 'trades' list, found {kind(document)}"
    raise DataError(Problem(str(path), 1, 1, "trades", message))


_decoder = json.JSONDecoder()


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _array_offsets(text: str, index: int) -> list[int]:
    """Start offsets of the items of the (already validated) array whose '[' is at `index`."""
    offsets: list[int] = []
    index = _skip(text, index + 1)
    while text[index] != "]":
        offsets.append(index)
        _, index = _decoder.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return offsets


def _member_start(text: str, key: str) -> int:
    """Offset of the value of `key` in the (already validated) top-level object; the last wins."""
    found = -1
    index = _skip(text, _skip(text, 0) + 1)
    while text[index] != "}":
        name, index = _decoder.raw_decode(text, index)
        index = _skip(text, _skip(text, index) + 1)  # past ':'
        if name == key:
            found = index
        _, index = _decoder.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return found


class _Locator:
    """Offset to (line, column), both 1-based."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1
