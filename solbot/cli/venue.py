"""Venue commands: `solbot fake-venue` (a loopback fake of Lighter), `record`, `fetch-trades`."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from solbot.adapters.venues.lighter.endpoints import MAINNET_REST_URL, MAINNET_WS_URL
from solbot.cli.progress import Update, no_bar, progress_bar
from solbot.errors import UsageError

if TYPE_CHECKING:
    from solbot.adapters.venues.fake_lighter import FakeLighterVenue, ListedStats
    from solbot.core.model import MarketSpec

FAKE_VENUE_HELP = "\n\n".join(
    [
        "Serve a fake Lighter exchange on 127.0.0.1: REST under /api/v1 and WebSocket at /stream "
        "on one port, for tests and for running `solbot run` with no internet.",
        "The public market replays recorded ticks (--data, or the bundled sample capture) in real "
        "time (x --speed). Recorded prices are rescaled so the first mid starts at --start-price "
        "and every move keeps its size in bps; sizes are rescaled to keep their USD notional. "
        "--synthetic uses a seeded random walk instead. The bot's signed orders (sendTx, "
        "sendTxBatch) are matched against that market by solbot's simulated exchange.",
        "Signatures are NOT verified; nonces, minimum sizes, expiries and order ids are.",
        "Fault knobs (--fault KNOB=VALUE at start, or POST /_fake/faults with a JSON object at "
        "run time): drop_socket=now|N, skip_book_nonce=N, resend_old_trades=N, "
        "rate_limit_after=N, nonce_error_once=true, delay_ms=D, shutdown=MS, stop_pings=true, "
        "no_pong_close_s=T, ping_interval_s=K, frozen_book=true, close_after_greeting=true. "
        "GET /_fake/state shows orders, fills, position, nonces and faults.",
    ]
)


def _parse_api_keys(values: list[str]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for text in values:
        index_text, _, public_key = text.partition("=")
        try:
            index = int(index_text)
        except ValueError:
            raise UsageError(f"--api-key: expected INDEX[=PUBLIC_KEY], found {text!r}") from None
        keys[index] = public_key.strip()
    return keys


EXTRA_MARKET_HELP = (
    "SYMBOL:PRICE[:FUNDING_RATE[:OPEN_INTEREST[:SPREAD_BPS]]] another Lighter market the fake "
    "lists (orderBookDetails, funding-rates, a one-level book) for `solbot markets rank` and "
    "`solbot size`; repeat. SYMBOL is a lighter market of markets.yaml (ids, decimals). "
    "Defaults: funding 0, open interest 0, spread 2 bps."
)


def parse_extra_market(text: str) -> tuple[MarketSpec, ListedStats]:
    """`ETH:3000:0.0001:5000:1.5` -> the market's spec and its listed figures."""
    from solbot.adapters.venues.fake_lighter import ListedStats
    from solbot.config.markets import load_markets

    parts = text.split(":")
    lighter = {
        key.split(":", 1)[1].upper(): e
        for key, e in load_markets().items()
        if key.startswith("lighter:")
    }
    if not 2 <= len(parts) <= 5 or parts[0].upper() not in lighter:
        raise UsageError(
            f"--extra-market: expected SYMBOL:PRICE[:FUNDING_RATE[:OPEN_INTEREST[:SPREAD_BPS]]] "
            f"with SYMBOL one of {', '.join(sorted(lighter))}, found {text!r}"
        )
    try:
        numbers = [float(value) for value in parts[1:]]
    except ValueError:
        raise UsageError(f"--extra-market: figures must be numbers, found {text!r}") from None
    defaults = [0.0, 0.0, 2.0]  # funding rate, open interest, spread bps
    price, funding, open_interest, spread = [*numbers, *defaults[len(numbers) - 1 :]]
    return lighter[parts[0].upper()].spec, ListedStats(price, funding, open_interest, spread)


def _other_market(base: MarketSpec, market_id: int) -> MarketSpec:
    """Another market of the account, on the served market's grid (orders rest unmatched)."""
    return dataclasses.replace(base, symbol=f"M{market_id}", market_id=market_id)


