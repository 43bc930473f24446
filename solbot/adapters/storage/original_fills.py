"""Read the original bot's fill ledger (`data/metrics/fills.jsonl`, one `FillEvent` per line).

A FillEvent (original-system.md §4) has: timestamp (float seconds), market ("market:2"), role
(maker/taker), side (our bid/ask), size, price, notional, base_delta (signed), quote_delta,
fee_paid, fee_currency, mid_price, trade_id (int), source ("account_listener" | "backfill");
numbers may be strings (the original wrote Decimals as strings).

Fixes applied on the way in (each counted in `OriginalFillFile`):
- **side**: the sign of `base_delta` is what moved the original's inventory, so it decides our
  side (> 0 bought: bid, < 0 sold: ask). A line whose `side` disagrees is the original's
  role/side bug (notes 2025-11-10: "Ledger importer needed role/side fix"); its side is corrected.
- **role**: the original derived the role from that same side (maker iff `is_maker_ask` matched
  our side, §4 and §7), so a line whose side was wrong has its role flipped too.
- **repeats**: the original re-applied the account stream's history on every reconnect and
  wrote the same trade again (§9 item 8); fills are keyed by (venue, trade_id), so a repeat is
  stored once and counted.
FIFO is not the reader's business: the ledger's FIFO (one book, shorts matched oldest first)
replaces the original's LIFO short matching when the fills are read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solbot.adapters.storage.json_fields import FieldError, kind
from solbot.adapters.storage.json_fields import number as field_number
from solbot.core.model import Fill, Role, Side
from solbot.core.times import epoch_to_ns
from solbot.errors import DataError, Problem

_MAX_PROBLEMS = 20
_SIDES = {"bid": Side.BID, "buy": Side.BID, "ask": Side.ASK, "sell": Side.ASK}
_ROLES = {"maker": Role.MAKER, "taker": Role.TAKER}
_SIZE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class OriginalFillFile:
    """Fills read from one fills.jsonl, oldest first, and what was changed or left out."""

    fills: list[Fill]
    lines: int
    repeated: int  # lines whose trade_id an earlier line of the file already had
    other_market: int
    side_fixed: int  # side (and role with it) corrected from the sign of base_delta
    blank: int


def read_original_fills(
    path: Path, *, venue: str = "lighter", market: str = "SOL", market_id: int = 2
) -> OriginalFillFile:
    """Parse a FillEvent JSONL file; raise DataError (exit 3) naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(Problem(str(path), 0, 0, "", "file not found")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(path), 0, 0, "", f"cannot read: {error}")) from None
    reader = _Reader(str(path), venue, market, f"market:{market_id}")
    for number, line in enumerate(text.splitlines(), start=1):
        reader.read(line, number)
    if reader.problems:
        raise DataError(reader.problems)
    fills = sorted(reader.fills, key=_order)
    return OriginalFillFile(
        fills=fills,
        lines=reader.lines,
        repeated=reader.repeated,
        other_market=reader.other_market,
        side_fixed=reader.side_fixed,
        blank=reader.blank,
    )


def _order(fill: Fill) -> tuple[int, int, str]:
    number = int(fill.trade_id) if fill.trade_id.isdigit() else -1
    return fill.ts_ns, number, fill.trade_id


class _Reader:
    def __init__(self, path: str, venue: str, market: str, market_key: str) -> None:
        self.path, self.venue, self.market, self.market_key = path, venue, market, market_key
        self.fills: list[Fill] = []
        self.problems: list[Problem] = []
        self.seen: set[str] = set()
        self.lines = self.repeated = self.other_market = self.side_fixed = self.blank = 0

    def read(self, line: str, number: int) -> None:
        if not line.strip():
            self.blank += 1
            return
        self.lines += 1
        if len(self.problems) >= _MAX_PROBLEMS:
            return
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            self._problem(number, error.colno, "", f"invalid JSON: {error.msg}")
            return
        if not isinstance(event, dict):
            self._problem(number, 1, "", f"expected a FillEvent object, found {kind(event)}")
            return
        try:
            self._event(event)
        except FieldError as error:
            self._problem(number, 1, error.field, error.message)

    def _event(self, event: dict[str, Any]) -> None:
        market = event.get("market")
        if market is not None and str(market) != self.market_key:
            self.other_market += 1
            return
        trade_id = _trade_id(event)
        fill, fixed = self._fill(event, trade_id)
        if trade_id in self.seen:
            self.repeated += 1
            return
        self.seen.add(trade_id)
        self.side_fixed += fixed
        self.fills.append(fill)

    def _fill(self, event: dict[str, Any], trade_id: str) -> tuple[Fill, bool]:
        price = field_number(event, "price")
        if price <= 0:
            raise FieldError("price", f"expected a positive number, found {event['price']!r}")
        side, role, size, fixed = _side_role_size(event)
        fee = field_number(event, "fee_paid") if event.get("fee_paid") is not None else 0.0
        mid = field_number(event, "mid_price") if event.get("mid_price") is not None else None
        source = str(event.get("source") or "account_listener")
        fill = Fill(
            venue=self.venue,
            trade_id=trade_id,
            ts_ns=_timestamp_ns(event),
            market=self.market,
            side=side,
            price=price,
            size=size,
            role=role,
            fee_usd=fee,
            mid=mid if mid is not None and mid > 0 else None,
            tag="" if source == "account_listener" else source,
            source="original",
        )
        return fill, fixed

    def _problem(self, line: int, column: int, field_name: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, column, field_name, message))


def _side_role_size(event: dict[str, Any]) -> tuple[Side, Role, float, bool]:
    """Our side, role and size, and whether the side/role fix applied (module docstring)."""
    recorded = str(event.get("side") or "").strip().lower()
    if recorded and recorded not in _SIDES:
        raise FieldError("side", f"expected bid or ask, found {event['side']!r}")
    role_text = str(event.get("role") or "").strip().lower()
    if role_text not in _ROLES:
        found = event.get("role")
        raise FieldError(
            "role", "missing" if found is None else f"expected maker or taker, found {found!r}"
        )
    role = _ROLES[role_text]
    fixed = False
    delta = field_number(event, "base_delta") if event.get("base_delta") is not None else None
    if delta is None or delta == 0:
        if not recorded:
            raise FieldError("side", "missing, and no non-zero base_delta to take it from")
        side = _SIDES[recorded]
        size = field_number(event, "size")
    else:
        side = Side.BID if delta > 0 else Side.ASK
        size = abs(delta)
        if event.get("size") is not None:
            stated = field_number(event, "size")
            if abs(stated - size) > _SIZE_TOLERANCE * max(1.0, size):
                message = (
                    f"size {event['size']!r} does not match |base_delta| {event['base_delta']!r}"
                )
                raise FieldError("size", message)
        if recorded and _SIDES[recorded] is not side:
            role = Role.TAKER if role is Role.MAKER else Role.MAKER
            fixed = True
    if size <= 0:
        raise FieldError("size", f"expected a positive number, found {event.get('size')!r}")
    return side, role, size, fixed


def _trade_id(event: dict[str, Any]) -> str:
    value = event.get("trade_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise FieldError(
        "trade_id",
        "missing: fills are keyed by trade id"
        if value is None
        else f"expected an integer, found {value!r}",
    )


def _timestamp_ns(event: dict[str, Any]) -> int:
    value = field_number(event, "timestamp")
    if value <= 0:
        raise FieldError(
            "timestamp", f"expected a positive epoch time, found {event['timestamp']!r}"
        )
    return epoch_to_ns(event["timestamp"])
