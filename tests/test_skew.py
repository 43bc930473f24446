"""Issue 13 round 3: an inventory-skew reference of its own, and `skew` actions that add up.

`quoting.skew_full_at_units` is the |inventory| at which the soft-cap skew reaches
`skew_bps_at_soft_cap` (unset: the soft cap, as before). `skew: {bps: ..., combine: add}` sums
with every other additive skew on top of the highest-priority plain skew (docs/rules.md).
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import REPO, SOL

from solbot.cli.main import main
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.core.decision import Decision, MergeCache, merge
from solbot.core.expressions_runtime import MISSING
from solbot.core.quoting import QuoteParams, inventory_skew_bps
from solbot.core.rules import ActionSpec, RuleSpec, Value

LEANS = """\
schema: 2
kind: ruleset
id: leans
revision: 1
description: Two always-on skews that add up (tests).
defaults: {on_error: ignore}
rules:
  - id: lean.trend
    description: A trend skew.
    priority: 20
    when: mid > 0
    actions:
      - skew: {bps: p.trend_skew_bps, combine: COMBINE}
  - id: lean.other
    description: A second skew.
    priority: 10
    when: mid > 0
    actions:
      - skew: {bps: p.other_skew_bps, combine: COMBINE}
"""
LEANING = """\
schema: 2
kind: profile
id: leaning
description: Fixed 12 bps, two additive skews and an inventory skew with its own reference.
market: lighter:SOL
params: {trend_skew_bps: 3, other_skew_bps: 2}
quoting:
  spread_bps: 12
  volatility_band: {enabled: false}
  skew_bps_at_soft_cap: 4
  skew_full_at_units: 0.2
