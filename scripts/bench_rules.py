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
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import infer_market_from_filename
from solbot.core.engine import CompiledPolicy, Engine
from solbot.core.expressions import MISSING


def hand_written(
    policy: CompiledPolicy,
) -> Callable[[Sequence[float], int, Sequence[float]], list[object]]:
    """The shipped rules written by hand, as an engineer would without a rule engine."""
    s = policy.catalog.index()
    q = {name: i for i, name in enumerate(policy.param_names)}
    R5, R45, INV, VOL = s["ret_5m_bps"], s["ret_45s_bps"], s["inventory_units"], s["vol_ema_bps"]
    SIG, PCT, AGE, BOOK = s["sigma_1m_bps"], s["vol_percentile"], s["feed_age_s"], s["book_valid"]
    RL5, RL1H, RLD = s["realized_5m_usd"], s["realized_1h_usd"], s["realized_day_usd"]
    GB, EXP = s["guard_block_s"], s["exposure_s"]
    b = {name: 1 << i for name, i in s.items()}
    m5, m45, mv = (
        b["ret_5m_bps"] | b["inventory_units"],
        b["ret_45s_bps"] | b["inventory_units"],
        b["vol_ema_bps"],
    )
    mvi = mv | b["inventory_units"]
    mclip = b["sigma_1m_bps"] | b["vol_percentile"]
    mstale = b["feed_age_s"] | b["book_valid"]
    mregime = b["realized_5m_usd"] | b["ret_45s_bps"] | b["vol_ema_bps"]
    P = q
    M = MISSING

    def clamp(x: float, lo: float, hi: float) -> float:
        return lo if x < lo else hi if x > hi else x

    def rules(v: Sequence[float], ready: int, p: Sequence[float]) -> list[object]:
        inv = v[INV]
        ai = abs(inv)
        override = p[P["trend_override_units"]]
        r5 = v[R5]
        r45 = v[R45]
        vol = v[VOL]
        out: list[object] = [M] * 39
        if ready & m5 == m5:
            out[0] = r5 < p[P["trend_down_trigger_bps"]] and inv > -override
            out[1] = r5 > p[P["trend_down_resume_bps"]] or inv <= -override
        out[2] = p[P["trend_down_extra_bps"]]
        if ready & m45 == m45:
            out[3] = r45 <= p[P["trend_fast_down_trigger_bps"]] and inv > -override
            out[4] = r45 > -p[P["trend_fast_resume_bps"]] or inv <= -override
            out[6] = r45 >= p[P["trend_up_trigger_bps"]] and inv < override
            out[7] = r45 < p[P["trend_fast_resume_bps"]] or inv >= override
        out[5] = p[P["trend_down_extra_bps"]]
        out[8] = p[P["trend_extra_bps"]]
        if ready & mv == mv:
            out[9] = vol >= p[P["vol_high_pause_bps"]]
            out[11] = vol > 0 and vol <= p[P["vol_low_pause_bps"]]
            out[12] = vol >= p[P["vol_low_resume_bps"]]
            out[13] = vol < 0
            out[14] = vol >= p[P["vol_high_clip_bps"]]
        if ready & mvi == mvi:
            out[10] = (
                vol <= p[P["vol_high_resume_bps"]] and ai <= p[P["vol_resume_inventory_units"]]
            )
        out[15] = p[P["vol_high_clip_multiplier"]]
        if ready & mclip == mclip:
            sigma, pct = v[SIG], v[PCT]
            start, full = p[P["clip_curve_start_sigma_bps"]], p[P["clip_curve_full_sigma_bps"]]
            pstart = p[P["clip_curve_start_percentile"]]
            out[16] = sigma > start or pct > pstart
            try:
                out[17] = min(
                    clamp(1 - (sigma - start) / (full - start), 0, 1),
                    clamp(1 - (pct - pstart) / (100 - pstart), 0, 1),
                )
            except ZeroDivisionError:
                out[17] = M
        if ready & mstale == mstale:
            out[18] = v[AGE] > p[P["stale_feed_s"]] or v[BOOK] < 1
        out[19] = ai > p[P["inventory_tier1_units"]]
        out[20] = p[P["inventory_tier1_extra_bps"]]
        out[21] = p[P["inventory_tier1_size_multiplier"]]
        out[22] = ai > p[P["inventory_tier2_units"]]
        out[23] = p[P["inventory_tier2_extra_bps"]]
        out[24] = p[P["inventory_tier2_size_multiplier"]]
        out[25] = ai > p[P["inventory_tier3_units"]]
        out[26] = p[P["inventory_tier3_extra_bps"]]
        out[27] = ai > p[P["one_sided_units"]]
        floor = p[P["pnl_floor_usd"]]
        out[28] = v[RL5] <= floor
        out[29] = min(p[P["pnl_widen_bps"]], p[P["pnl_max_extra_bps"]])
        out[30] = clamp(p[P["pnl_size_multiplier"]], p[P["pnl_min_size_multiplier"]], 1)
        out[31] = p[P["pnl_hedge_clip_multiplier"]]
        out[32] = p[P["pnl_hedge_offset_bps"]]
        out[33] = p[P["pnl_hedge_max_slippage_bps"]]
        out[34] = v[RL1H] < p[P["pnl_hourly_alert_usd"]]
        out[35] = v[RLD] <= p[P["kill_daily_loss_usd"]]
        out[36] = ai > p[P["kill_inventory_units"]]
        out[37] = v[GB] >= p[P["hedge_emergency_after_s"]] and v[EXP] > 0
        if ready & mregime == mregime:
            out[38] = (
                v[RL5] <= floor
                or r45 <= p[P["trend_fast_down_trigger_bps"]]
                or vol < p[P["regime_vol_threshold_bps"]]
            )
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
        "guard_block_s",
        "exposure_s",
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
    if len(policy.rules) != 19:
        print(
            f"profile {args.profile} has {len(policy.rules)} rules; the hand-written twin covers "
            "the 19 shipped ones",
            file=sys.stderr,
        )
        return 2
    params = policy.params_by_regime[policy.default_regime]
    hand = hand_written(policy)
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
        f"profile {args.profile}: {len(policy.rules)} rules, 39 expressions; "
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
