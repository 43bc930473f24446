"""`solbot simulate`: replay recorded ticks through the session loop and the fill model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solbot import __version__
from solbot.adapters.data import EventChunk, EventSource, open_events, parquet_market_key
from solbot.adapters.data.funding import load_funding
from solbot.adapters.data.huge_pages import avoid_huge_pages
from solbot.adapters.data.source import DEFAULT_BAR_SPREAD_BPS, DEFAULT_BAR_TICKS
from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import TraceWriter
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.driver import Driver, ReplayChunk, Row, replay
from solbot.app.metrics import window_report
from solbot.app.price_path import MidChunk, path_markouts
from solbot.app.run_figures import RunFigures, compute_run_figures
from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, ResolvedProfile, resolve_profile
from solbot.config.markets import (
    MarketEntry,
    config_dir_markets,
    infer_market_from_filename,
    markets_with,
    resolve_market,
)
from solbot.config.overrides import Override
from solbot.config.profile_market import profile_market, profile_tier
from solbot.core.clock import ReplayClock
from solbot.core.denials import quoting_denied_summary
from solbot.core.engine import CompiledPolicy
from solbot.core.model import Fill, MarketSpec
from solbot.errors import ConfigError, DataError, Problem, UsageError

NS = 1_000_000_000
KIND_BOOK = 0
TRACE_NAME = "trace.jsonl.gz"  # gzip-compressed JSON lines, streamed (see adapters/storage/trace)


@dataclass(frozen=True)
class SimulationRequest:
    profile: str
    data: tuple[Path, ...]
    config_dir: Path | None = None
    market: str | None = None
    data_market: str | None = None
    reference_price: float | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    out_dir: Path | None = None
    db: Path | None = None
    seed: int = 0
    queue_model: str = "risk_averse"
    tier: str | None = None
    funding: Path | None = None
    markets: Path | None = None  # a markets file adding to or overriding the bundled one
    overrides: tuple[Override, ...] = ()  # `--set KEY=VALUE` on the profile
    bar_ticks: int = DEFAULT_BAR_TICKS  # bar mode: synthetic ticks per candle
    bar_spread_bps: float = DEFAULT_BAR_SPREAD_BPS  # bar mode: synthetic book spread

    def bar_model(self) -> dict[str, float] | None:
        """The bar-mode settings when they differ from the defaults (None: the defaults)."""
        if (self.bar_ticks, self.bar_spread_bps) == (DEFAULT_BAR_TICKS, DEFAULT_BAR_SPREAD_BPS):
            return None
        return {"bar_ticks": self.bar_ticks, "bar_spread_bps": self.bar_spread_bps}


@dataclass
class SimulationResult:
    summary: dict[str, Any]
    session: Session
    out_dir: Path
    trace_path: Path
    db_path: Path
    notes: list[str] = field(default_factory=list)


Progress = Callable[[int, int], None]


def _markets(
    request: SimulationRequest, resolved: ResolvedProfile, table: dict[str, MarketEntry]
) -> tuple[MarketEntry, MarketEntry]:
    """(market the data was recorded on, market we trade); they differ => prices are rescaled."""
    if request.data_market:
        source = resolve_market(request.data_market, table)
    else:
        found = [e for e in (_market_of_file(p, table) for p in request.data) if e is not None]
        if not found:
            raise UsageError(
                "cannot tell which market the data is from its file name: give --data-market KEY"
            )
        source = found[0]
    target = profile_market(resolved, request.market, table)
    return source, target


def _market_of_file(path: Path, table: dict[str, MarketEntry]) -> MarketEntry | None:
    """The market a data file was recorded on: solbot Parquet says so, else the file name."""
    if path.suffix == ".parquet" and path.is_file():
        try:
            return resolve_market(parquet_market_key(path), table)
        except ConfigError:  # an unknown market key; an unreadable file is a DataError (exit 3)
            return None
    return infer_market_from_filename(path, table)


@dataclass(frozen=True)
class PreparedPolicy:
    """A request's profile resolved (overrides applied), its markets and its compiled policy."""

    resolved: ResolvedProfile
    source_entry: MarketEntry
    target_entry: MarketEntry
    tier_name: str
    target: MarketSpec
    policy: CompiledPolicy