rules: {include: [rules/leans.yaml]}
regimes: {default: aggressive}
"""


def config(root: Path, profile: str = LEANING, combine: str = "add") -> Path:
    """The shipped profiles and rules plus rules/leans.yaml and profiles/leaning.yaml."""
    shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "rules" / "leans.yaml").write_text(LEANS.replace("COMBINE", combine))
    (root / "profiles" / "leaning.yaml").write_text(profile)
    return root


# ----- merge ----------------------------------------------------------------------------------


def skew_rule(rule_id: str, priority: int, value: Value, additive: bool) -> RuleSpec:
    action = ActionSpec(kind="skew", values=(("bps", value),), additive=additive)
    return RuleSpec(rule_id, priority, 0, 0, 0, "trigger", 0, None, (action,))


def test_additive_skews_sum_on_top_of_the_highest_priority_skew() -> None:
    rules = [
        skew_rule("r.a", 30, Value(constant=3.0), additive=False),
        skew_rule("r.b", 20, Value(constant=7.0), additive=False),  # outranked: not counted
        skew_rule("r.c", 10, Value(constant=2.0), additive=True),
        skew_rule("r.d", 5, Value(constant=-0.5), additive=True),
    ]
    assert merge(rules, [0, 1, 2, 3], [], 0).skew_bps == 3.0 + 2.0 - 0.5
    assert merge(rules, [1, 2], [], 0).skew_bps == 7.0 + 2.0
    assert merge(rules, [2, 3], [], 0).skew_bps == 2.0 - 0.5  # no plain skew: adds alone


def test_without_combine_the_highest_priority_skew_alone_counts() -> None:
    rules = [
        skew_rule("r.a", 30, Value(constant=3.0), additive=False),
        skew_rule("r.b", 20, Value(constant=7.0), additive=False),
    ]
    assert merge(rules, [0, 1], [], 0).skew_bps == 3.0
    assert merge(rules, [1], [], 0).skew_bps == 7.0


def test_an_additive_skew_that_cannot_be_evaluated_adds_nothing() -> None:
    rules = [
        skew_rule("r.a", 30, Value(slot=0), additive=True),
        skew_rule("r.b", 20, Value(constant=2.0), additive=True),
    ]
    for missing in (MISSING, math.nan, math.inf):
        assert merge(rules, [0, 1], [missing], 0).skew_bps == 2.0


def test_additive_skews_that_sum_to_infinity_never_reach_pricing() -> None:
    rules = [
        skew_rule("r.a", 30, Value(constant=1e308), additive=True),
        skew_rule("r.b", 20, Value(constant=1e308), additive=True),
    ]
    assert merge(rules, [0, 1], [], 0).skew_bps == 0.0


def test_merge_cache_sees_a_new_value_of_an_additive_skew() -> None:
    """Same active set, only the lower-priority additive skew's value changes: a key that left
    its slot out (as when only the winning skew was read) would return the stale sum."""
    rules = [
        skew_rule("r.trend", 20, Value(slot=0), additive=True),
        skew_rule("r.inventory", 10, Value(slot=1), additive=True),
    ]
    cache = MergeCache(rules)
    assert cache.merge([0, 1], [3.0, 2.0], 0).skew_bps == 5.0
    assert cache.merge([0, 1], [3.0, -4.0], 0).skew_bps == -1.0
    assert cache.merge([0], [3.0, -4.0], 0).skew_bps == 3.0
    assert cache.merge([0, 1], [3.0, 2.0], 0).skew_bps == 5.0
    assert (cache.hits, cache.misses) == (1, 3)


def exact(decision: Decision) -> str:
    return repr((decision, decision.outcomes))


@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_merge_cache_gives_the_plain_merge_with_additive_skews(data: st.DataObject) -> None:
    rules = [
        skew_rule("r.a", 30, Value(slot=0), additive=False),
        skew_rule("r.b", 20, Value(slot=1), additive=True),
        skew_rule("r.c", 20, Value(slot=2), additive=True),
        skew_rule("r.d", 10, Value(constant=1.5), additive=True),
    ]
    values = st.sampled_from([0.0, -0.0, 1.0, -2.5, 2.5, math.nan, math.inf, MISSING, 1e308])
    cache = MergeCache(rules, limit=8)
    for _ in range(data.draw(st.integers(1, 30))):
        active = sorted(data.draw(st.sets(st.integers(0, 3), min_size=1)))
        results = data.draw(st.lists(values, min_size=3, max_size=3))
        assert exact(cache.merge(active, results, 0)) == exact(merge(rules, active, results, 0))


# ----- the inventory skew's reference -----------------------------------------------------------


def quote_params(skew_bps: float, soft_cap_lots: int, skew_full_lots: float | None) -> QuoteParams:
    return QuoteParams(
        spread_bps=12.0,
        band_enabled=False,
        band_floor_mode=True,
        band_low_bps=6.0,
        band_high_bps=22.0,
        band_min_spread_bps=7.0,
        band_max_spread_bps=13.0,
        band_min_size_multiplier=0.7,
        band_max_size_multiplier=1.1,
        size_min_lots=61,
        size_max_lots=72,
        soft_cap_lots=soft_cap_lots,
        min_size_lots=61,
        clip_usd=10.5,
        size_multiplier=1.0,
        extra_full_spread_bps=0.0,
        skew_bps_at_soft_cap=skew_bps,
        skew_full_lots=skew_full_lots,
    )


@pytest.mark.parametrize(
    ("inventory_lots", "expected_bps"),
    [(0, 0.0), (61, -8 * 61 / 200), (-61, 8 * 61 / 200), (200, -8.0), (500, -8.0), (-900, 8.0)],
)
def test_inventory_skew_grows_with_the_position_up_to_its_reference(
    inventory_lots: int, expected_bps: float
) -> None:
    """Reference 0.2 SOL (200 lots): one 0.061 SOL clip leans 30.5 % of the full 8 bps."""
    params = quote_params(8.0, soft_cap_lots=50, skew_full_lots=200.0)
    assert inventory_skew_bps(params, inventory_lots) == pytest.approx(expected_bps, abs=1e-12)


@pytest.mark.parametrize("inventory_lots", [-61, -50, -10, 0, 10, 50, 61])
def test_without_a_reference_the_skew_is_full_at_the_soft_cap_as_before(
    inventory_lots: int,
) -> None:
    params = quote_params(8.0, soft_cap_lots=50, skew_full_lots=None)
    old = -8.0 * max(-1.0, min(1.0, inventory_lots / 50))  # the formula before the key
    assert inventory_skew_bps(params, inventory_lots) == old


# ----- configuration ----------------------------------------------------------------------------


def test_the_skew_reference_compiles_per_regime(tmp_path: Path) -> None:
    profile = LEANING.replace(
        "regimes: {default: aggressive}",
        "regimes:\n  default: aggressive\n  overlays:\n    aggressive: {}\n"
        "    defensive: {quoting: {skew_full_at_units: 0.5}}",
    )
    root = config(tmp_path, profile)
    policy = compile_policy(resolve_profile("leaning", ConfigDir(root)), SOL)
    assert policy.quotes_by_regime["aggressive"].skew_full_lots == pytest.approx(200.0)
    assert policy.quotes_by_regime["defensive"].skew_full_lots == pytest.approx(500.0)
    assert [action.additive for rule in policy.rules for action in rule.actions] == [True, True]


def test_an_unset_skew_reference_stays_out_of_the_profile_hash(tmp_path: Path) -> None:
    """Profiles without the key keep the hash (and trace header) they had before it existed."""
    root = config(tmp_path)
    text = (root / "profiles" / "leaning.yaml").read_text()
    (root / "profiles" / "unset.yaml").write_text(
        text.replace("id: leaning", "id: unset").replace("  skew_full_at_units: 0.2\n", "")
    )
    (root / "profiles" / "explicit.yaml").write_text(
        text.replace("id: leaning", "id: explicit").replace("0.2\n", "null\n")
    )
    unset = resolve_profile("unset", ConfigDir(root))
    explicit = resolve_profile("explicit", ConfigDir(root))
    leaning = resolve_profile("leaning", ConfigDir(root))
    assert "skew_full_at_units" not in unset.data["quoting"]
    assert {**explicit.data, "id": "unset"} == unset.data  # `null` hashes as if left out
    assert leaning.data["quoting"]["skew_full_at_units"] == 0.2
    for shipped in ("base", "defensive", "aggressive", "naive"):
        data = resolve_profile(shipped, ConfigDir(REPO)).data
        assert "skew_full_at_units" not in data["quoting"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than 0"),
        ("-0.1", "greater than 0"),
        (".nan", "finite number"),
        ("wide", "valid number"),
    ],
)
def test_a_bad_skew_reference_is_refused_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    root = config(
        tmp_path, LEANING.replace("skew_full_at_units: 0.2", f"skew_full_at_units: {value}")
    )
    code = main(["rules", "check", "--config-dir", str(root)])
    err = capsys.readouterr().err
    assert code == 3
    line = next(
        number
        for number, text in enumerate(LEANING.splitlines(), start=1)
        if "skew_full_at_units" in text
    )
    lines = [text for text in err.splitlines() if "quoting.skew_full_at_units" in text]
    assert lines, err
    assert f"profiles/leaning.yaml:{line}:" in lines[0]
    assert message in lines[0]
    assert "Traceback" not in err


def test_an_unknown_combine_is_refused_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config(tmp_path, combine="sum")
    code = main(["rules", "check", "--config-dir", str(root)])
    err = capsys.readouterr().err
    assert code == 3
    line = next(n for n, text in enumerate(LEANS.splitlines(), start=1) if "combine" in text)
    found = [text for text in err.splitlines() if "rules/leans.yaml" in text and "combine" in text]
    assert found, err
    assert f"rules/leans.yaml:{line}:" in found[0]
    assert "'priority' or 'add'" in found[0]


def test_rules_check_accepts_both_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = config(tmp_path)
    assert main(["rules", "check", "--config-dir", str(root)]) == 0
    assert "leaning" in capsys.readouterr().out


def test_diff_profiles_shows_the_skew_reference_and_the_combine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = config(tmp_path)
    (root / "rules" / "leans_first.yaml").write_text(
        LEANS.replace("id: leans", "id: leans_first").replace(
            "combine: COMBINE", "combine: priority"
        )
    )
    (root / "profiles" / "plain.yaml").write_text(
        LEANING.replace("id: leaning", "id: plain")
        .replace("  skew_full_at_units: 0.2\n", "")
        .replace("rules/leans.yaml", "rules/leans_first.yaml")
    )
    assert main(["diff-profiles", "plain", "leaning", "--config-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "quoting.skew_full_at_units: <absent> -> 0.2" in out
    assert "'combine': 'priority'" in out and "'combine': 'add'" in out


# ----- end to end -------------------------------------------------------------------------------


def placed_quotes(trace: Path) -> list[tuple[str, int, float, int]]:
    """(side, price ticks, mid, inventory lots) of every maker quote placed or moved."""
    mid, inventory = math.nan, 0
    sides: dict[int, str] = {}  # order id -> side, for the maker quotes placed
    found: list[tuple[str, int, float, int]] = []
    with gzip.open(trace, "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("type") == "step":
                mid = record.get("signals", {}).get("mid", mid)
                inventory = record.get("inv", inventory)
            elif record.get("type") == "command":
                if record["op"] == "place" and record["tag"] == "quote":
                    sides[record["id"]] = record["side"]
                if record["op"] in ("place", "modify") and record["id"] in sides:
                    found.append((sides[record["id"]], record["price"], mid, inventory))
    return found


def simulate(root: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(
        ["simulate", "--config-dir", str(root), "--profile", "leaning", "--out", str(out), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def expected_price(side: str, mid: float, inventory: int, rule_skew_bps: float) -> int:
    """compute_quotes' price: the rules' skew plus 4 bps leaning toward flat at 0.2 SOL."""
    skew = rule_skew_bps - 4.0 * max(-1.0, min(1.0, inventory / 200))
    center = mid * (1 + skew / 1e4) * SOL.price_scale
    if side == "bid":
        return math.floor(center * (1 - 6 / 1e4) + 1e-9)
    return math.ceil(center * (1 + 6 / 1e4) - 1e-9)


@pytest.mark.parametrize(("combine", "rule_skew_bps"), [("add", 5.0), ("priority", 3.0)])
def test_simulate_quotes_around_the_summed_skew_and_the_referenced_inventory_lean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], combine: str, rule_skew_bps: float
) -> None:
    """On the bundled capture every maker quote sits where the two rule skews (3 + 2 bps when
    they add, the higher-priority 3 bps alone otherwise) and the inventory lean (4 bps at
    0.2 SOL) put it, including after fills."""
    root = config(tmp_path / "cfg", combine=combine)
    summary = simulate(root, tmp_path / "run", capsys)
    quotes = placed_quotes(Path(summary["trace"]))
    assert summary["maker_fills"] >= 1
    assert len(quotes) >= 10
    assert any(inventory != 0 for *_, inventory in quotes)  # the lean is exercised
    for side, price, mid, inventory in quotes:
        assert price == expected_price(side, mid, inventory, rule_skew_bps), (side, mid, inventory)
