"""The cheaper decision (issue 10, bar mode) decides exactly as the plain one.

`MergeCache` remembers merged decisions and `Engine.next_deadline_ns` uses thresholds turned into
nanosecond offsets once per policy; both must give what the uncached merge and the per-decision
deadline search (kept here as the reference) give, on random inputs and on whole bar replays.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import Driver, shipped_policy

from solbot.adapters.data import sample_candles_path
from solbot.app.simulate import SimulationRequest, run_simulation
from solbot.core.deadlines import NEVER, crossing_times
from solbot.core.decision import Decision, MergeCache, merge
from solbot.core.engine import CompiledPolicy, Engine
from solbot.core.expressions_runtime import MISSING
from solbot.core.model import MarketSpec, Side
from solbot.core.rules import RuleSpec

PROFILES = ("aggressive", "base", "defensive", "naive")
RULED = ("aggressive", "base", "defensive")  # naive has no rules: nothing to merge
PROPERTY = settings(deadline=None, max_examples=60)
# Values an expression result can take, with the ones a careless key would confuse:
# 0.0 / -0.0 / False / 0, 1.0 / True / 1, NaN, infinities and MISSING.
RESULT_VALUES = st.one_of(
    st.sampled_from(
        [0.0, -0.0, False, True, 0, 1, 1.0, math.nan, math.inf, -math.inf, MISSING, 2.5, -2.5]
    ),
    st.floats(-50, 50, allow_nan=False),
)


def slot_count(rules: Sequence[RuleSpec]) -> int:
    """How many result slots the rules read (conditions, releases and action arguments)."""
    slots = [rule.when_slot for rule in rules]
    slots += [rule.until_slot for rule in rules if rule.until_slot is not None]
    slots += [
        value.slot
        for rule in rules
        for action in rule.actions
        for _, value in action.values
        if value.slot is not None
    ]
    return max(slots) + 1


def exact(decision: Decision) -> str:
    """Every field, outcomes included (they are compare=False), with the sign of zeros."""
    return repr((decision, decision.outcomes))


@PROPERTY
@given(data=st.data(), profile=st.sampled_from(RULED))
def test_merge_cache_gives_the_plain_merge_over_random_decisions(
    data: st.DataObject, profile: str
) -> None:
    rules = shipped_policy(profile).rules
    slots = slot_count(rules)
    cache = MergeCache(rules, limit=8)  # small: the table also empties during the run
    # few distinct active sets and values, so that the cache is hit
    active_sets = data.draw(
        st.lists(st.sets(st.integers(0, len(rules) - 1), max_size=6), min_size=1, max_size=4)
    )
    for _ in range(data.draw(st.integers(1, 30))):
        active = sorted(data.draw(st.sampled_from(active_sets)))
        results = data.draw(st.lists(RESULT_VALUES, min_size=slots, max_size=slots))
        inventory = data.draw(st.sampled_from([-3, 0, 5]))
        expected = merge(rules, active, results, inventory)
        assert exact(cache.merge(active, results, inventory)) == exact(expected)


def hedge_rule_index(rules: Sequence[RuleSpec]) -> tuple[int, int]:
    """A shipped rule whose hedge action reads a result slot, and that slot."""
    for index, rule in enumerate(rules):
        for action in rule.actions:
            for _, value in action.values:
                if action.kind == "hedge" and value.slot is not None:
                    return index, value.slot
    raise AssertionError("no shipped hedge action reads an expression")


def test_merge_cache_keeps_the_sign_of_a_zero_argument() -> None:
    """0.0 == -0.0, but a hedge argument keeps its sign: they must not share a cache entry."""
    rules = shipped_policy("defensive").rules
    index, slot = hedge_rule_index(rules)
    results: list[object] = [0.0] * slot_count(rules)
    cache = MergeCache(rules)
    cache.merge([index], results, 0)
    results[slot] = -0.0
    assert exact(cache.merge([index], results, 0)) == exact(merge(rules, [index], results, 0))


def test_merge_cache_resolves_adding_by_the_inventory_sign() -> None:
    """A `pause adding` pauses the bid when long and the ask when short, cache or not."""
    rules = shipped_policy("defensive").rules
    adding = next(
        index
        for index, rule in enumerate(rules)
        if any(action.side == "adding" for action in rule.actions)
    )
    results: list[object] = [0.0] * slot_count(rules)
    cache = MergeCache(rules)
    long, short = cache.merge([adding], results, 7), cache.merge([adding], results, -7)
    assert (long.pause_bid, long.pause_ask) == (True, False)
    assert (short.pause_bid, short.pause_ask) == (False, True)
    assert cache.hits == 0 and cache.misses == 2
    assert cache.merge([adding], results, 3) is long  # same sign: one lookup
    assert cache.hits == 1


# ----- deadlines ----------------------------------------------------------------------------


def reference_deadline_ns(engine: Engine, now_ns: int) -> int:
    """`Engine.next_deadline_ns` as it was: every candidate and threshold searched per call."""
    policy, signals, risk = engine.policy, engine.signals, engine.policy.risk
    candidates = [engine.machines.next_deadline_ns(now_ns), signals.next_day_start_ns(now_ns)]
    expiry = signals.next_expiry_ns()
    if expiry:
        candidates.append(expiry)
    last_event = signals.feed_origin_ns if signals.last_event_ns else 0
    if last_event and risk.stale_feed_ns:
        candidates.append(last_event + risk.stale_feed_ns + 1)
    candidates.extend(engine.risk_state.blocked_until_ns.values())
    if engine.wanted_regime != engine.regime and engine.regime_since_ns:
        candidates.append(engine.regime_since_ns + policy.regime_min_dwell_ns)
    exposure = signals.exposure_since_ns
    if exposure:
        hedge = policy.hedge
        candidates.append(exposure + hedge.passive_timeout_ns)
        if engine.last_hedge_attempt_ns:
            candidates.append(engine.last_hedge_attempt_ns + hedge.cooldown_ns)
            candidates.append(engine.last_hedge_attempt_ns + hedge.emergency_cooldown_ns)
    best = min((c for c in candidates if now_ns < c), default=NEVER)
    origins = {
        "feed_age_s": last_event,
        "exposure_s": exposure,
        "over_trigger_s": signals.over_trigger_since_ns,
        "guard_block_s": engine.risk_state.block_since_ns,
        "regime_age_s": engine.regime_since_ns,
    }
    for signal, thresholds in policy.clock.thresholds(engine.regime):
        origin = origins.get(signal, 0)
        if origin:
            best = min(best, crossing_times(origin, thresholds, now_ns))
    if any(origins.get(signal, 0) for signal in policy.clock.grid_signals):
        best = min(best, now_ns + policy.decision_interval_ns)
    return best if best > now_ns else NEVER


STEP = st.fixed_dictionaries(
    {
        "dt": st.sampled_from([0.25, 1.0, 15.0, 61.0, 400.0]),
        "mid": st.floats(120, 160),
        "vol": st.floats(0, 40),
        "trend": st.floats(-60, 60),
        "units": st.sampled_from([0.0, 0.5, -0.5, 3.0, -3.0, 12.0]),
        "book": st.booleans(),
    }
)


@PROPERTY
@given(profile=st.sampled_from(RULED), steps=st.lists(STEP, min_size=1, max_size=25))
def test_deadline_is_the_per_decision_search_over_random_signal_sequences(
    profile: str, steps: list[dict[str, float]]
) -> None:
    driver = Driver(profile)
    seconds = 0.0
    for step in steps:
        seconds += step["dt"]
        driver.mid = step["mid"]
        driver.position(seconds, step["units"])
        driver.step(
            seconds, book=bool(step["book"]), vol_ema_bps=step["vol"], ret_45s_bps=step["trend"]
        )
        now = driver.engine.signals.last_event_ns or 1
        now = max(now, int(seconds * 1e9) + 1)
        assert driver.engine.next_deadline_ns(now) == reference_deadline_ns(driver.engine, now)


class PlainMerge:
    """An uncached stand-in for `MergeCache`: the plain merge on every decision."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self.rules = tuple(rules)

    def merge(
        self, active: Sequence[int], results: Sequence[object], inventory_lots: int
    ) -> Decision:
        return merge(self.rules, active, results, inventory_lots)


