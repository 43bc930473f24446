"""Venue commands: `solbot fake-venue` (a loopback fake of Lighter for tests and demos)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from solbot.adapters.venues.fake_lighter import (
    MARKETS,
    FakeLighterVenue,
    FakeVenueConfig,
    FaultError,
    faults_from_assignments,
    run_fake_venue,
)
from solbot.errors import UsageError

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
        "no_pong_close_s=T, ping_interval_s=K. GET /_fake/state shows orders, fills, position, "
        "nonces and faults.",
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
) -> None:
    """Serve a fake Lighter exchange on 127.0.0.1 (REST + WebSocket) with fault knobs."""
    spec = MARKETS.get(market.upper())
    if spec is None:
        raise UsageError(f"--market: the fake venue serves {', '.join(MARKETS)}, not {market!r}")
    try:
        faults = faults_from_assignments(fault or [])
    except FaultError as error:
        raise UsageError(f"--fault: {error}") from None
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
        faults=faults,
    )
    try:
        run_fake_venue(config, _banner, duration_s)
    except KeyboardInterrupt:
        typer.echo("fake venue stopped", err=True)


def _register_fake_venue(app: typer.Typer) -> None:
    app.command("fake-venue", help=FAKE_VENUE_HELP)(fake_venue_command)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    _register_fake_venue(app)
