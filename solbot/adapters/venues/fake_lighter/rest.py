"""REST endpoints of the fake venue (`/api/v1/...`), in Lighter's shapes."""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.account import FakeOrder
from solbot.adapters.venues.fake_lighter.exchange import FakeExchange
from solbot.adapters.venues.fake_lighter.settings import ListedStats
from solbot.adapters.venues.fake_lighter.txs import TxRejected
from solbot.core.model import MarketSpec

MINUTE_NS = 60_000_000_000
TxLatency = Callable[[list[int], list[Any]], Awaitable[None]]
_TOKEN = re.compile(r"^(\d+):(\d+):(\d+):([0-9a-fA-F]+)$")


class ParamError(Exception):
    """A missing or malformed query/form parameter (Lighter code 20001)."""


def check_auth_token(token: str | None, account: int, now_s: int) -> str | None:
    """Accept any `<expiry_s>:<account>:<key>:<hex>` token for `account` that has not expired."""
    if not token:
        return "auth field is required"
    match = _TOKEN.match(token.strip())
    if match is None:
        return "invalid auth token: expected <expiry_s>:<account>:<api_key>:<hex>"
    expiry, token_account, key_index = (int(match.group(i)) for i in (1, 2, 3))
    if expiry <= now_s:
        return f"auth token expired at {expiry} (now {now_s})"
    if token_account != account:
        return f"auth token is for account {token_account}, not {account}"
    if key_index > 255:
        return f"invalid auth token: api key index {key_index}"
    return None


# Request weights (LIGHTER.md §2, apidocs rate-limits): a rolling minute holds at most 24 000
# weight; a Standard account also at most 60 requests (so /trades, weight 600, allows 40).
ENDPOINT_WEIGHTS: dict[str, int] = {
    "/api/v1/orderBookDetails": 300,
    "/api/v1/orderBooks": 300,
    "/api/v1/orderBookOrders": 300,
    "/api/v1/recentTrades": 600,
    "/api/v1/trades": 600,
    "/api/v1/accountActiveOrders": 300,
    "/api/v1/accountInactiveOrders": 100,
    "/api/v1/account": 300,
    "/api/v1/apikeys": 150,
    "/api/v1/nextNonce": 6,
    "/api/v1/sendTx": 6,
    "/api/v1/sendTxBatch": 6,
}
DEFAULT_WEIGHT = 300
WEIGHT_PER_MINUTE = 24_000
TX_PATHS = frozenset({"/api/v1/sendTx", "/api/v1/sendTxBatch", "jsonapi/sendtx"})


class RollingLimiter:
    """Requests accepted in the last rolling minute, by weight; refused ones are not counted.

    `limit` caps the count of requests (Standard: 60), `weight_limit` their summed weight;
    `retry_after_s` says when the oldest accepted request leaves the minute (the cooldown a
    refused client should sit out).
    """

    def __init__(self) -> None:
        self._times: deque[tuple[int, int]] = deque()  # (arrival ns, weight)
        self.refused = 0
        self.retry_after_s = 0.0
        self.peak = 0  # most requests one rolling minute ever held

    def allow(
        self, now_ns: int, limit: int | None, weight: int = 1, weight_limit: int | None = None
    ) -> bool:
        times = self._times
        while times and now_ns - times[0][0] >= MINUTE_NS:
            times.popleft()
        over_count = limit is not None and len(times) >= limit
        used_weight = sum(w for _, w in times)
        over_weight = weight_limit is not None and used_weight + weight > weight_limit
        if over_count or over_weight:
            self.refused += 1
            oldest = times[0][0] if times else now_ns
            self.retry_after_s = max(0.001, (oldest + MINUTE_NS - now_ns) / 1e9)
            return False
        times.append((now_ns, weight))
        self.peak = max(self.peak, len(times))
        return True

    def used(self, now_ns: int) -> int:
        return sum(1 for sent, _ in self._times if now_ns - sent < MINUTE_NS)

    def weight_used(self, now_ns: int) -> int:
        return sum(w for sent, w in self._times if now_ns - sent < MINUTE_NS)


def ok(body: dict[str, Any]) -> web.Response:
    return web.json_response({"code": 200, **body})


def rejected(error: TxRejected) -> web.Response:
    return web.json_response(wire.error_body(error.code, error.message), status=error.http_status)


