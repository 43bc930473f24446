"""`solbot size` (a profile sized from the venue and a budget) and `solbot markets rank`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from solbot.adapters.venues.lighter.endpoints import MAINNET_REST_URL
from solbot.errors import UsageError

if TYPE_CHECKING:
    from solbot.app.market_rank import MarketScore
    from solbot.app.sizing import Sizing

markets_app = typer.Typer(help="Compare the venue's perp markets.", no_args_is_help=True)

RestUrlOption = Annotated[str, typer.Option(help="Venue REST base URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def size_command(
    market: Annotated[str, typer.Option(help="Market key or symbol (markets.yaml).")],
    collateral: Annotated[float, typer.Option(help="Collateral budget in USD.")],
    out: Annotated[
        Path, typer.Option("--out", help="Profile to write: <config dir>/profiles/<id>.yaml.")
    ],
    extends: Annotated[str, typer.Option(help="Parent profile the new one extends.")] = "base",
    rest_url: RestUrlOption = MAINNET_REST_URL,
    price: Annotated[
        float | None,
        typer.Option(help="Size at this price instead of the venue's last trade price."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Size clips, soft cap, hedger and limits from the venue's market rules and a budget."""
    import asyncio

    from solbot.app.sizing import size_profile
    from solbot.app.sizing_profile import SizeTarget, check_target, render_profile, sizing_request
    from solbot.app.venue_markets import fetch_details
    from solbot.config.loader import ConfigDir, resolve_profile
    from solbot.config.markets import resolve_market

    target = SizeTarget(out, extends, market)
    check_target(target)
    if out.exists() and not overwrite:
        raise UsageError(f"--out: {out} exists; use --overwrite to replace it")
    entry = resolve_market(market)
    if entry.spec.venue != "lighter":
        raise UsageError(f"--market: sizing reads Lighter's orderBookDetails; {entry.key} is not")
    target = SizeTarget(out, extends, entry.key)
    parent = resolve_profile(extends, ConfigDir(target.config_root))
    chain = {(target.config_root / shown).resolve() for shown in parent.files}
    if out.resolve() in chain:
        raise UsageError(f"--out: {out} is {extends} or one of its parents; choose a new file")
    details = asyncio.run(fetch_details(rest_url, entry.spec.market_id))
    sizing = size_profile(sizing_request(details, collateral, parent.profile, price))
    uses_usd = parent.profile.quoting.size_min_usd is not None
    source = f"{rest_url} orderBookDetails market {details.market_id} ({details.symbol})"
    out.write_text(render_profile(sizing, target, source, uses_usd), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(_sizing_json(sizing, target.profile_id, out), indent=2))
        return
    _print_sizing(sizing, out)


def _sizing_json(sizing: Sizing, profile_id: str, out: Path) -> dict[str, object]:
    request = sizing.request
    return {
        "profile": profile_id,
        "out": str(out),
        "market": request.market.symbol,
        "price": request.price,
        "collateral_usd": request.collateral_usd,
        "required_collateral_usd": sizing.required_collateral_usd,
        "numbers": [
            {
                "path": n.path,
                "value": n.value,
                "formula": n.formula,
                "inputs": n.inputs,
                "seed_formula": n.seed_formula,
                "improved": n.improved or None,
            }
            for n in sizing.numbers
        ],
    }


def _print_sizing(sizing: Sizing, out: Path) -> None:
    request = sizing.request
    market = request.market
    typer.echo(
        f"{market.symbol} at {request.price:g}: min_base {market.min_base_amount:g}, min_quote "
        f"{market.min_quote_amount:g} USD, lot {market.lot:g}, initial margin "
        f"{market.initial_margin_fraction:g}; collateral {request.collateral_usd:g} USD "
        f"(at least {sizing.required_collateral_usd:.2f} needed)"
    )
    for number in sizing.numbers:
        shown = "null" if number.value is None else f"{number.value:g}"
        typer.echo(f"  {number.path} = {shown}")
        typer.echo(f"      {number.inputs}")
        typer.echo(f"      seed: {number.seed_formula}")
        if number.improved:
            typer.echo(f"      solbot: {number.improved}")
    limit = sizing.value("limits.max_position_usd") or 0.0
    typer.echo(
        f"initial margin at the position limit: {limit:g} x {market.initial_margin_fraction:g} = "
        f"{limit * market.initial_margin_fraction:.2f} USD of {request.collateral_usd:g}"
    )
    typer.echo(f"wrote {out}")


@markets_app.command("rank")
def rank_command(
    rest_url: RestUrlOption = MAINNET_REST_URL,
    weights: Annotated[
        Path | None,
        typer.Option(help="Weights YAML (kind: market-rank); default: the bundled one."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Rank the venue's perp markets by funding, open interest and spread (the original score)."""
    import asyncio

    from solbot.app.market_rank import rank_markets
    from solbot.app.venue_markets import fetch_all_figures
    from solbot.config.rank_weights import load_weights

    loaded = load_weights(weights)
    ranked = rank_markets(asyncio.run(fetch_all_figures(rest_url)), loaded)
    if as_json:
        payload = {
            "weights": loaded.model_dump(by_alias=True),
            "markets": [score.to_json() for score in ranked],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_ranking(ranked)


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_ranking(ranked: list[MarketScore]) -> None:
    header = (
        f"{'#':>2} {'market':<8} {'id':>3} {'score':>9} {'funding':>9} {'oi':>9} {'spread':>9}"
        f"   funding_8h_bps  open_interest_usd  spread_bps"
    )
    typer.echo(header)
    for position, item in enumerate(ranked, 1):
        score = "excluded" if item.score is None else f"{item.score:.4f}"
        typer.echo(
            f"{position:>2} {item.symbol:<8} {item.market_id:>3} {score:>9} "
            f"{item.funding_component:>9.4f} {item.open_interest_component:>9.4f} "
            f"{item.spread_component:>9.4f}   {_cell(item.funding_8h_bps, '.4f'):>14}  "
            f"{_cell(item.open_interest_usd, ',.0f'):>17}  {_cell(item.spread_bps, '.2f'):>10}"
            + (f"  ({item.excluded})" if item.excluded else "")
        )


def register(app: typer.Typer) -> None:
    """Add `size` and the `markets` group."""
    app.command("size")(size_command)
    app.add_typer(markets_app, name="markets")