@PROPERTY
@given(profile=st.sampled_from(RULED), steps=st.lists(STEP, min_size=1, max_size=25))
def test_engine_with_caches_decides_as_the_plain_engine(
    profile: str, steps: list[dict[str, float]]
) -> None:
    cached, plain = Driver(profile), Driver(profile)
    plain.engine.merged = PlainMerge(plain.policy.rules)  # type: ignore[assignment]
    seconds = 0.0
    for step in steps:
        seconds += step["dt"]
        plans = []
        for driver in (cached, plain):
            driver.mid = step["mid"]
            driver.position(seconds, step["units"])
            plan = driver.step(
                seconds,
                book=bool(step["book"]),
                vol_ema_bps=step["vol"],
                ret_45s_bps=step["trend"],
            )
            plans.append(repr((plan, plan.decision.outcomes)))
        assert plans[0] == plans[1]


# ----- whole bar replays ---------------------------------------------------------------------


def bar_replay(tmp_path: Path, profile: str, name: str) -> tuple[list[bytes], dict[str, object]]:
    """The trace lines (after the header) and the summary of a replay of 400 sample bars."""
    candles = tmp_path / "binance_usdm_perp_SOLUSDT_1m_20250519.csv"
    if not candles.exists():
        lines = gzip.decompress(sample_candles_path().read_bytes()).splitlines(keepends=True)
        candles.write_bytes(b"".join(lines[:401]))
    out = tmp_path / name
    result = run_simulation(SimulationRequest(profile=profile, data=(candles,), out_dir=out))
    trace = gzip.decompress(result.trace_path.read_bytes()).splitlines()[1:]
    summary = json.loads((out / "summary.json").read_text())
    volatile = {"wall_s", "events_per_s", "out_dir", "db", "trace", "report", "run_id"}
    return trace, {key: value for key, value in summary.items() if key not in volatile}


