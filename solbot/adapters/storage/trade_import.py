"""Read Lighter `/api/v1/trades` JSON (a list, or an object with a `trades` list) into our fills.

Our side comes from ask_account_id / bid_account_id; we were maker iff (is_maker_ask and we were
the ask) or (not is_maker_ask and we were the bid). `maker_fee` / `taker_fee` are fee rates in
millionths of notional and are omitted when zero. Problems are reported with the line and column
of the offending trade object in the file.
"""

from __future__ import annotations

import bisect
import json
import math
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


# A fill as the ledger stores it (Ledger.record_fill_rows): venue, trade_id, market, ts_ns, side,
# price, size, role, fee_usd, client_id, tag, mid, source.
FillRow = tuple[
    str, str, str, int, str, float, float, str, float, int | None, str, float | None, str
]


@dataclass(frozen=True, slots=True)
class TradeFile:
    """Our fills from one trades file (as ledger rows), and what was left out and why."""

    rows: list[FillRow]
    total: int
    not_ours: int = 0
    other_market: int = 0
    self_trades: int = 0
    market_ids: list[int] = field(default_factory=list)

    @property
    def fills(self) -> list[Fill]:
        """The rows as `Fill`s (oldest first)."""
        return [row_fill(row) for row in self.rows]


def row_fill(row: FillRow) -> Fill:
    """A ledger row of this module as a `Fill`."""
    venue, trade_id, market, ts_ns, side, price, size, role, fee, client_id, tag, mid, source = row
    return Fill(
        venue, trade_id, ts_ns, market, _SIDES[side], price, size, Role(role), fee, client_id,
        tag, mid, source,
    )  # fmt: skip


_SIDES = {"bid": Side.BID, "ask": Side.ASK}


def read_lighter_trades(
    path: Path,
    *,
    account_index: int,
    venue: str = "lighter",
    market: str = "SOL",
    market_id: int | None = None,
) -> TradeFile:
    """Parse a trades file; raise DataError (exit 3) naming file, line and field on bad input.

    The document is parsed once; a trade's line is looked up only when it has a problem."""
    text = _read_text(path)
    items, wrapped = _trade_items(path, text)
    reader = _TradeReader(str(path), account_index, venue, market, market_id)
    for index, item in enumerate(items):
        if len(reader.problems) >= _MAX_PROBLEMS:
            break
        reader.read(item, index)
    if reader.problems:
        # Where the array starts is looked up only now: finding the 'trades' member decodes
        # the document's members again, which cost a quarter of a valid import's parsing.
        array_start = _member_start(text, "trades") if wrapped else _skip(text, 0)
        raise DataError(_located(text, array_start, reader.problems))
    ids = sorted(reader.market_ids)
    if market_id is None and len(ids) > 1:
        message = f"trades of several markets (ids {ids}); pass --market-id to pick one"
        raise DataError(Problem(str(path), 1, 1, "market_id", message))
    return TradeFile(
        # API pages come newest first: store oldest first, and fills that share a millisecond
        # in the venue's own order (trade id), so FIFO matches `fetch-trades` exactly.
        rows=reader.rows if reader.in_order else sorted(reader.rows, key=_row_order),
        total=len(items),
        not_ours=reader.not_ours,
        other_market=reader.other_market,
        self_trades=reader.self_trades,
        market_ids=ids,
    )


@dataclass(frozen=True, slots=True)
class _ItemProblem:
    """A problem of the trade at `index` of the array, before its line is known."""

    path: str
    index: int
    field: str
    message: str


def _located(text: str, array_start: int, problems: list[_ItemProblem]) -> list[Problem]:
    """Problems with the line and column where each trade starts (one scan of the array)."""
    offsets = _array_offsets(text, array_start, max(p.index for p in problems) + 1)
    locate = _Locator(text)
    located = []
    for problem in problems:
        line, column = locate(offsets[problem.index])
        located.append(Problem(problem.path, line, column, problem.field, problem.message))
    return located


