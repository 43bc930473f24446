"""`solbot run`: trade on live market data; a dry run on paper by default, `--live` sends orders."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from solbot.adapters.venues.lighter.endpoints import MAINNET_REST_URL, MAINNET_WS_URL
from solbot.cli.completion import complete_profile
from solbot.cli.options import ConfigDirOption
from solbot.errors import UsageError


def run_command(
    profile: Annotated[
        str, typer.Option("--profile", help="Profile to trade.", autocompletion=complete_profile)
    ] = "defensive",
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Send real orders (needs LIGHTER_ACCOUNT_INDEX, "
            "LIGHTER_API_KEY_INDEX, LIGHTER_API_PRIVATE_KEY). Default: dry run on paper.",
        ),
    ] = False,
    rest_url: Annotated[str, typer.Option(help="Venue REST base URL.")] = MAINNET_REST_URL,
    ws_url: Annotated[str, typer.Option(help="Venue WebSocket URL.")] = MAINNET_WS_URL,
    chain_id: Annotated[
        int | None, typer.Option(help="Chain id for signatures (default from URL).")
    ] = None,
    market: Annotated[
        str | None, typer.Option(help="Market key or symbol (default: the profile's).")
    ] = None,
    db: Annotated[Path, typer.Option(help="Ledger file.", envvar="SOLBOT_DB")] = Path("solbot.db"),
    duration: Annotated[
        str | None, typer.Option(help="Stop after this long (e.g. 60s, 2h).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve /metrics and /health on this port.", envvar="SOLBOT_METRICS_PORT"),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            help="Address /metrics and /health listen on (0.0.0.0 inside a container).",
            envvar="SOLBOT_METRICS_HOST",
        ),
    ] = "127.0.0.1",
    log_format: Annotated[str, typer.Option(help="text or json.")] = "text",
    ack_kill: Annotated[
        str | None, typer.Option(help="Acknowledge a latched kill rule and start.")
    ] = None,
    alert_webhook: Annotated[
        str | None, typer.Option(help="Webhook URL for alerts.", envvar="SOLBOT_ALERT_WEBHOOK")
    ] = None,
    trace: Annotated[
        Path | None, typer.Option(help="Write the decision trace (JSONL) here.")
    ] = None,
    config_dir: ConfigDirOption = None,
    markets: Annotated[
        Path | None,
        typer.Option(
            "--markets",
            help="Markets file (markets.yaml schema) adding or overriding market specs.",
        ),
    ] = None,
) -> None:
    """Run the engine on live market data; Ctrl-C cancels all orders, flushes, exits 0."""
    import asyncio

    from solbot.app.live import LiveRunner, RunRequest, json_status_printer

    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format takes text or json, not {log_format!r}")
    _configure_logging(log_format)
    seconds = _duration(duration)
    terminal = sys.stdout.isatty() and log_format == "text"
    request = RunRequest(
        profile=profile,
        rest_url=rest_url,
        ws_url=ws_url,
        db=db,
        config_dir=config_dir,
        markets=markets,
        live=live,
        chain_id=chain_id,
        market=market,
        duration_s=seconds,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        ack_kill=ack_kill,
        alert_webhook=alert_webhook,
        trace=trace,
        view="terminal" if terminal else "json",
    )
    if terminal:
        from solbot.cli.live_view import LiveView

        with LiveView() as view:
            code = asyncio.run(LiveRunner(request, view.update).run())
    else:
        code = asyncio.run(LiveRunner(request, json_status_printer(sys.stdout)).run())
    if code:
        raise typer.Exit(code)


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from solbot.config.schema import parse_duration

    try:
        return float(parse_duration(text))
    except ValueError as error:
        raise UsageError(f"--duration: {error}") from None


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a logged exception keeps its traceback (`exc_info`)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        payload: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload)


def _configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def register(app: typer.Typer) -> None:
    """Add `run`."""
    app.command("run")(run_command)
