"""`solbot fetch-trades`: backfill our fills from Lighter's `/api/v1/trades` into the ledger.

Side and role come from the same attribution as `solbot metrics import-json`
(`adapters/storage/trade_import.py`), and fills are keyed (venue "lighter", trade id) exactly as
the live adapter keys them, so a backfill never double counts fills the bot recorded live and a
second run inserts nothing. Paging and the request budget are `LighterRest.trades`'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from solbot.adapters.storage.ledger import Ledger

# One attribution for import-json and fetch-trades; the reader is private to its module, which
# only exposes a file-based entry point, so it is used directly rather than copied.
from solbot.adapters.storage.trade_import import _TradeReader, venue_order
from solbot.adapters.venues.lighter.auth import AuthTokens
from solbot.adapters.venues.lighter.backoff import BackoffPolicy
from solbot.adapters.venues.lighter.budget import RequestBudget
from solbot.adapters.venues.lighter.errors import TransportError
from solbot.adapters.venues.lighter.rest import LighterRest, TradesIncomplete
from solbot.adapters.venues.lighter.signer import Signer
from solbot.app.credentials import (
    CREDENTIAL_VARIABLES,
    Credentials,
    chain_id_for,
    signer_from_environment,
)
from solbot.app.record import check_venue_spec, lighter_entry
from solbot.core.model import Fill, MarketSpec
from solbot.errors import Problem, UsageError, VenueError

VENUE = "lighter"
SOURCE = "backfill"
PAGE_LIMIT = 100  # the most /api/v1/trades returns per request
DEFAULT_MAX_PAGES = 500
# /api/v1/trades weighs 600 of the venue's 24 000 a minute: 40 pages a minute at most, and a
# Standard account's 60 requests never bind first. Less the adapter's 10 % safety margin.
TRADES_WEIGHT = 600
WEIGHT_PER_MINUTE = 24_000
DEFAULT_REQUESTS_PER_MINUTE = WEIGHT_PER_MINUTE // TRADES_WEIGHT
SAFETY_MARGIN = 0.10
RETRY = BackoffPolicy(initial_s=1.0, max_s=30.0, max_attempts=4)
TOKEN_LIFETIME_S = 3600
_MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class BackfillRequest:
    """Whose trades, which market, from where, into which ledger, back to when."""

    account_index: int
    market: str
    db: Path
    rest_url: str
    since_ns: int | None = None
    token: str | None = field(default=None, repr=False)  # a credential: never in a repr
    chain_id: int | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE


@dataclass(frozen=True)
class BackfillSummary:
    """What was fetched and what the ledger did with it."""

    account_index: int
    market: str
    market_id: int
    since_ns: int | None
    requests: int
    trades: int
    ours: int
    inserted: int
    duplicates: int
    not_ours: int
    other_market: int
    self_trades: int
    oldest_ts_ns: int | None
    newest_ts_ns: int | None
    complete: bool

    @property
    def skipped(self) -> int:
        return self.not_ours + self.other_market + self.self_trades

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), with the skipped total."""
        return {**asdict(self), "skipped": self.skipped}


def run_backfill(request: BackfillRequest) -> BackfillSummary:
    """Fetch and store in a fresh event loop."""
    return asyncio.run(backfill(request))


async def backfill(request: BackfillRequest, *, signer: Signer | None = None) -> BackfillSummary:
    """Page our trades back to `since_ns`, attribute them, insert them idempotently."""
    _check_request(request)
    entry = lighter_entry(request.market)
    tokens, close_signer = await _token_source(request, signer)
    rest = LighterRest(request.rest_url, backfill_budget(request), auth_token=tokens)
    since_ms = (request.since_ns or 0) // 1_000_000
    refused: TradesIncomplete | None = None
    try:
        spec = await rest.market_spec(entry.spec.market_id)
        check_venue_spec(entry, spec)
        try:
            trades = await rest.trades(
                request.account_index,
                spec.market_id,
                since_ms=since_ms,
                limit=PAGE_LIMIT,
                max_pages=request.max_pages,
                retry=RETRY,
            )
        except TradesIncomplete as error:  # keep what came before the refused page
            trades, refused = error.trades, error
    except TransportError as error:
        raise VenueError(f"venue unreachable at {request.rest_url}: {error}") from None
    finally:
        await rest.aclose()
        await close_signer()
    fills, reader = _attribute(trades, request, spec)
    with Ledger(request.db) as ledger:
        inserted, duplicates = ledger.record_fills(fills)
    if refused is not None:
        raise VenueError(
            f"{refused}; {inserted} fill(s) stored, run fetch-trades again to fetch the rest"
        )
    times = [fill.ts_ns for fill in fills]
    return BackfillSummary(
        account_index=request.account_index,
        market=spec.symbol,
        market_id=spec.market_id,
        since_ns=request.since_ns,
        requests=rest.requests_sent,
        trades=len(trades),
        ours=len(fills),
        inserted=inserted,
        duplicates=duplicates,
        not_ours=reader.not_ours,
        other_market=reader.other_market,
        self_trades=reader.self_trades,
        oldest_ts_ns=min(times) if times else None,
        newest_ts_ns=max(times) if times else None,
        # Every page full and fresh: paging stopped at max_pages, older trades may remain.
        complete=len(trades) < request.max_pages * PAGE_LIMIT,
    )