def _banner(venue: FakeLighterVenue) -> None:
    config = venue.config
    market = config.market
    typer.echo(f"fake Lighter venue listening on {config.host}:{venue.port}")
    typer.echo(f"  REST    {venue.base_url}/api/v1/...")
    typer.echo(f"  WS      {venue.ws_url}")
    typer.echo(
        f"  market  {market.symbol} (market_id {market.market_id}), account "
        f"{config.account_index}, tier {config.tier}"
    )
    for other in config.other_markets:
        if other.market_id in config.market_stats:
            typer.echo(f"  listed  {other.symbol} (market_id {other.market_id}), no matching")
    typer.echo(f"  feed    {venue.feed_description}")
    typer.echo(
        f"  state   GET {venue.base_url}/_fake/state, faults POST {venue.base_url}/_fake/faults"
    )
    typer.echo("  signatures are NOT verified; everything else a tx carries is checked")


def fake_venue_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = pick a free one).")] = 0,
    host: Annotated[
        str, typer.Option(help="Only 127.0.0.1 is accepted: the fake never leaves loopback.")
    ] = "127.0.0.1",
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Recorded tick file; repeat for bookticker + trades."),
    ] = None,
    market: Annotated[str, typer.Option(help="Market the fake serves.")] = "SOL",
    start_price: Annotated[float, typer.Option(help="Price the replayed mid starts at.")] = 150.0,
    speed: Annotated[float, typer.Option(help="Replay speed (2.0 = twice real time).")] = 1.0,
    loop: Annotated[
        bool, typer.Option("--loop", help="Restart the recording when it ends.")
    ] = False,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Seeded random walk instead of recorded ticks.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the random walk, depth and nonces.")] = 0,
    account_index: Annotated[int, typer.Option(help="The bot's account index.")] = 1,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="INDEX[=PUBLIC_KEY] of a registered key (repeat); "
            "default: any index 0-254 is accepted.",
        ),
    ] = None,
    tier: Annotated[
        str, typer.Option(help="standard (60 req/min, no fees) or premium.")
    ] = "standard",
    fault: Annotated[
        list[str] | None, typer.Option("--fault", help="KNOB=VALUE fault at start (repeat).")
    ] = None,
    ping_interval_s: Annotated[float, typer.Option(help="Server ping period, seconds.")] = 20.0,
    min_scheduled_cancel_ms: Annotated[
        int, typer.Option(help="Earliest scheduled cancel-all, ms ahead (Lighter: 300000).")
    ] = 300_000,
    duration_s: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    extra_market: Annotated[
        list[str] | None, typer.Option("--extra-market", help=EXTRA_MARKET_HELP)
    ] = None,
    order_latency_ms: Annotated[
        int, typer.Option(help="Create/modify takes effect after this long (Standard: 200).")
    ] = 0,
    cancel_latency_ms: Annotated[
        int, typer.Option(help="Cancel takes effect after this long (Standard: 200).")
    ] = 0,
    taker_latency_ms: Annotated[
        int, typer.Option(help="Immediate-or-cancel order latency (Standard: 300).")
    ] = 0,
    require_auth: Annotated[
        bool,
        typer.Option(
            "--require-auth", help="Account channels refuse subscriptions without a valid token."
        ),
    ] = False,
    ws_connections_per_minute: Annotated[
        int | None, typer.Option(help="WebSocket connections a rolling minute (Lighter: 80).")
    ] = None,
    ws_messages_per_minute: Annotated[
        int | None,
        typer.Option(help="Client messages per connection a rolling minute (Lighter: 200)."),
    ] = None,
    other_market: Annotated[
        list[int] | None,
        typer.Option(
            "--other-market",
            help="Market id of another market of the account (repeat): orders rest there "
            "unmatched, so scoped cancels are testable.",
        ),
    ] = None,
) -> None:
    """Serve a fake Lighter exchange on 127.0.0.1 (REST + WebSocket) with fault knobs."""
    from solbot.adapters.venues.fake_lighter import (
        MARKETS,
        FakeVenueConfig,
        FaultError,
        faults_from_assignments,
        run_fake_venue,
    )

    spec = MARKETS.get(market.upper())
    if spec is None:
        raise UsageError(f"--market: the fake venue serves {', '.join(MARKETS)}, not {market!r}")
    try:
        faults = faults_from_assignments(fault or [])
    except FaultError as error:
        raise UsageError(f"--fault: {error}") from None
    extras = [parse_extra_market(text) for text in extra_market or []]
    config = FakeVenueConfig(
        host=host,
        port=port,
        data_paths=tuple(data or ()),
        synthetic=synthetic,
        market=spec,
        start_price=start_price,
        speed=speed,
        loop=loop,
        seed=seed,
        account_index=account_index,
        api_keys=_parse_api_keys(api_key or []),
        tier=tier,
        ping_interval_s=ping_interval_s,
        min_scheduled_cancel_ms=min_scheduled_cancel_ms,
        order_latency_ms=order_latency_ms,
        cancel_latency_ms=cancel_latency_ms,
        taker_latency_ms=taker_latency_ms,
        require_auth=require_auth,
        ws_connections_per_minute=ws_connections_per_minute,
        ws_messages_per_minute=ws_messages_per_minute,
        faults=faults,
        other_markets=(
            *(_other_market(spec, market_id) for market_id in other_market or ()),
            *(extra for extra, _ in extras),
        ),
        market_stats={extra.market_id: stats for extra, stats in extras},
    )
    try:
        run_fake_venue(config, _banner, duration_s)
    except KeyboardInterrupt:
        typer.echo("fake venue stopped", err=True)