def _int_param(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ParamError(f"invalid param: {name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ParamError(f"invalid param: {name} must be an integer, found {raw!r}") from None


def _limit(request: web.Request, maximum: int, *, required: bool = True) -> int:
    limit = _int_param(request, "limit", None if required else maximum)
    if not 1 <= limit <= maximum:
        raise ParamError(f"invalid param: limit must be 1..{maximum}, found {limit}")
    return limit


class RestApi:
    """Handlers bound to one FakeExchange; `after_change` pushes queued frames to sockets."""

    def __init__(
        self,
        exchange: FakeExchange,
        clock: Callable[[], int],
        after_change: Callable[[], None],
        latency: TxLatency | None = None,
    ) -> None:
        self.exchange = exchange
        self.clock = clock
        self.after_change = after_change
        self.latency = latency

    async def _hold(self, tx_types: Any, tx_infos: Any) -> None:
        """The venue's order/cancel latency before a tx takes effect (malformed: no hold)."""
        if self.latency is None:
            return
        types, infos = _loads(tx_types), _loads(tx_infos)
        if isinstance(types, list) and isinstance(infos, list):
            await self.latency([t for t in types if isinstance(t, int)], [_loads(i) for i in infos])

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/orderBookDetails", self.order_book_details),
            web.get("/api/v1/orderBooks", self.order_books),
            web.get("/api/v1/orderBookOrders", self.order_book_orders),
            web.get("/api/v1/funding-rates", self.funding_rates),
            web.get("/api/v1/recentTrades", self.recent_trades),
            web.get("/api/v1/trades", self.trades),
            web.get("/api/v1/apikeys", self.api_keys),
            web.get("/api/v1/nextNonce", self.next_nonce),
            web.get("/api/v1/accountActiveOrders", self.active_orders),
            web.get("/api/v1/accountInactiveOrders", self.inactive_orders),
            web.get("/api/v1/account", self.account),
            web.post("/api/v1/sendTx", self.send_tx),
            web.post("/api/v1/sendTxBatch", self.send_tx_batch),
        ]

    # --- market data -----------------------------------------------------------------------

    def _market_row(self, detailed: bool) -> dict[str, Any]:
        exchange = self.exchange
        market = exchange.market
        row = _listing(market)
        if detailed:
            stats = exchange.public.stats(self.clock())
            listed = exchange.config.market_stats.get(market.market_id)
            row.update(
                {"size_decimals": market.size_decimals, "price_decimals": market.price_decimals}
            )
            row.update(_margins(listed or ListedStats(mark_price=1.0)))
            row.update(
                {
                    "last_trade_price": float(stats["last_trade_price"]),
                    "daily_trades_count": len(exchange.public.trades),
                    "daily_base_token_volume": stats["daily_base_token_volume"],
                    "daily_quote_token_volume": stats["daily_quote_token_volume"],
                    "daily_price_low": stats["daily_price_low"],
                    "daily_price_high": stats["daily_price_high"],
                    "daily_price_change": 0.0,
                    "open_interest": listed.open_interest if listed else 0.0,
                    "mark_price": stats["mark_price"],
                    "index_price": stats["index_price"],
                    "daily_chart": {},
                    "market_config": {"market_margin_mode": 0, "insurance_fund_account_index": 0},
                }
            )
        return row

    def _listed_others(self) -> list[tuple[MarketSpec, ListedStats]]:
        """Other markets of the fake that have listed figures, by market id."""
        config = self.exchange.config
        return [
            (spec, config.market_stats[spec.market_id])
            for spec in sorted(config.other_markets, key=lambda spec: spec.market_id)
            if spec.market_id in config.market_stats
        ]

    def _rows(self, request: web.Request, detailed: bool) -> list[dict[str, Any]]:
        market_id = _int_param(request, "market_id", 255)
        rows = []
        if market_id in (255, self.exchange.market.market_id):
            rows.append(self._market_row(detailed))
        for spec, listed in self._listed_others():
            if market_id in (255, spec.market_id):
                rows.append(_other_row(spec, listed, detailed))
        return rows

    async def order_book_details(self, request: web.Request) -> web.Response:
        rows = self._rows(request, detailed=True)
        return ok({"order_book_details": rows, "spot_order_book_details": []})

    async def order_books(self, request: web.Request) -> web.Response:
        return ok({"order_books": self._rows(request, detailed=False)})

    async def funding_rates(self, request: web.Request) -> web.Response:
        """`/api/v1/funding-rates`: one row per listed market (exchange "lighter")."""
        market = self.exchange.market
        rows = [_funding_row(market, self.exchange.config.funding_rate)]
        rows += [_funding_row(spec, listed.funding_rate) for spec, listed in self._listed_others()]
        return ok({"funding_rates": rows})

    def _check_market(self, request: web.Request) -> None:
        market_id = _int_param(request, "market_id")
        if market_id != self.exchange.market.market_id:
            raise TxRejected(21602, f"invalid market index {market_id}")

    async def order_book_orders(self, request: web.Request) -> web.Response:
        other = {spec.market_id: (spec, listed) for spec, listed in self._listed_others()}
        market_id = _int_param(request, "market_id")
        if market_id in other:
            _limit(request, 250)
            return ok(_one_level_book(*other[market_id], self.clock() // 1_000))
        self._check_market(request)
        limit = _limit(request, 250)
        exchange = self.exchange
        bids, asks = exchange.public.publisher.sorted_levels()
        own = [o for o in exchange.ledger.active_orders() if o.status == wire.STATUS_OPEN]
        now_us = self.clock() // 1_000
        ask_orders = self._simple_orders(asks, [o for o in own if o.is_ask], now_us)[:limit]
        bid_orders = self._simple_orders(bids, [o for o in own if not o.is_ask], now_us)[:limit]
        return ok(
            {
                "total_asks": len(ask_orders),
                "asks": ask_orders,
                "total_bids": len(bid_orders),
                "bids": bid_orders,
            }
        )

    def _simple_orders(
        self, levels: list[tuple[int, int]], own: list[FakeOrder], now_us: int
    ) -> list[dict[str, Any]]:
        """Levels split into our orders and one anonymous order for the rest of each level."""
        market = self.exchange.market
        account = self.exchange.config.account_index
        result: list[dict[str, Any]] = []
        for price, size in levels:
            mine = [order for order in own if order.price == price]
            rest = size - sum(order.remaining for order in mine)
            entries = [(order.order_index, account, order.remaining) for order in mine]
            if rest > 0:
                entries.append((2**50 + price, 90_003, rest))
            for order_index, owner, lots in entries:
                result.append(
                    {
                        "order_index": order_index,
                        "order_id": str(order_index),
                        "owner_account_index": owner,
                        "initial_base_amount": wire.size_text(lots, market),
                        "remaining_base_amount": wire.size_text(lots, market),
                        "price": wire.price_text(price, market),
                        "order_expiry": 0,
                        "transaction_time": now_us,
                    }
                )
        return result

    async def recent_trades(self, request: web.Request) -> web.Response:
        self._check_market(request)
        limit = _limit(request, 100)
        trades = list(self.exchange.public.trades)[-limit:]
        return ok({"trades": trades[::-1]})

    async def trades(self, request: web.Request) -> web.Response:
        """`/api/v1/trades`: paged by trade id with an opaque cursor (used for backfill)."""
        sort_by = request.query.get("sort_by")
        if sort_by not in ("trade_id", "timestamp"):
            raise ParamError("invalid param: sort_by must be trade_id or timestamp")
        limit = _limit(request, 100)
        descending = request.query.get("sort_dir", "desc") != "asc"
        market_id = _int_param(request, "market_id", 255)
        exchange = self.exchange
        if market_id not in (255, exchange.market.market_id):
            return ok({"trades": []})
        account = request.query.get("account_index")
        if account is not None:
            source = exchange.ledger.trades if account == str(exchange.config.account_index) else []
        else:
            source = list(exchange.public.trades)
        ordered = sorted(source, key=lambda trade: trade["trade_id"], reverse=descending)
        cursor = request.query.get("cursor")
        if cursor:
            if not cursor.isdigit():
                raise ParamError(f"invalid param: cursor {cursor!r}")
            after = int(cursor)
            ordered = [
                t
                for t in ordered
                if (t["trade_id"] < after if descending else t["trade_id"] > after)
            ]
        page = ordered[:limit]
        body: dict[str, Any] = {"trades": page}
        if len(ordered) > limit:
            body["next_cursor"] = str(page[-1]["trade_id"])
        return ok(body)

    # --- account ---------------------------------------------------------------------------

    def _check_account(self, request: web.Request, name: str = "account_index") -> None:
        account = _int_param(request, name)
        if account != self.exchange.config.account_index:
            raise TxRejected(21100, f"account not found: {account}")

    def _require_auth(self, request: web.Request) -> None:
        token = request.headers.get("authorization") or request.query.get("auth")
        now_s = self.clock() // 1_000_000_000
        problem = check_auth_token(token, self.exchange.config.account_index, now_s)
        if problem is not None:
            raise ParamError(f"invalid param: {problem}")

    async def api_keys(self, request: web.Request) -> web.Response:
        self._check_account(request)
        wanted = _int_param(request, "api_key_index", 255)
        configured = self.exchange.config.api_keys
        indices = sorted(configured) if configured else ([] if wanted == 255 else [wanted])
        if wanted != 255:
            indices = [index for index in indices if index == wanted]
        keys = [
            {
                "account_index": self.exchange.config.account_index,
                "api_key_index": index,
                "nonce": self.exchange.validator.next_nonce(index),
                "public_key": _public_key(configured.get(index)) or wire.tx_hash("key", index),
                "transaction_time": 0,
            }
            for index in indices
        ]
        if wanted != 255 and not keys:
            raise TxRejected(21109, f"api key not found: index {wanted}")
        return ok({"api_keys": keys})

    async def next_nonce(self, request: web.Request) -> web.Response:
        self._check_account(request)
        key = _int_param(request, "api_key_index")
        configured = self.exchange.config.api_keys
        if configured and key not in configured:
            raise TxRejected(21109, f"api key not found: index {key}")
        return ok({"nonce": self.exchange.validator.next_nonce(key)})

    async def active_orders(self, request: web.Request) -> web.Response:
        self._check_account(request)
        self._require_auth(request)
        exchange = self.exchange
        market_id = _int_param(request, "market_id", 255)
        orders = exchange.other.active_wire(market_id)
        if market_id in (255, exchange.market.market_id):
            orders[:0] = [
                o.to_wire(exchange.market, exchange.config.account_index)
                for o in exchange.ledger.active_orders()
            ]
        return ok({"orders": orders})

    async def inactive_orders(self, request: web.Request) -> web.Response:
        self._check_account(request)
        self._require_auth(request)
        limit = _limit(request, 100)
        exchange = self.exchange
        done = sorted(
            (o for o in exchange.ledger.orders.values() if not o.active),
            key=lambda o: o.order_index,
            reverse=True,
        )
        cursor = request.query.get("cursor")
        if cursor:
            if not cursor.isdigit():
                raise ParamError(f"invalid param: cursor {cursor!r}")
            done = [o for o in done if o.order_index < int(cursor)]
        page = done[:limit]
        body: dict[str, Any] = {
            "orders": [o.to_wire(exchange.market, exchange.config.account_index) for o in page]
        }
        if len(done) > limit:
            body["next_cursor"] = str(page[-1].order_index)
        return ok(body)

    async def account(self, request: web.Request) -> web.Response:
        if request.query.get("by") != "index":
            raise ParamError("invalid param: by must be index (the fake knows no l1 addresses)")
        self._check_account(request, "value")
        exchange = self.exchange
        position = exchange.ledger.position
        collateral = exchange.config.collateral_usd + position.realized_pnl_usd - position.fees_usd
        position_wire = exchange.ledger.position_wire()
        unrealized = float(position_wire["unrealized_pnl"])
        account = exchange.config.account_index
        return ok(
            {
                "total": 1,
                "accounts": [
                    {
                        "code": 0,
                        "account_type": 0,
                        "index": account,
                        "account_index": account,
                        "l1_address": "0x" + "0" * 40,
                        "cancel_all_time": exchange.scheduled_cancel_ms or 0,
                        "total_order_count": exchange.ledger.active_count(),
                        "pending_order_count": 0,
                        "status": 1,
                        "collateral": wire.usd_text(collateral),
                        "available_balance": wire.usd_text(collateral + unrealized),
                        "total_asset_value": wire.usd_text(collateral + unrealized),
                        "cross_asset_value": wire.usd_text(collateral + unrealized),
                        "positions": [position_wire],
                        "shares": [],
                    }
                ],
            }
        )

    # --- transactions ----------------------------------------------------------------------

    async def _fields(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise ParamError("invalid param: body is not JSON") from None
            if not isinstance(body, dict):
                raise ParamError("invalid param: body must be a JSON object")
            return body
        return dict(await request.post())

    async def send_tx(self, request: web.Request) -> web.Response:
        fields = await self._fields(request)
        raw_type = fields.get("tx_type")
        try:
            tx_type = int(raw_type)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ParamError(f"invalid param: tx_type {raw_type!r}") from None
        if "tx_info" not in fields:
            raise ParamError("invalid param: tx_info is required")
        await self._hold([tx_type], [fields["tx_info"]])
        body = self.exchange.send_tx(tx_type, fields["tx_info"], self.clock())
        self.after_change()
        return web.json_response(body)

    async def send_tx_batch(self, request: web.Request) -> web.Response:
        fields = await self._fields(request)
        if "tx_types" not in fields or "tx_infos" not in fields:
            raise ParamError("invalid param: tx_types and tx_infos are required")
        await self._hold(fields["tx_types"], fields["tx_infos"])
        body = self.exchange.send_tx_batch(fields["tx_types"], fields["tx_infos"], self.clock())
        self.after_change()
        return web.json_response(body)


def _listing(market: MarketSpec) -> dict[str, Any]:
    """The `orderBooks` fields of one perp market."""
    return {
        "symbol": market.symbol,
        "market_id": market.market_id,
        "market_type": "perp",
        "status": "active",
        "taker_fee": f"{market.taker_fee_bps / 100:.4f}",
        "maker_fee": f"{market.maker_fee_bps / 100:.4f}",
        "liquidation_fee": "1.0000",
        "min_base_amount": wire.size_text(market.size_to_lots(market.min_base_amount), market),
        "min_quote_amount": f"{market.min_quote_amount:.6f}",
        "supported_size_decimals": market.size_decimals,
        "supported_price_decimals": market.price_decimals,
        "supported_quote_decimals": 6,
        "order_quote_limit": "",
    }


def _margins(listed: ListedStats) -> dict[str, Any]:
    return {
        "quote_multiplier": 1,
        "default_initial_margin_fraction": listed.default_initial_margin_fraction,
        "min_initial_margin_fraction": listed.min_initial_margin_fraction,
        "maintenance_margin_fraction": listed.maintenance_margin_fraction,
        "closeout_margin_fraction": 160,
    }


def _other_row(spec: MarketSpec, listed: ListedStats, detailed: bool) -> dict[str, Any]:
    """The row of a market the fake does not trade, from its listed figures."""
    row = _listing(spec)
    if detailed:
        price = round(listed.mark_price, spec.price_decimals)
        row.update(_margins(listed))
        row.update(
            {
                "size_decimals": spec.size_decimals,
                "price_decimals": spec.price_decimals,
                "last_trade_price": price,
                "daily_trades_count": 0,
                "daily_base_token_volume": 0.0,
                "daily_quote_token_volume": 0.0,
                "daily_price_low": price,
                "daily_price_high": price,
                "daily_price_change": 0.0,
                "open_interest": listed.open_interest,
                "mark_price": f"{price:.{spec.price_decimals}f}",
                "index_price": f"{price:.{spec.price_decimals}f}",
                "daily_chart": {},
                "market_config": {"market_margin_mode": 0, "insurance_fund_account_index": 0},
            }
        )
    return row


def _funding_row(market: MarketSpec, rate: float) -> dict[str, Any]:
    return {
        "market_id": market.market_id,
        "exchange": "lighter",
        "symbol": market.symbol,
        "rate": rate,
    }


def _one_level_book(spec: MarketSpec, listed: ListedStats, now_us: int) -> dict[str, Any]:
    """One anonymous order a side at mark -/+ half the listed spread (rounded outward)."""
    half = listed.mark_price * listed.spread_bps / 20_000
    bid = math.floor((listed.mark_price - half) * spec.price_scale)
    ask = math.ceil((listed.mark_price + half) * spec.price_scale)
    size = spec.size_to_lots(max(spec.min_base_amount, 1.0))

    def order(index: int, price: int) -> dict[str, Any]:
        return {
            "order_index": index,
            "order_id": str(index),
            "owner_account_index": 90_004,
            "initial_base_amount": wire.size_text(size, spec),
            "remaining_base_amount": wire.size_text(size, spec),
            "price": wire.price_text(price, spec),
            "order_expiry": 0,
            "transaction_time": now_us,
        }

    return {
        "total_asks": 1,
        "asks": [order(2**50 + ask, ask)],
        "total_bids": 1,
        "bids": [order(2**50 + bid, bid)],
    }


def _loads(value: Any) -> Any:
    """A JSON-encoded form field decoded (as sent), anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _public_key(key: str | None) -> str | None:
    """Lighter lists public keys without the 0x prefix."""
    if not key:
        return None
    return key[2:] if key.startswith("0x") else key
