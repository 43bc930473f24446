"""Lighter REST client (httpx): market details, nonces, txs, orders, account, trades.

Every request spends from the shared RequestBudget (Standard accounts count ALL REST requests),
holds its place there until a window after its answer (the venue counts arrivals), and is
reported to `on_request` (the ledger keeps the last minute's sends for a restart).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from solbot.adapters.venues.lighter.backoff import BackoffPolicy
from solbot.adapters.venues.lighter.budget import Priority, RequestBudget
from solbot.adapters.venues.lighter.errors import (
    LighterError,
    RateLimited,
    TransportError,
    error_from_body,
)
from solbot.adapters.venues.lighter.numbers import parse_decimal
from solbot.core.model import MarketSpec

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]
Sleep = Callable[[float], Awaitable[None]]
RequestJournal = Callable[[int], None]  # wall-clock ns at which a request was answered
MAX_BATCH = 50


class TradesIncomplete(RateLimited):
    """Paging stopped at a page the venue kept refusing; `trades` holds what came before it."""

    def __init__(self, trades: list[dict[str, Any]], attempts: int, cause: RateLimited) -> None:
        self.trades = trades
        super().__init__(
            f"/api/v1/trades refused {attempts} time(s) in a row ({cause}); "
            f"{len(trades)} trade(s) fetched before that",
            cause.code,
            cause.http_status,
        )


class LighterRest:
    """Thin async client over `/api/v1/*`; raises typed LighterError subclasses."""

    def __init__(
        self,
        base_url: str,
        budget: RequestBudget,
        *,
        auth_token: TokenProvider | None = None,
        timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_budget_wait_s: float = 120.0,
        client: httpx.AsyncClient | None = None,
        on_request: RequestJournal | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.budget = budget
        self._auth_token = auth_token
        self._monotonic = monotonic
        self._sleep = sleep
        self._max_budget_wait_s = max_budget_wait_s
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._on_request = on_request
        self._wall_ns = wall_ns
        self.requests_sent = 0
        self.spec_warnings: list[str] = []

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    # --- public data -----------------------------------------------------------------------

    async def market_spec(self, market_id: int) -> MarketSpec:
        """Read `orderBookDetails` for one perp market and build its MarketSpec."""
        body = await self._get("/api/v1/orderBookDetails", {"market_id": market_id})
        rows = [r for r in body.get("order_book_details") or [] if r.get("market_id") == market_id]
        if not rows:
            raise LighterError(f"orderBookDetails has no perp market {market_id}")
        return self._spec_from(rows[0])

    async def order_book_details(self, market_id: int = 255) -> list[dict[str, Any]]:
        """Raw `orderBookDetails` perp rows: one market, or all of them (255)."""
        body = await self._get("/api/v1/orderBookDetails", {"market_id": market_id})
        rows = body.get("order_book_details") or []
        return [row for row in rows if isinstance(row, dict)]

    async def funding_rates(self) -> list[dict[str, Any]]:
        """Raw `/api/v1/funding-rates` rows (several exchanges; `exchange` says which)."""
        body = await self._get("/api/v1/funding-rates", {})
        rows = body.get("funding_rates") or []
        return [row for row in rows if isinstance(row, dict)]

    async def order_book_orders(self, market_id: int, limit: int = 1) -> dict[str, Any]:
        """Raw `orderBookOrders` body: the best `limit` orders of each side."""
        return await self._get("/api/v1/orderBookOrders", {"market_id": market_id, "limit": limit})

    def _spec_from(self, row: dict[str, Any]) -> MarketSpec:
        try:
            size_decimals = int(row["size_decimals"])
            price_decimals = int(row["price_decimals"])
            spec = MarketSpec(
                symbol=str(row["symbol"]),
                venue="lighter",
                market_id=int(row["market_id"]),
                price_decimals=price_decimals,
                size_decimals=size_decimals,
                min_base_amount=parse_decimal(row["min_base_amount"]),
                min_quote_amount=parse_decimal(row["min_quote_amount"]),
                # Fee strings are percentages ("0.0040" = 0.4 bps); assumption, see LIGHTER.md §4.2.
                maker_fee_bps=parse_decimal(row.get("maker_fee", "0")) * 100,
                taker_fee_bps=parse_decimal(row.get("taker_fee", "0")) * 100,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise LighterError(f"orderBookDetails row is malformed: {exc!r}") from exc
        for name, value in (("size", size_decimals), ("price", price_decimals)):
            supported = row.get(f"supported_{name}_decimals")
            if supported is not None and int(supported) != value:
                warning = (
                    f"market {spec.market_id}: {name}_decimals {value} != "
                    f"supported_{name}_decimals {supported}; scaling by {name}_decimals"
                )
                log.warning(warning)
                self.spec_warnings.append(warning)
        return spec

    async def next_nonce(self, account_index: int, api_key_index: int) -> int:
        """The next nonce the venue expects for this API key."""
        params = {"account_index": account_index, "api_key_index": api_key_index}
        body = await self._get("/api/v1/nextNonce", params, priority=Priority.CANCEL)
        nonce = body.get("nonce")
        if not isinstance(nonce, int):
            raise LighterError(f"nextNonce answered without an integer nonce: {body!r}")
        return nonce

    # --- transactions ----------------------------------------------------------------------

    async def send_tx(
        self, tx_type: int, tx_info: str, priority: Priority, *, max_wait_s: float | None = None
    ) -> dict[str, Any]:
        """POST one signed tx once the budget allows (waiting at most `max_wait_s`)."""
        form = {"tx_type": str(tx_type), "tx_info": tx_info}
        return await self._request(
            "POST", "/api/v1/sendTx", data=form, priority=priority, max_wait_s=max_wait_s
        )

    async def send_tx_batch(
        self,
        tx_types: list[int],
        tx_infos: list[str],
        priority: Priority,
        *,
        max_wait_s: float | None = None,
    ) -> dict[str, Any]:
        """POST up to 50 signed txs of one key with increasing nonces as ONE request."""
        if not 1 <= len(tx_types) == len(tx_infos) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} txs with one info each")
        form = {"tx_types": json.dumps(tx_types), "tx_infos": json.dumps(tx_infos)}
        return await self._request(
            "POST", "/api/v1/sendTxBatch", data=form, priority=priority, max_wait_s=max_wait_s
        )

    # --- account ---------------------------------------------------------------------------

    async def active_orders(self, account_index: int, market_id: int) -> list[dict[str, Any]]:
        """Our resting orders on one market (needs an auth token)."""
        params = {"account_index": account_index, "market_id": market_id}
        body = await self._get("/api/v1/accountActiveOrders", params, auth=True)
        return list(body.get("orders") or [])

    async def account(self, account_index: int) -> dict[str, Any]:
        """The DetailedAccount of one account index (positions, collateral)."""
        body = await self._get("/api/v1/account", {"by": "index", "value": account_index})
        accounts = body.get("accounts") or []
        if not accounts:
            raise LighterError(f"account {account_index} not found")
        return dict(accounts[0])

    async def trades(
        self,
        account_index: int,
        market_id: int,
        *,
        since_ms: int = 0,
        limit: int = 100,
        max_pages: int = 20,
        retry: BackoffPolicy | None = None,
        rng: random.Random | None = None,
    ) -> list[dict[str, Any]]:
        """Our trades, newest first, paged by `next_cursor` back to `since_ms` (backfill).

        A page refused with a 429 is asked for again, at the same cursor, once the venue's
        cooldown has passed (and a jittered backoff); after `retry.max_attempts` refusals in a
        row, `TradesIncomplete` carries every trade fetched so far.
        """
        params: dict[str, Any] = {
            "account_index": account_index,
            "market_id": market_id,
            "sort_by": "timestamp",
            "sort_dir": "desc",
            "limit": limit,
        }
        policy, rng = retry or BackoffPolicy(), rng or random.Random(0)
        collected: list[dict[str, Any]] = []
        for _ in range(max_pages):
            body = await self._page(params, policy, rng, collected)
            page = list(body.get("trades") or [])
            fresh = [t for t in page if int(t.get("timestamp", 0)) >= since_ms]
            collected.extend(fresh)
            cursor = body.get("next_cursor")
            if not cursor or len(fresh) < len(page) or not page:
                break
            params["cursor"] = cursor
        return collected

    async def _page(
        self,
        params: dict[str, Any],
        policy: BackoffPolicy,
        rng: random.Random,
        collected: list[dict[str, Any]],
    ) -> dict[str, Any]:
        for attempt in range(policy.max_attempts):
            try:
                return await self._get("/api/v1/trades", params, auth=True)
            except RateLimited as error:
                if attempt + 1 >= policy.max_attempts:
                    raise TradesIncomplete(collected, attempt + 1, error) from None
                log.warning("lighter: /trades refused (%s); retrying the same page", error)
                await self._sleep(policy.delay_s(attempt, rng))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- plumbing --------------------------------------------------------------------------

    async def _get(
        self,
        path: str,
        params: dict[str, Any],
        *,
        auth: bool = False,
        priority: Priority = Priority.QUERY,
    ) -> dict[str, Any]:
        return await self._request("GET", path, params=params, auth=auth, priority=priority)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        auth: bool = False,
        priority: Priority,
        max_wait_s: float | None = None,
    ) -> dict[str, Any]:
        headers = {}
        if auth:
            if self._auth_token is None:
                raise LighterError(f"{path} needs an auth token and none is configured")
            headers["authorization"] = self._auth_token()
        sent_s = await self._spend(priority, max_wait_s)
        try:
            response = await self._client.request(
                method, path, params=params, data=data, headers=headers
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._answered(sent_s)
        self.requests_sent += 1
        return self._decode(response, path)

    def _answered(self, sent_s: float) -> None:
        """The venue has counted the request by now: it holds its place until a window later."""
        self.budget.settle(sent_s, self._monotonic())
        if self._on_request is not None:
            self._on_request(self._wall_ns())

    def _decode(self, response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            body: Any = response.json()
        except ValueError:
            body = {"message": response.text[:200]}
        error = error_from_body(body, response.status_code)
        if isinstance(error, RateLimited):
            self.budget.penalize(self._monotonic(), retry_after_s(response))
        if error is not None:
            raise error
        if not isinstance(body, dict):
            raise LighterError(f"{path}: expected a JSON object, found {type(body).__name__}")
        return body

    async def _spend(self, priority: Priority, max_wait_s: float | None = None) -> float:
        """Wait for room in the budget (and any 429 cooldown); the stamp the request got."""
        limit_s = self._max_budget_wait_s if max_wait_s is None else max_wait_s
        waited = 0.0
        while not self.budget.spend(priority, now_s := self._monotonic()):
            wait = self.budget.wait_s(priority, now_s)
            if waited + wait > limit_s:
                raise RateLimited(f"request budget exhausted for {wait:.1f} s more", 429)
            await self._sleep(max(wait, 0.01))
            waited += max(wait, 0.01)
        return now_s


def retry_after_s(response: httpx.Response) -> float | None:
    """The venue's cooldown from a `Retry-After` header in seconds (None: not given)."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None