@pytest.mark.parametrize("profile", PROFILES)
def test_bar_replay_is_identical_with_the_plain_merge_and_deadline_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    fast = bar_replay(tmp_path, profile, "fast")
    original_init = Engine.__init__

    def plain_init(self: Engine, policy: CompiledPolicy) -> None:
        original_init(self, policy)
        self.merged = PlainMerge(policy.rules)  # type: ignore[assignment]

    monkeypatch.setattr(Engine, "__init__", plain_init)
    monkeypatch.setattr(Engine, "next_deadline_ns", reference_deadline_ns)
    plain = bar_replay(tmp_path, profile, "plain")
    assert fast[1]["fills"] and fast[1]["decisions"]  # a replay that trades and decides
    assert fast == plain


def test_reference_and_engine_agree_on_a_side_in_backoff() -> None:
    """A guard backoff ending is a deadline for both (the deadline test's only fixed case)."""
    driver = Driver("defensive")
    driver.step(1.0)
    engine = driver.engine
    now = engine.signals.last_event_ns + 1
    engine.risk_state.blocked_until_ns[Side.BID] = now + 5
    assert engine.next_deadline_ns(now) == reference_deadline_ns(engine, now) == now + 5


@PROPERTY
@given(
    price_decimals=st.integers(0, 9),
    size_decimals=st.integers(0, 9),
    min_base=st.floats(0, 10),
    min_quote=st.floats(-1, 50),
    price=st.integers(-5, 10**9),
    usd=st.floats(-10, 1e6),
)
def test_market_minimums_are_the_scale_formulas(
    price_decimals: int,
    size_decimals: int,
    min_base: float,
    min_quote: float,
    price: int,
    usd: float,
) -> None:
    """`lots_for_usd` and `min_lots_at` (scales spelled out) as written with the properties."""
    market = MarketSpec("SOL", "test", 1, price_decimals, size_decimals, min_base, min_quote)
    scales = market.price_scale, market.size_scale

    def lots(ticks: int, amount: float) -> int:
        if amount <= 0 or ticks <= 0:
            return 0
        return math.ceil(amount * scales[0] * scales[1] / ticks - 1e-9)

    assert market.lots_for_usd(price, usd) == lots(price, usd)
    base = math.ceil(min_base * scales[1] - 1e-9)
    assert market.min_lots_at(price) == max(base, lots(price, min_quote))
