#!/usr/bin/env python3
"""The compiled shipped ruleset against a hand-written Python function of the same rules.

Both take the same inputs (signal values, readiness mask, parameters) and must return the same
values on every state (checked first). Then: µs per evaluation of each and their ratio, and one
full engine step per tick (signals + rules + decision + quotes + risk + hedge) on recorded ticks.
Usage: .venv/bin/python scripts/bench_rules.py [--profile defensive] [--states 20000]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Sequence

from solbot.adapters.data import open_events, sample_paths
from solbot.config.compile import compile_policy, compiled_expressions
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import infer_market_from_filename
from solbot.core.engine import CompiledPolicy, Engine
from solbot.core.expressions import MISSING


def hand_written(
    policy: CompiledPolicy, fields: Sequence[str]
) -> Callable[[Sequence[float], int, Sequence[float]], list[object]]:
    """The shipped rules written by hand, as an engineer would without a rule engine.

    `fields` is the order of the compiled program's outputs (rule.when, rule.until, actions), so
    both functions can be compared value by value.
    """
    s = policy.catalog.index()
    P = {name: i for i, name in enumerate(policy.param_names)}
    at = {field: position for position, field in enumerate(fields)}
    size = len(fields)
    R5, R45, INV, VOL = s["ret_5m_bps"], s["ret_45s_bps"], s["inventory_units"], s["vol_ema_bps"]
    SIG, PCT, AGE, BOOK = s["sigma_1m_bps"], s["vol_percentile"], s["feed_age_s"], s["book_valid"]
    RL5, RL1H, RLD = s["realized_5m_usd"], s["realized_1h_usd"], s["realized_day_usd"]
    OVER, EMA = s["over_trigger_s"], s["trend_ema_bps"]
    DD, DDD = s["drawdown_usd"], s["drawdown_day_usd"]
    RATIO = s["inventory_ratio"]
    b = {name: 1 << i for name, i in s.items()}
    inv_bit = b["inventory_units"]
    m5, m45 = b["ret_5m_bps"] | inv_bit, b["ret_45s_bps"] | inv_bit
    mema, mv = b["trend_ema_bps"] | inv_bit, b["vol_ema_bps"]
    mvi = mv | inv_bit
    mclip = b["sigma_1m_bps"] | b["vol_percentile"]
    mstale = b["feed_age_s"] | b["book_valid"]
    mregime = b["realized_5m_usd"] | b["ret_45s_bps"] | b["vol_ema_bps"]
    M = MISSING
    # parameter and output positions bound once, as a hand-written function would have them
    CLIP_CURVE_FULL_SIGMA_BPS = P["clip_curve_full_sigma_bps"]
    CLIP_CURVE_START_PERCENTILE = P["clip_curve_start_percentile"]
    CLIP_CURVE_START_SIGMA_BPS = P["clip_curve_start_sigma_bps"]
    HEDGE_EMERGENCY_AFTER_S = P["hedge_emergency_after_s"]
    INVENTORY_TIER1_EXTRA_BPS = P["inventory_tier1_extra_bps"]
    INVENTORY_TIER1_SIZE_MULTIPLIER = P["inventory_tier1_size_multiplier"]
    INVENTORY_TIER1_UNITS = P["inventory_tier1_units"]
    INVENTORY_TIER2_EXTRA_BPS = P["inventory_tier2_extra_bps"]
    INVENTORY_TIER2_SIZE_MULTIPLIER = P["inventory_tier2_size_multiplier"]
    INVENTORY_TIER2_UNITS = P["inventory_tier2_units"]
    INVENTORY_TIER3_EXTRA_BPS = P["inventory_tier3_extra_bps"]
    INVENTORY_TIER3_UNITS = P["inventory_tier3_units"]
    KILL_DAILY_LOSS_USD = P["kill_daily_loss_usd"]
    KILL_DRAWDOWN_USD = P["kill_drawdown_usd"]
    KILL_INVENTORY_RATIO = P["kill_inventory_ratio"]
    ONE_SIDED_UNITS = P["one_sided_units"]
    PNL_FLOOR_USD = P["pnl_floor_usd"]
    PNL_HEDGE_CLIP_MULTIPLIER = P["pnl_hedge_clip_multiplier"]
    PNL_HEDGE_MAX_SLIPPAGE_BPS = P["pnl_hedge_max_slippage_bps"]
    PNL_HEDGE_OFFSET_BPS = P["pnl_hedge_offset_bps"]
    PNL_HOURLY_ALERT_USD = P["pnl_hourly_alert_usd"]
    PNL_MAX_EXTRA_BPS = P["pnl_max_extra_bps"]
    PNL_MIN_SIZE_MULTIPLIER = P["pnl_min_size_multiplier"]
    PNL_SIZE_MULTIPLIER = P["pnl_size_multiplier"]
    PNL_WIDEN_BPS = P["pnl_widen_bps"]
    REGIME_VOL_THRESHOLD_BPS = P["regime_vol_threshold_bps"]
    STALE_FEED_S = P["stale_feed_s"]
    TREND_DEADBAND_BPS = P["trend_deadband_bps"]
    TREND_DEADBAND_RESUME_BPS = P["trend_deadband_resume_bps"]
    TREND_DOWN_EXTRA_BPS = P["trend_down_extra_bps"]
    TREND_DOWN_RESUME_BPS = P["trend_down_resume_bps"]
    TREND_DOWN_TRIGGER_BPS = P["trend_down_trigger_bps"]
    TREND_EXTRA_BPS = P["trend_extra_bps"]
    TREND_FAST_DOWN_RESUME_BPS = P["trend_fast_down_resume_bps"]
    TREND_FAST_DOWN_TRIGGER_BPS = P["trend_fast_down_trigger_bps"]
    TREND_FAST_RESUME_BPS = P["trend_fast_resume_bps"]
    TREND_OVERRIDE_UNITS = P["trend_override_units"]
    TREND_UP_TRIGGER_BPS = P["trend_up_trigger_bps"]
    VOL_HIGH_CLIP_BPS = P["vol_high_clip_bps"]
    VOL_HIGH_CLIP_MULTIPLIER = P["vol_high_clip_multiplier"]
    VOL_HIGH_PAUSE_BPS = P["vol_high_pause_bps"]
    VOL_HIGH_RESUME_BPS = P["vol_high_resume_bps"]
    VOL_LOW_PAUSE_BPS = P["vol_low_pause_bps"]
    VOL_LOW_RESUME_BPS = P["vol_low_resume_bps"]
    VOL_RESUME_INVENTORY_UNITS = P["vol_resume_inventory_units"]
    O_FEED_STALE_WHEN = at["feed.stale.when"]
    O_HEDGE_EMERGENCY_WHEN = at["hedge.emergency.when"]
    O_INVENTORY_ONE_SIDED_WHEN = at["inventory.one_sided.when"]
    O_INVENTORY_TIER1_SCALE_CLIP_FACTOR = at["inventory.tier1.scale_clip.factor"]
    O_INVENTORY_TIER1_WHEN = at["inventory.tier1.when"]
    O_INVENTORY_TIER1_WIDEN_ADD_BPS = at["inventory.tier1.widen.add_full_spread_bps"]
    O_INVENTORY_TIER2_SCALE_CLIP_FACTOR = at["inventory.tier2.scale_clip.factor"]
    O_INVENTORY_TIER2_WHEN = at["inventory.tier2.when"]
    O_INVENTORY_TIER2_WIDEN_ADD_BPS = at["inventory.tier2.widen.add_full_spread_bps"]
    O_INVENTORY_TIER3_WHEN = at["inventory.tier3.when"]
    O_INVENTORY_TIER3_WIDEN_ADD_BPS = at["inventory.tier3.widen.add_full_spread_bps"]
    O_PNL_DAILY_KILL_WHEN = at["pnl.daily_kill.when"]
    O_PNL_GUARD_HEDGE_CLIP_MULTIPLIER = at["pnl.guard.hedge.clip_multiplier"]
    O_PNL_GUARD_HEDGE_MAX_SLIPPAGE_BPS = at["pnl.guard.hedge.max_slippage_bps"]
    O_PNL_GUARD_HEDGE_OFFSET_BPS = at["pnl.guard.hedge.offset_bps"]
    O_PNL_GUARD_SCALE_CLIP_FACTOR = at["pnl.guard.scale_clip.factor"]
    O_PNL_GUARD_WHEN = at["pnl.guard.when"]
    O_PNL_GUARD_WIDEN_ADD_BPS = at["pnl.guard.widen.add_full_spread_bps"]
    O_PNL_HOURLY_DRIFT_WHEN = at["pnl.hourly_drift.when"]
    O_REGIME_AGGRESSIVE_WHEN = at["regime.aggressive.when"]
    O_REGIME_DEFENSIVE_WHEN = at["regime.defensive.when"]
    O_RISK_INVENTORY_BREACH_WHEN = at["risk.inventory_breach.when"]
    O_RISK_DRAWDOWN_KILL_WHEN = at["risk.drawdown_kill.when"]
    O_TREND_DOWN_UNTIL = at["trend.down.until"]
    O_TREND_DOWN_WHEN = at["trend.down.when"]
    O_TREND_DOWN_WIDEN_ADD_BPS = at["trend.down.widen.add_full_spread_bps"]
    O_TREND_EMA_DOWN_UNTIL = at["trend.ema_down.until"]
    O_TREND_EMA_DOWN_WHEN = at["trend.ema_down.when"]
    O_TREND_EMA_UP_UNTIL = at["trend.ema_up.until"]
    O_TREND_EMA_UP_WHEN = at["trend.ema_up.when"]
    O_TREND_FAST_DOWN_UNTIL = at["trend.fast_down.until"]
    O_TREND_FAST_DOWN_WHEN = at["trend.fast_down.when"]
    O_TREND_FAST_DOWN_WIDEN_ADD_BPS = at["trend.fast_down.widen.add_full_spread_bps"]
    O_TREND_UP_UNTIL = at["trend.up.until"]
    O_TREND_UP_WHEN = at["trend.up.when"]
    O_TREND_UP_WIDEN_ADD_BPS = at["trend.up.widen.add_full_spread_bps"]
    O_VOL_CLIP_CURVE_SCALE_CLIP_FACTOR = at["vol.clip_curve.scale_clip.factor"]
    O_VOL_CLIP_CURVE_WHEN = at["vol.clip_curve.when"]
    O_VOL_HIGH_CLIP_SCALE_CLIP_FACTOR = at["vol.high_clip.scale_clip.factor"]
    O_VOL_HIGH_CLIP_WHEN = at["vol.high_clip.when"]
    O_VOL_HIGH_PAUSE_UNTIL = at["vol.high_pause.until"]
    O_VOL_HIGH_PAUSE_WHEN = at["vol.high_pause.when"]
    O_VOL_LOW_PAUSE_UNTIL = at["vol.low_pause.until"]
    O_VOL_LOW_PAUSE_WHEN = at["vol.low_pause.when"]
    O_VOL_WARMUP_WHEN = at["vol.warmup.when"]

    def clamp(x: float, lo: float, hi: float) -> float:
        return lo if x < lo else hi if x > hi else x

    def rules(v: Sequence[float], ready: int, p: Sequence[float]) -> list[object]:
        inv = v[INV]
        ai = abs(inv)
        override = p[TREND_OVERRIDE_UNITS]
        r5, r45, vol, ema = v[R5], v[R45], v[VOL], v[EMA]
        out: list[object] = [M] * size
        if ready & m5 == m5:
            out[O_TREND_DOWN_WHEN] = r5 < p[TREND_DOWN_TRIGGER_BPS] and inv > -override
            out[O_TREND_DOWN_UNTIL] = r5 > p[TREND_DOWN_RESUME_BPS] or inv <= -override
        out[O_TREND_DOWN_WIDEN_ADD_BPS] = p[TREND_DOWN_EXTRA_BPS]
        if ready & m45 == m45:
            fast = p[TREND_FAST_DOWN_TRIGGER_BPS]
            out[O_TREND_FAST_DOWN_WHEN] = r45 <= fast and inv > -override
            out[O_TREND_FAST_DOWN_UNTIL] = r45 > p[TREND_FAST_DOWN_RESUME_BPS] or inv <= -override
            out[O_TREND_UP_WHEN] = r45 >= p[TREND_UP_TRIGGER_BPS] and inv < override
            out[O_TREND_UP_UNTIL] = r45 < p[TREND_FAST_RESUME_BPS] or inv >= override
        out[O_TREND_FAST_DOWN_WIDEN_ADD_BPS] = p[TREND_DOWN_EXTRA_BPS]
        out[O_TREND_UP_WIDEN_ADD_BPS] = p[TREND_EXTRA_BPS]
        if ready & mema == mema:
            band, back = p[TREND_DEADBAND_BPS], p[TREND_DEADBAND_RESUME_BPS]
            out[O_TREND_EMA_UP_WHEN] = ema >= band and inv < override
            out[O_TREND_EMA_UP_UNTIL] = ema < back or inv >= override
            out[O_TREND_EMA_DOWN_WHEN] = ema <= -band and inv > -override
            out[O_TREND_EMA_DOWN_UNTIL] = ema > -back or inv <= -override
        if ready & mv == mv:
            out[O_VOL_HIGH_PAUSE_WHEN] = vol >= p[VOL_HIGH_PAUSE_BPS]
            out[O_VOL_LOW_PAUSE_WHEN] = vol > 0 and vol <= p[VOL_LOW_PAUSE_BPS]
            out[O_VOL_LOW_PAUSE_UNTIL] = vol >= p[VOL_LOW_RESUME_BPS]
            out[O_VOL_WARMUP_WHEN] = vol < 0
            out[O_VOL_HIGH_CLIP_WHEN] = vol >= p[VOL_HIGH_CLIP_BPS]
        if ready & mvi == mvi:
            out[O_VOL_HIGH_PAUSE_UNTIL] = (
                vol <= p[VOL_HIGH_RESUME_BPS] and ai <= p[VOL_RESUME_INVENTORY_UNITS]
            )
        out[O_VOL_HIGH_CLIP_SCALE_CLIP_FACTOR] = p[VOL_HIGH_CLIP_MULTIPLIER]
        if ready & mclip == mclip:
            sigma, pct = v[SIG], v[PCT]
            start, full = p[CLIP_CURVE_START_SIGMA_BPS], p[CLIP_CURVE_FULL_SIGMA_BPS]
            pstart = p[CLIP_CURVE_START_PERCENTILE]
            out[O_VOL_CLIP_CURVE_WHEN] = sigma > start or pct > pstart
            if full != start and pstart != 100:
                out[O_VOL_CLIP_CURVE_SCALE_CLIP_FACTOR] = min(
                    clamp(1 - (sigma - start) / (full - start), 0, 1),
                    clamp(1 - (pct - pstart) / (100 - pstart), 0, 1),
                )
        if ready & mstale == mstale:
            out[O_FEED_STALE_WHEN] = v[AGE] > p[STALE_FEED_S] or v[BOOK] < 1
        out[O_INVENTORY_TIER1_WHEN] = ai > p[INVENTORY_TIER1_UNITS]
        out[O_INVENTORY_TIER1_WIDEN_ADD_BPS] = p[INVENTORY_TIER1_EXTRA_BPS]
        out[O_INVENTORY_TIER1_SCALE_CLIP_FACTOR] = p[INVENTORY_TIER1_SIZE_MULTIPLIER]
        out[O_INVENTORY_TIER2_WHEN] = ai > p[INVENTORY_TIER2_UNITS]
        out[O_INVENTORY_TIER2_WIDEN_ADD_BPS] = p[INVENTORY_TIER2_EXTRA_BPS]
        out[O_INVENTORY_TIER2_SCALE_CLIP_FACTOR] = p[INVENTORY_TIER2_SIZE_MULTIPLIER]
        out[O_INVENTORY_TIER3_WHEN] = ai > p[INVENTORY_TIER3_UNITS]
        out[O_INVENTORY_TIER3_WIDEN_ADD_BPS] = p[INVENTORY_TIER3_EXTRA_BPS]
        out[O_INVENTORY_ONE_SIDED_WHEN] = ai > p[ONE_SIDED_UNITS]
        floor = p[PNL_FLOOR_USD]
        out[O_PNL_GUARD_WHEN] = v[RL5] <= floor
        out[O_PNL_GUARD_WIDEN_ADD_BPS] = min(p[PNL_WIDEN_BPS], p[PNL_MAX_EXTRA_BPS])
        out[O_PNL_GUARD_SCALE_CLIP_FACTOR] = clamp(
            p[PNL_SIZE_MULTIPLIER], p[PNL_MIN_SIZE_MULTIPLIER], 1
        )
        out[O_PNL_GUARD_HEDGE_CLIP_MULTIPLIER] = p[PNL_HEDGE_CLIP_MULTIPLIER]
        out[O_PNL_GUARD_HEDGE_OFFSET_BPS] = p[PNL_HEDGE_OFFSET_BPS]
        out[O_PNL_GUARD_HEDGE_MAX_SLIPPAGE_BPS] = p[PNL_HEDGE_MAX_SLIPPAGE_BPS]
        out[O_PNL_HOURLY_DRIFT_WHEN] = v[RL1H] < p[PNL_HOURLY_ALERT_USD]
        out[O_PNL_DAILY_KILL_WHEN] = v[RLD] <= p[KILL_DAILY_LOSS_USD]
        if ready & b["inventory_ratio"]:
            out[O_RISK_INVENTORY_BREACH_WHEN] = abs(v[RATIO]) > p[KILL_INVENTORY_RATIO]
        out[O_RISK_DRAWDOWN_KILL_WHEN] = max(v[DD], v[DDD]) >= p[KILL_DRAWDOWN_USD]
        out[O_HEDGE_EMERGENCY_WHEN] = v[OVER] >= p[HEDGE_EMERGENCY_AFTER_S]
        if ready & mregime == mregime:
            fast = p[TREND_FAST_DOWN_TRIGGER_BPS]
            line = p[REGIME_VOL_THRESHOLD_BPS]
            out[O_REGIME_DEFENSIVE_WHEN] = v[RL5] <= floor or r45 <= fast or vol < line
            out[O_REGIME_AGGRESSIVE_WHEN] = v[RL5] > floor and r45 > fast and vol >= line
        return out

    return rules


def random_states(
    policy: CompiledPolicy, count: int, seed: int = 7
) -> list[tuple[list[float], int]]:
    rng = random.Random(seed)
    names = policy.catalog.names
    always = 0
    for name in (
        "inventory_units",
        "realized_5m_usd",
        "realized_1h_usd",
        "realized_day_usd",
        "over_trigger_s",
        "drawdown_usd",
        "drawdown_day_usd",
    ):
        always |= 1 << policy.catalog.index()[name]
    states = []
    for _ in range(count):
        values = [
            rng.choice([0.0, rng.uniform(-40, 40), rng.uniform(-1, 1), rng.uniform(0, 100)])
            for _ in names
        ]
        ready = rng.getrandbits(len(names)) | always
        if rng.random() < 0.5:
            ready = (1 << len(names)) - 1
        states.append((values, ready))
    return states


def per_call_us(
    function: Callable, states: list, params: Sequence[float], repeat: int = 5
) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        for values, ready in states:
            function(values, ready, params)
        best = min(best, time.perf_counter() - started)
    return best / len(states) * 1e6


def engine_step_us(
    policy: CompiledPolicy, ticks: list[tuple[int, ...]]
) -> tuple[float, float, float]:
    """µs per tick: decide every tick; on_book alone; decide at the decision interval."""
    best_full = best_signals = best_cadence = math.inf
    for _ in range(3):
        engine = Engine(policy)
        interval = policy.decision_interval_ns
        next_decision = 0
        started = time.perf_counter()
        for ts, exchange_ts, bid, bid_size, ask, ask_size in ticks:
            engine.on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
            if ts >= next_decision:
                engine.decide(ts)
                next_decision = ts + interval
        best_cadence = min(best_cadence, time.perf_counter() - started)
        engine = Engine(policy)
        started = time.perf_counter()
        for ts, exchange_ts, bid, bid_size, ask, ask_size in ticks:
            engine.on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
            engine.decide(ts)
        best_full = min(best_full, time.perf_counter() - started)
        engine = Engine(policy)
        started = time.perf_counter()
        for ts, exchange_ts, bid, bid_size, ask, ask_size in ticks:
            engine.on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
        best_signals = min(best_signals, time.perf_counter() - started)
    scale = 1e6 / len(ticks)
    return best_full * scale, best_signals * scale, best_cadence * scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="defensive")
    parser.add_argument("--states", type=int, default=20_000)
    args = parser.parse_args()
    paths = sample_paths()
    data_entry = infer_market_from_filename(paths[0])
    assert data_entry is not None
    policy = compile_policy(resolve_profile(args.profile, ConfigDir.find()), data_entry.spec)
    expressions, _ = compiled_expressions(resolve_profile(args.profile, ConfigDir.find()))
    fields = [expression.source.field for expression in expressions]
    params = policy.params_by_regime[policy.default_regime]
    try:
        hand = hand_written(policy, fields)
    except KeyError as missing:
        print(f"the hand-written twin does not cover {missing}", file=sys.stderr)
        return 2
    states = random_states(policy, args.states)
    for values, ready in states:
        compiled, manual = policy.program(values, ready, params), hand(values, ready, params)
        if compiled != manual:
            print(
                "MISMATCH between compiled and hand-written rules",
                compiled,
                manual,
                file=sys.stderr,
            )
            return 1
    compiled_us = per_call_us(policy.program, states, params)
    hand_us = per_call_us(hand, states, params)
    print(
        f"profile {args.profile}: {len(policy.rules)} rules, {len(fields)} expressions; "
        f"{len(states):,} random states, outputs identical"
    )
    print(f"hand-written function: {hand_us:6.2f} µs per evaluation")
    print(f"compiled ruleset:      {compiled_us:6.2f} µs per evaluation")
    print(f"ratio compiled / hand: {compiled_us / hand_us:6.2f}   (target <= 1.3)")

    events = open_events(paths, data_entry.spec)
    ticks = []
    for chunk in events.chunks():
        for row in zip(
            chunk.ts_ns.tolist(),
            chunk.exchange_ts_ns.tolist(),
            chunk.kind.tolist(),
            chunk.bid_price.tolist(),
            chunk.bid_size.tolist(),
            chunk.ask_price.tolist(),
            chunk.ask_size.tolist(),
            strict=True,
        ):
            if row[2] == 0:
                ticks.append((row[0], row[1], *row[3:]))
    full_us, signals_us, cadence_us = engine_step_us(policy, ticks)
    interval_ms = policy.decision_interval_ns / 1e6
    print(f"over {len(ticks):,} recorded book ticks (bundled sample):")
    print(f"  signals update alone:                          {signals_us:6.2f} µs per tick")
    print(
        f"  full step at the decision interval ({interval_ms:g} ms): {cadence_us:6.2f} µs/tick "
        f"(target <= 5: {'meets' if cadence_us <= 5 else 'MISSES'})"
    )
    print(
        f"  full step deciding on EVERY tick:              {full_us:6.2f} µs per tick "
        "(rules + merge + quotes + risk + hedge each time)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