def _register_fake_venue(app: typer.Typer) -> None:
    app.command("fake-venue", help=FAKE_VENUE_HELP)(fake_venue_command)


RECORD_HELP = "\n\n".join(
    [
        "Record the venue's public book tops and trades to a solbot Parquet file that "
        "`solbot simulate --data` and `solbot data info` read.",
        "Events are written in row groups of --flush-events (memory stays bounded) to "
        "FILE.partial, which is renamed to FILE when the recording stops: after --duration, "
        "on Ctrl-C or SIGTERM. The file's metadata holds the market, the source (lighter-ws), "
        "start and end times and the event counts. Exit 1 when the venue is unreachable.",
    ]
)
FETCH_TRADES_HELP = "\n\n".join(
    [
        "Backfill our fills from the venue's /api/v1/trades into the ledger: cursor paging "
        "back to --since, side and role attributed for --account exactly as "
        "`solbot metrics import-json` does, keyed like live fills (venue lighter, trade id), so "
        "a second run inserts nothing and fills the bot recorded live are never counted twice.",
        "Reading the account's trades needs an auth token: --token, or one made from "
        "LIGHTER_ACCOUNT_INDEX, LIGHTER_API_KEY_INDEX and LIGHTER_API_PRIVATE_KEY. Requests stay "
        "within --requests-per-minute (standard accounts: 60 per rolling minute in all, so leave "
        "room when `solbot run` shares the account).",
    ]
)
MarketOption = Annotated[str, typer.Option(help="Market key or symbol (markets.yaml).")]
RestUrlOption = Annotated[str, typer.Option(help="Venue REST base URL.")]


def record_command(
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    market: MarketOption = "SOL",
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long (e.g. 60s, 2h); default: Ctrl-C.")
    ] = None,
    rest_url: RestUrlOption = MAINNET_REST_URL,
    ws_url: Annotated[str, typer.Option(help="Venue WebSocket URL.")] = MAINNET_WS_URL,
    flush_events: Annotated[
        int, typer.Option(help="Write a row group every this many events.")
    ] = 5_000,
    connect_timeout: Annotated[
        str, typer.Option(help="Give up when no WebSocket session starts within this long.")
    ] = "15s",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    markets: Annotated[
        Path | None,
        typer.Option(
            "--markets",
            help="Markets file (markets.yaml schema) adding or overriding market specs.",
        ),
    ] = None,
) -> None:
    """Record public book tops and trades to Parquet until --duration or Ctrl-C."""
    from solbot.app.record import RecordRequest, run_record

    request = RecordRequest(
        market=market,
        out=out,
        rest_url=rest_url,
        ws_url=ws_url,
        duration_s=_seconds(duration, "--duration"),
        flush_events=flush_events,
        connect_timeout_s=_seconds(connect_timeout, "--connect-timeout") or 0.0,
        overwrite=overwrite,
        markets=markets,
    )
    typer.echo(f"recording {market} from {ws_url} (Ctrl-C stops)", err=True)
    with progress_bar("recording", "events", enabled=not as_json) as update:
        summary = run_record(request, _record_progress(update, request.duration_s, as_json))
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), sort_keys=True))
        return
    seconds = (summary.ended_ns - summary.started_ns) / 1e9
    typer.echo(
        f"{summary.out}: {summary.book_events} book tops, {summary.trade_events} trades of "
        f"{summary.market_key} in {seconds:.1f} s (stopped: {summary.stop_reason}; "
        f"{summary.reconnects} reconnects, {summary.book_invalidations} book resyncs)"
    )
    typer.echo(f"replay: {summary.simulate_command}")