def prepare_policy(request: SimulationRequest) -> PreparedPolicy:
    """Everything `run_simulation` checks before reading data: raises on an invalid profile."""
    config_dir = ConfigDir.find(request.config_dir)
    resolved = resolve_profile(request.profile, config_dir, request.overrides)
    overlays = config_dir_markets(config_dir.root) + ([request.markets] if request.markets else [])
    source_entry, target_entry = _markets(request, resolved, markets_with(overlays))
    tier_name = profile_tier(target_entry, resolved, request.tier)
    target = target_entry.spec_for_tier(tier_name)
    policy = compile_policy(resolved, target)
    return PreparedPolicy(resolved, source_entry, target_entry, tier_name, target, policy)


def run_simulation(
    request: SimulationRequest, progress: Progress | None = None
) -> SimulationResult:
    """Replay the data through the engine; write trace, ledger and a summary."""
    prepared = prepare_policy(request)
    resolved, policy, target = prepared.resolved, prepared.policy, prepared.target
    source_entry, target_entry = prepared.source_entry, prepared.target_entry
    tier_name = prepared.tier_name
    avoid_huge_pages()  # before the big column arrays: see adapters/data/huge_pages.py
    events = open_events(
        list(request.data),
        source_entry.spec,
        start_ns=request.start_ns,
        end_ns=request.end_ns,
        bar_spread_bps=request.bar_spread_bps,
        bar_ticks=request.bar_ticks,
    )
    bar_model = request.bar_model()
    if bar_model is not None and not events.expands_bars:
        raise UsageError(
            "--bar-ticks and --bar-spread-bps apply to candle files (bar mode); these data "
            "are replayed as they are"
        )
    total = events.count()
    if total == 0:
        raise DataError(
            Problem(str(request.data[0]), 1, 1, "", "no events in the selected time range")
        )
    tier = target_entry.tiers[tier_name]
    settings = FillModelSettings(
        queue_model=request.queue_model,  # type: ignore[arg-type]
        order_latency_ms=tier.order_latency_ms,
        cancel_latency_ms=tier.cancel_latency_ms,
        taker_latency_ms=tier.taker_latency_ms,
        maker_fee_bps=tier.maker_fee_bps,
        taker_fee_bps=tier.taker_fee_bps,
        tx_per_minute=tier.tx_per_minute,
        seed=request.seed,
    )
    data_hashes = [info.sha256 for info in events.files]
    run_key = hashlib.sha256(
        json.dumps(
            [
                resolved.profile_sha256,
                resolved.ruleset_sha256,
                data_hashes,
                request.seed,
                settings.describe(),
                request.start_ns,
                request.end_ns,
                target.symbol,
                # only when set, so default runs keep the keys (and folders) they always had
                *([bar_model] if bar_model is not None else []),
            ],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:12]
    out_dir = request.out_dir or Path("runs") / f"{resolved.name}-{run_key}"
    out_dir.mkdir(parents=True, exist_ok=True)
    trace_path = out_dir / TRACE_NAME
    db_path = request.db or out_dir / "ledger.db"
    mapping = PriceMapping.build(events, source_entry.spec, target, request.reference_price)
    header = {
        "solbot": __version__,
        "profile": resolved.name,
        "profile_sha256": resolved.profile_sha256,
        "ruleset_sha256": resolved.ruleset_sha256,
        "market": target_entry.key,
        "market_spec": dataclasses.asdict(target),
        "tier": tier_name,
        "data": [info.to_dict() for info in events.files],
        "seed": request.seed,
        "fill_model": settings.describe(),
        "price_mapping": mapping.describe(),
        "coarse": events.coarse,
    }
    trace = TraceWriter(trace_path, header)
    notes = list(mapping.notes())
    if events.coarse:
        notes.append("bar mode is coarse: synthetic ticks from candles, fills are indicative only")
    with Ledger(db_path, durability="fast") as ledger:
        run_id = ledger.start_run(
            "simulate",
            resolved.name,
            resolved.profile_sha256,
            resolved.ruleset_sha256,
            {"run_key": run_key, "data": data_hashes},
        )
        session = Session(
            policy, market_key=target.symbol, run_id=run_id, ledger=ledger, trace=trace
        )
        venue = SimulatedExchange(target, settings, session, venue_name=f"sim-{run_key}")
        session.attach(venue)
        funding = load_funding(request.funding).times_and_rates() if request.funding else []
        driver = Driver(session, venue, ReplayClock(), events.feed_heartbeat_ns)
        started = time.perf_counter()
        replay(
            driver,
            (mapping.columns(chunk) for chunk in events.chunks()),
            funding,
            _settler(venue, session),
            None if progress is None else lambda done: progress(done, total),
        )
        elapsed = time.perf_counter() - started
        last = session.stats.last_ts_ns
        session.shutdown(last, "end of data")
        venue.advance(last + 10 * NS)
        ledger.flush()
    trace.close()
    summary = build_summary(
        session, policy, resolved, venue, trace, elapsed, db_path, target_entry.key
    )
    ledger_view = window_report(
        db_path, market=target.symbol, since=str(session.stats.first_ts_ns // 1_000_000)
    )
    summary["markouts_bps"] = ledger_view.markouts_bps
    summary["ledger_fills"] = ledger_view.fills
    fills = _run_fills(db_path, target.symbol, run_id)
    path_outs, five_s = path_markouts(fills, mapping.mids(events))
    summary["markouts_bps"] = path_outs.bps  # from every book event, not the 1 s marks
    summary["markout_samples"] = path_outs.samples
    figures = run_figures(db_path, target.symbol, run_id, session, five_s)
    summary.update(figures.summary())
    summary["notes"] = notes
    summary["out_dir"] = str(out_dir)
    summary["trace"] = str(trace_path)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return SimulationResult(summary, session, out_dir, trace_path, db_path, notes)


@dataclass(frozen=True)
class PriceMapping:
    """Maps recorded prices/sizes onto the traded market: identity, or a constant rescale."""

    source: MarketSpec
    target: MarketSpec
    factor: float

    @classmethod
    def build(
        cls, events: EventSource, source: MarketSpec, target: MarketSpec, reference: float | None
    ) -> PriceMapping:
        if reference is None and same_asset(source, target):
            return cls(source, target, 1.0)  # same instrument (perhaps another venue): no rescale
        first_mid = _first_mid(events, source)
        if reference is None:
            reference = DEFAULT_REFERENCE_PRICES.get(target.symbol, first_mid)
        return cls(source, target, reference / first_mid)

    @property
    def identity(self) -> bool:
        return self.factor == 1.0 and self.source == self.target

    def describe(self) -> dict[str, Any]:
        return {
            "source": f"{self.source.venue}:{self.source.symbol}",
            "target": f"{self.target.venue}:{self.target.symbol}",
            "factor": self.factor,
        }

    def notes(self) -> list[str]:
        if self.factor == 1.0:
            return []
        return [
            f"prices of {self.source.venue}:{self.source.symbol} rescaled x{self.factor:.6g} onto "
            f"{self.target.venue}:{self.target.symbol} (relative moves and notional kept)"
        ]

    def mids(self, events: EventSource) -> Iterator[MidChunk]:
        """(ts_ns, mid in USD) of every book event with both sides, in the target's prices."""
        scale = 10.0**-self.target.price_decimals
        for chunk in events.chunks():
            bid, ask = self.book_ticks(chunk)
            book = (chunk.kind == KIND_BOOK) & (bid > 0) & (ask > 0)
            yield chunk.ts_ns[book].astype(np.int64), (bid[book] + ask[book]) / 2 * scale

    def book_ticks(self, chunk: EventChunk) -> tuple[np.ndarray, np.ndarray]:
        """Bid and ask prices in the target's ticks, exactly as `apply` converts them."""
        if self.identity:
            return chunk.bid_price, chunk.ask_price
        scale = self.factor * 10.0 ** (self.target.price_decimals - self.source.price_decimals)
        bid = np.rint(chunk.bid_price * scale).astype(np.int64)
        ask = np.rint(chunk.ask_price * scale).astype(np.int64)
        return bid, _unlocked(bid, ask)

    def rows(self, chunk: EventChunk) -> Iterator[Row]:
        """Events as tuples in COLUMNS order (target ticks and lots), converted once per chunk."""
        return self.columns(chunk).rows()

    def columns(self, chunk: EventChunk) -> ReplayChunk:
        """The replay columns (int64 arrays) in the target market's ticks and lots."""
        if self.identity:  # int64 columns as they are (the replay only reads them), no copy
            return ReplayChunk(
                *(getattr(chunk, name).astype(np.int64, copy=False) for name in COLUMNS)
            )
        price_scale = self.factor * 10.0 ** (
            self.target.price_decimals - self.source.price_decimals
        )
        size_scale = 10.0 ** (self.target.size_decimals - self.source.size_decimals) / self.factor
        out: dict[str, np.ndarray] = {}
        for name in COLUMNS:
            column = getattr(chunk, name)
            if name in PRICE_COLUMNS:
                scaled = column * price_scale
                column = np.rint(scaled, out=scaled).astype(np.int64)
            elif name in SIZE_COLUMNS:  # a size that rounds to 0 lots stays 1 lot
                scaled = np.rint(column * size_scale)
                column = np.maximum(scaled, column > 0, out=scaled).astype(np.int64)
            else:
                column = column.astype(np.int64, copy=False)
            out[name] = column
        out["ask_price"] = _unlocked(out["bid_price"], out["ask_price"])
        return ReplayChunk(*(out[name] for name in COLUMNS))


def _unlocked(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Rescaling can round a one-tick spread to zero; keep the book one tick wide, not locked."""
    locked = (bid > 0) & (ask > 0) & (ask <= bid)
    if locked.any():
        ask[locked] = bid[locked] + 1
    return ask


def same_asset(source: MarketSpec, target: MarketSpec) -> bool:
    """SOLUSDT on Binance and SOL on Lighter are the same asset; ETHUSDT and SOL are not."""
    return source.symbol.upper().startswith(target.symbol.upper())


DEFAULT_REFERENCE_PRICES = {"SOL": 150.0, "ETH": 3000.0, "BTC": 60000.0}
COLUMNS = (
    "ts_ns",
    "exchange_ts_ns",
    "kind",
    "bid_price",
    "bid_size",
    "ask_price",
    "ask_size",
    "trade_price",
    "trade_size",
    "aggressor",
)
PRICE_COLUMNS = {"bid_price", "ask_price", "trade_price"}
SIZE_COLUMNS = {"bid_size", "ask_size", "trade_size"}


def _first_mid(events: EventSource, market: MarketSpec) -> float:
    for chunk in events.chunks(chunk_rows=4096):
        books = np.flatnonzero(
            (chunk.kind == KIND_BOOK) & (chunk.bid_price > 0) & (chunk.ask_price > 0)
        )
        if books.size:
            row = int(books[0])
            mid_ticks = (int(chunk.bid_price[row]) + int(chunk.ask_price[row])) / 2
            return market.ticks_to_price(round(mid_ticks)) or 1.0
    raise DataError(Problem(str(events.files[0].path), 1, 1, "", "no book events in the data"))


def _settler(venue: SimulatedExchange, session: Session) -> Callable[[int, float], None]:
    """Funding settles on the inventory held at its time, at the current mid."""

    def settle(funding_ns: int, rate: float) -> None:
        mid = session.engine.signals.mid
        if mid > 0:
            venue.on_funding(funding_ns, rate, mid)

    return settle


def _run_fills(db_path: Path, market: str, run_id: str) -> list[Fill]:
    with Ledger(db_path, read_only=True) as ledger:
        return ledger.fills(market=market, run_id=run_id)


def run_figures(
    db_path: Path,
    market: str,
    run_id: str,
    session: Session,
    markouts_5s: Sequence[float | None] | None = None,
) -> RunFigures:
    """Equity, drawdown, daily PnL, profit factor, hit rate and dwell of this run's ledger."""
    with Ledger(db_path, read_only=True) as ledger:
        fills = ledger.fills(market=market, run_id=run_id)
        marks = ledger.marks(market, run_id=run_id)
        funding = ledger.funding_payments(market=market, run_id=run_id)
    stats = session.stats
    return compute_run_figures(
        market, fills, marks, funding, stats.first_ts_ns, stats.last_ts_ns, markouts_5s
    )


def build_summary(
    session: Session,
    policy: CompiledPolicy,
    resolved: ResolvedProfile,
    venue: SimulatedExchange,
    trace: TraceWriter,
    elapsed_s: float,
    db_path: Path,
    market_key: str,
) -> dict[str, Any]:
    """The numbers `simulate` prints (JSON keys are part of the CLI contract)."""
    stats = session.stats
    engine = session.engine
    fifo = engine.fifo
    duration_s = max(0, stats.last_ts_ns - stats.first_ts_ns) / NS
    lot = policy.market.lot
    mid = engine.signals.mid
    unrealized = fifo.unrealized(mid) if mid > 0 else 0.0
    machines = engine.machines
    rules = {
        rule.id: {
            "activations": machines.activations[i],
            "failed_closed_activations": machines.failed_closed_activations[i],
            "active_s": round(machines.active_ns_total[i] / NS, 3),
        }
        for i, rule in enumerate(machines.rules)
    }
    minutes = max(duration_s / 60.0, 1e-9)
    orders = session.orders
    return {
        "profile": resolved.name,
        "market": market_key,
        "events": stats.events,
        "decisions": stats.decisions,
        "simulated_s": round(duration_s, 3),
        "fills": stats.fills,
        "maker_fills": stats.maker_fills,
        "taker_fills": stats.taker_fills,
        "duplicate_fills": stats.duplicate_fills,
        "volume_usd": round(stats.volume_usd, 6),
        "realized_pnl_usd": round(fifo.realized_usd, 6),
        "fees_usd": round(fifo.fees_usd, 6),
        "funding_usd": round(fifo.funding_usd, 6),
        "cash_flow_usd": round(fifo.cash_flow_usd, 6),
        "unrealized_pnl_usd": round(unrealized, 6),
        "net_pnl_usd": round(fifo.realized_usd - fifo.fees_usd + fifo.funding_usd, 6),
        "inventory": round(engine.inventory_lots * lot, 9),
        "max_abs_inventory": round(stats.max_abs_inventory_lots * lot, 9),
        "time_flat_pct": round(
            100.0 * stats.flat_ns / max(1, stats.last_ts_ns - stats.first_ts_ns), 2
        ),
        "rules": rules,
        "failed_closed_activations": sum(machines.failed_closed_activations),
        "regime_s": {name: round(ns / NS, 3) for name, ns in sorted(stats.regime_ns.items())},
        "regime_switches": engine.regime_switches,
        "tx_sent": orders.sent_total if orders else 0,
        "tx_per_minute": round((orders.sent_total if orders else 0) / minutes, 2),
        "tx_budget_per_minute": policy.tx_per_minute,
        "tx_dropped_by_budget": orders.dropped if orders else 0,
        "venue_rejections": stats.rejections,
        "guard_denials": {reason.value: count for reason, count in sorted(stats.denials.items())},
        **quoting_denied_summary(stats.quoting_denied, stats.decisions, policy.market),
        "events_per_s": round(stats.events / elapsed_s, 1) if elapsed_s > 0 else None,
        "wall_s": round(elapsed_s, 3),
        "trace_sha256": trace.sha256,
        "profile_sha256": resolved.profile_sha256,
        "ruleset_sha256": resolved.ruleset_sha256,
        "db": str(db_path),
        "venue": venue.stats(),
    }


def simulate_paths(paths: Sequence[str]) -> tuple[Path, ...]:
    return tuple(Path(path) for path in paths)