def backfill_budget(request: BackfillRequest) -> RequestBudget:
    """The pager's budget: --requests-per-minute, never above the trades endpoint's weight."""
    limit = min(request.requests_per_minute, DEFAULT_REQUESTS_PER_MINUTE)
    margin = SAFETY_MARGIN if limit > 1 else 0.0
    return RequestBudget(limit, quote_reserve=0, query_reserve=0, safety_margin=margin)


def _check_request(request: BackfillRequest) -> None:
    if request.account_index < 0:
        raise UsageError(f"--account: expected an account index >= 0, got {request.account_index}")
    if request.max_pages < 1:
        raise UsageError(f"--max-pages: expected at least 1, got {request.max_pages}")
    if request.requests_per_minute < 1:
        raise UsageError(
            f"--requests-per-minute: expected at least 1, got {request.requests_per_minute}"
        )
    if request.token is not None:
        _check_token_account(request.token, request.account_index)


def _check_token_account(token: str, account_index: int) -> None:
    """A `<expiry>:<account>:<key>:<signature>` token must be for the account we ask about."""
    parts = token.strip().split(":")
    if len(parts) == 4 and parts[1].isdigit() and int(parts[1]) != account_index:
        raise UsageError(f"--token is for account {parts[1]}, not --account {account_index}")


def _attribute(
    trades: list[dict[str, Any]], request: BackfillRequest, spec: MarketSpec
) -> tuple[list[Fill], _TradeReader]:
    """Our fills among `trades`; a trade we cannot read stops the backfill before any insert."""
    where = f"{request.rest_url.rstrip('/')}/api/v1/trades"
    reader = _TradeReader(where, request.account_index, VENUE, spec.symbol, spec.market_id)
    for index, trade in enumerate(trades):
        # No file here: "line" is the trade's 1-based position in the fetched list.
        reader.read(trade, index)
    if reader.problems:
        raise VenueError(_problem_text(reader.listed_problems()))
    # Pages come newest first; store oldest first so fills of one millisecond keep venue order.
    ordered = sorted(reader.fills, key=venue_order)
    return [dataclasses.replace(fill, source=SOURCE) for fill in ordered], reader


def _problem_text(problems: list[Problem]) -> str:
    shown = "; ".join(str(problem) for problem in problems[:_MAX_PROBLEMS_SHOWN])
    more = len(problems) - _MAX_PROBLEMS_SHOWN
    extra = f" (and {more} more)" if more > 0 else ""
    return f"the venue sent trades solbot cannot read, nothing was stored: {shown}{extra}"


async def _token_source(
    request: BackfillRequest, signer: Signer | None
) -> tuple[Callable[[], str], Callable[[], Any]]:
    """The auth-token provider and a closer for whatever signer made it."""
    if request.token is not None:
        token = request.token.strip()
        return (lambda: token), _nothing
    if signer is None:
        signer = _signer_from_environment(request)
    tokens = AuthTokens(signer, TOKEN_LIFETIME_S)
    close = getattr(signer, "close", None)
    return tokens.current, (close if close is not None else _nothing)


async def _nothing() -> None:
    return None


def _signer_from_environment(request: BackfillRequest) -> Signer:
    """A signer from LIGHTER_* credentials (the unsigned test signer on loopback when asked)."""
    missing = [name for name in CREDENTIAL_VARIABLES if not os.environ.get(name)]
    if missing:
        raise UsageError(
            "fetch-trades needs --token, or credentials in the environment to make one: "
            f"missing {', '.join(missing)}"
        )
    credentials = Credentials.from_environment()
    if credentials.account_index != request.account_index:
        raise UsageError(
            f"LIGHTER_ACCOUNT_INDEX is {credentials.account_index}, but --account is "
            f"{request.account_index}; a token only reads its own account's trades"
        )
    chain_id = request.chain_id or chain_id_for(request.rest_url)
    return signer_from_environment(request.rest_url, credentials, chain_id)