def _record_progress(
    update: Update, duration_s: float | None, quiet: bool
) -> Callable[[dict[str, Any]], None]:
    """A bar on a terminal (ETA from --duration), else one line per row group written."""
    started = time.monotonic()

    def report(counts: dict[str, Any]) -> None:
        events = int(counts["book_events"]) + int(counts["trade_events"])
        if update is not no_bar:
            update(events, _expected_events(events, time.monotonic() - started, duration_s))
        elif not quiet:
            typer.echo(
                f"  {counts['book_events']} book tops, {counts['trade_events']} trades written",
                err=True,
            )

    return report


def _expected_events(events: int, elapsed_s: float, duration_s: float | None) -> int | None:
    """Events by the end of --duration at the rate so far (None without a duration)."""
    if duration_s is None or elapsed_s <= 0:
        return None
    return max(events, round(events * duration_s / elapsed_s))


def fetch_trades_command(
    account: Annotated[int, typer.Option("--account", help="Our Lighter account index.")],
    market: MarketOption = "SOL",
    since: Annotated[
        str | None,
        typer.Option(help="Stop paging at trades older than this (ISO-8601 UTC or epoch time)."),
    ] = None,
    db: Annotated[Path, typer.Option(help="Ledger file.", envvar="SOLBOT_DB")] = Path("solbot.db"),
    rest_url: RestUrlOption = MAINNET_REST_URL,
    token: Annotated[
        str | None,
        typer.Option(help="Auth token (default: made from the LIGHTER_* credentials)."),
    ] = None,
    chain_id: Annotated[
        int | None, typer.Option(help="Chain id for the token signature (default from URL).")
    ] = None,
    max_pages: Annotated[int, typer.Option(help="At most this many pages of 100 trades.")] = 500,
    requests_per_minute: Annotated[
        int,
        typer.Option(
            help="REST request budget per rolling minute (at most 40: /trades weighs 600 of "
            "the venue's 24000; 10 % of it is kept unused)."
        ),
    ] = 40,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Backfill our fills from /api/v1/trades into the ledger (idempotent)."""
    from solbot.app.backfill import BackfillRequest, run_backfill
    from solbot.core.times import parse_time_ns

    request = BackfillRequest(
        account_index=account,
        market=market,
        db=db,
        rest_url=rest_url,
        since_ns=parse_time_ns(since, "--since") if since is not None else None,
        token=token,
        chain_id=chain_id,
        max_pages=max_pages,
        requests_per_minute=requests_per_minute,
    )
    summary = run_backfill(request)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), sort_keys=True))
    else:
        typer.echo(
            f"account {summary.account_index} {summary.market}: {summary.trades} trades fetched "
            f"in {summary.requests} requests, {summary.ours} ours: {summary.inserted} inserted, "
            f"{summary.duplicates} duplicates; skipped {summary.skipped} ({summary.not_ours} of "
            f"other accounts, {summary.other_market} of other markets, {summary.self_trades} "
            "self-trades)"
        )
    if not summary.complete:
        typer.echo(
            f"warning: stopped after --max-pages {max_pages}; older trades may remain "
            "(run again with a larger --max-pages)",
            err=True,
        )


def _seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    from solbot.config.schema import parse_duration

    try:
        return float(parse_duration(text))
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _register_data_tools(app: typer.Typer) -> None:
    app.command("record", help=RECORD_HELP)(record_command)
    app.command("fetch-trades", help=FETCH_TRADES_HELP)(fetch_trades_command)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    _register_fake_venue(app)
    _register_data_tools(app)