class _TradeReader:
    """Turns trade objects into fill rows, collecting every problem rather than stopping at one.

    A trade of the usual shape (integer accounts and market, boolean is_maker_ask, numbers as
    strings or numbers) takes the quick path; anything else, or anything the quick path doubts,
    goes through the checked path that names the field."""

    def __init__(
        self, path: str, account: int, venue: str, market: str, market_id: int | None
    ) -> None:
        self.path, self.account, self.venue = path, account, venue
        self.market, self.market_id = market, market_id
        self.rows: list[FillRow] = []
        self.problems: list[_ItemProblem] = []
        self.market_ids: set[int] = set()
        self.not_ours = self.other_market = self.self_trades = 0
        # True while every row came from the quick path in venue order (a file listed oldest
        # first): sorting is then skipped (~0.3 s of 1 M fills).
        self.in_order = True
        self._last_stamp = self._last_id = -1

    @property
    def fills(self) -> list[Fill]:
        """The fills read so far, in the order read."""
        return [row_fill(row) for row in self.rows]

    def listed_problems(self) -> list[Problem]:
        """The problems with the trade's 1-based position in the list as its line (no file)."""
        return [Problem(p.path, p.index + 1, 1, p.field, p.message) for p in self.problems]

    def read(self, item: Any, index: int) -> None:
        if type(item) is dict and self._quick(item):
            return
        if len(self.problems) >= _MAX_PROBLEMS:
            return
        where = f"trades[{index}]"
        if not isinstance(item, dict):
            self._problem(index, where, f"expected a trade object, found {kind(item)}")
            return
        try:
            self._read_trade(item, where)
        except FieldError as error:
            self._problem(index, f"{where}.{error.field}", error.message)

    def _quick(self, trade: dict[str, Any]) -> bool:
        """Book a trade of the usual shape exactly as the checked path would; False: not sure.

        The usual shape: integer accounts, market, trade id and millisecond timestamp, boolean
        is_maker_ask, numbers as strings or JSON numbers. One function, for speed."""
        get = trade.get
        ask, bid = get("ask_account_id"), get("bid_account_id")
        if type(ask) is not int or type(bid) is not int:
            return False
        ours_ask = ask == self.account
        if ours_ask == (bid == self.account):
            if ours_ask:
                return False  # a self-trade: the checked path counts it
            self.not_ours += 1
            return True
        trade_market, maker_is_ask = get("market_id"), get("is_maker_ask")
        if type(trade_market) is not int or type(maker_is_ask) is not bool:
            return False
        if self.market_id is not None and trade_market != self.market_id:
            self.other_market += 1
            return True
        maker = maker_is_ask == ours_ask
        price: Any = get("price")
        size: Any = get("size")
        rate: Any = get("maker_fee" if maker else "taker_fee")
        if size is None:
            size = get("base_amount")
        stamp, trade_id = get("timestamp"), get("trade_id")
        client = get("ask_client_id" if ours_ask else "bid_client_id")
        if (
            type(stamp) is not int
            or not 10**11 <= stamp < 10**14
            or type(trade_id) is not int
            or type(price) not in _NUMERIC
            or type(size) not in _NUMERIC
            or (rate is not None and type(rate) not in _NUMERIC)
            or (client is not None and type(client) is not int)
        ):
            return False
        try:
            price, size = float(price), float(size)
            rate = 0.0 if rate is None else float(rate)
        except ValueError:
            return False
        if not (0 < price < _INFINITY and 0 < size < _INFINITY and -_INFINITY < rate < _INFINITY):
            return False
        kind_name = str(get("type") or "trade")
        if self.in_order:
            last = self._last_stamp
            if stamp > last or (stamp == last and trade_id >= self._last_id >= 0):
                self._last_stamp, self._last_id = stamp, trade_id
            else:
                self.in_order = False
        self.market_ids.add(trade_market)
        self.rows.append(
            (
                self.venue, str(trade_id), self.market, stamp * 1_000_000,
                "ask" if ours_ask else "bid", price, size, "maker" if maker else "taker",
                price * size * rate / 1e6, client or None,
                "" if kind_name == "trade" else kind_name, None, "import",
            )
        )  # fmt: skip
        return True

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
        fill = self._fill(trade, Side.ASK if ours_ask else Side.BID)
        self.in_order = False  # its order is left to the sort
        self.rows.append(
            (
                fill.venue, fill.trade_id, fill.market, fill.ts_ns, fill.side.label, fill.price,
                fill.size, fill.role.value, fill.fee_usd, fill.client_id, fill.tag, fill.mid,
                fill.source,
            )
        )  # fmt: skip

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

    def _problem(self, index: int, field_name: str, message: str) -> None:
        self.problems.append(_ItemProblem(self.path, index, field_name, message))


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


def _row_order(row: FillRow) -> tuple[int, int, str]:
    """venue_order of a fill row."""
    trade_id = row[1]
    return row[3], (int(trade_id) if trade_id.isdigit() else -1), trade_id


_INFINITY = math.inf
_NUMERIC = frozenset((str, float, int))  # what json_fields.number accepts (bool is not int here)


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


def _trade_items(path: Path, text: str) -> tuple[list[Any], bool]:
    """The list of trade values, and whether it is the 'trades' member of an object."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(
            Problem(str(path), error.lineno, error.colno, "", f"invalid JSON: {error.msg}")
        ) from None
    if isinstance(document, list):
        return document, False
    if isinstance(document, dict) and isinstance(document.get("trades"), list):
        return document["trades"], True
    message = f"expected a list of trades or an object with a 'trades' list, found {kind(document)}"
    raise DataError(Problem(str(path), 1, 1, "trades", message))


_decoder = json.JSONDecoder()


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _array_offsets(text: str, index: int, count: int) -> list[int]:
    """Start offsets of the first `count` items of the (already validated) array whose '[' is
    at `index`."""
    offsets: list[int] = []
    index = _skip(text, index + 1)
    while text[index] != "]" and len(offsets) < count:
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
