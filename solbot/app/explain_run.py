"""`solbot explain --run DIR --at TIME`: redo the decision in force at a moment of a run.

The trace holds the inputs of every decision step (see adapters/storage/trace.py). We rebuild
them at the last step at or before TIME, restore them into a fresh engine of the same profile and
run the engine's own `evaluate`: the decision, active rules and quotes are the ones the run had.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solbot.adapters.storage.trace import StepDecoder, open_trace
from solbot.app.explain import outcome_report, render
from solbot.app.session import step_names
from solbot.config.compile import compile_policy, compiled_expressions
from solbot.config.loader import ConfigDir, ResolvedProfile, resolve_profile
from solbot.core.engine import CompiledPolicy, DecisionInputs, Engine
from solbot.core.expressions import MISSING, evaluate_reference, explain_expression
from solbot.core.model import MarketSpec
from solbot.core.rules import RuleState
from solbot.core.times import parse_time_ns
from solbot.errors import ConfigError, DataError, Problem

TRACE_NAMES = ("trace.jsonl.gz", "trace.jsonl")
NS = 1_000_000_000


@dataclass(frozen=True)
class TracePoint:
    """What the trace says about one moment: the header, the step in force, its decision."""

    header: dict[str, Any]
    step_ns: int
    inputs: DecisionInputs
    recorded: dict[str, Any] | None  # the last decision record at or before the step
    profile_sha256: str  # in force at the step (a live reload can change them)
    ruleset_sha256: str


def find_trace(run: Path) -> Path:
    """A run folder's trace (or the trace file itself, e.g. from `solbot run --trace FILE`)."""
    if run.is_file():
        return run
    for name in TRACE_NAMES:
        if (run / name).is_file():
            return run / name
    raise DataError(
        Problem(str(run), 1, 1, "", f"no trace here (looked for {' or '.join(TRACE_NAMES)})")
    )


def read_point(
    path: Path, at_ns: int, names: tuple[str, ...], rules: tuple[str, ...]
) -> TracePoint:
    """Stream the trace up to `at_ns`; the inputs of the last decision step at or before it.

    Only the step records since the last full snapshot before `at_ns` are parsed as JSON (at
    most SNAPSHOT_EVERY of them); every other line is only scanned for its type and time.
    """
    steps: list[tuple[int, str]] = []  # (line number, text) since the last full snapshot
    decision: tuple[int, str] | None = None
    number = 1
    header: dict[str, Any] = {}
    in_force = ("", "")
    try:
        with open_trace(path) as handle:
            header = _parse(path, 1, handle.readline())
            if header.get("type") != "header":
                raise DataError(
                    Problem(str(path), 1, 1, "type", "the first line is not a trace header")
                )
            hashes = (str(header.get("profile_sha256")), str(header.get("ruleset_sha256")))
            in_force = hashes
            for number, text in enumerate(handle, start=2):
                if not text.endswith("\n"):
                    break  # a line still being written (a live run's trace)
                if _STEP in text:
                    if _time(path, number, text) > at_ns:
                        break
                    if _FULL in text:
                        steps.clear()
                    steps.append((number, text))
                    in_force = hashes
                elif _DECISION in text:
                    if _time(path, number, text) <= at_ns:
                        decision = (number, text)
                elif _RELOAD in text:
                    record = _parse(path, number, text)
                    hashes = (str(record["profile_sha256"]), str(record["ruleset_sha256"]))
    except EOFError:
        pass  # a compressed trace still being written: what is readable so far
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(path), number, 1, "", f"unreadable trace: {error}")) from None
    if not header:
        raise DataError(Problem(str(path), 1, 1, "", "not a solbot trace (no header)"))
    if not steps:
        raise DataError(
            Problem(str(path), number, 1, "", "no decision step at or before that time in this run")
        )
    first = _parse(path, steps[0][0], steps[0][1])
    decoder = StepDecoder(names, rules)
    for line, text in steps:
        try:
            decoder.apply(first if line == steps[0][0] else _parse(path, line, text))
        except (KeyError, ValueError) as error:
            raise DataError(Problem(str(path), line, 1, "step", str(error))) from None
    recorded = None if decision is None else _parse(path, *decision)
    return TracePoint(header, decoder.ts_ns, decoder.inputs, recorded, *in_force)


_STEP = '"type":"step"'
_FULL = '"full":true'
_DECISION = '"type":"decision"'
_RELOAD = '"type":"reload"'
_T = re.compile(r'"t":(-?\d+)')


def _parse(path: Path, line: int, text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except ValueError as error:
        raise DataError(Problem(str(path), line, 1, "", f"not a trace record: {error}")) from None
    if not isinstance(record, dict):
        raise DataError(Problem(str(path), line, 1, "", "not a trace record"))
    return record


def _time(path: Path, line: int, text: str) -> int:
    found = _T.search(text)
    if found is None:
        raise DataError(Problem(str(path), line, 1, "t", "a record without a time"))
    return int(found.group(1))


def explain_at(
    run: Path,
    at: str,
    config_dir: Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """The decision in force at `at` in the run, redone by the engine, with the rules' reasons."""
    at_ns = parse_time_ns(at, "--at")
    path = find_trace(run)
    header = _header(path)
    resolved = resolve_profile(str(header["profile"]), ConfigDir.find(config_dir))
    market = _market(path, header)
    policy = compile_policy(resolved, market)
    point = read_point(path, at_ns, *step_names(policy))
    _check_hashes(path, point, resolved, force)
    engine = Engine(policy)
    try:
        engine.restore(point.inputs)
    except ValueError as error:
        raise DataError(Problem(str(path), 1, 1, "step", str(error))) from None
    rules_before = _rule_states(policy, point.inputs)
    plan = engine.evaluate(point.step_ns, point.inputs.feed_age_ns)
    report: dict[str, Any] = {
        "profile": resolved.name,
        "run": str(path),
        "at_ns": at_ns,
        "step_ns": point.step_ns,
        "regime": point.inputs.regime,
        "note": "the last decision step at or before --at, redone by the engine with its "
        "recorded inputs (rule timers included)",
        "inventory": market.lots_to_size(point.inputs.inventory_lots),
        "book": {
            "bid": market.ticks_to_price(point.inputs.best_bid),
            "ask": market.ticks_to_price(point.inputs.best_ask),
        },
        "rules": _rules(resolved, policy, point.inputs, rules_before, plan.decision.active_rules),
        **outcome_report(
            market, plan.decision, plan.quotes, plan.risk, plan.hedge, point.inputs.mid
        ),
        "recorded": point.recorded,
    }
    return report


def _header(path: Path) -> dict[str, Any]:
    try:
        with open_trace(path) as handle:
            record = _parse(path, 1, handle.readline())
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(Problem(str(path), 1, 1, "", f"unreadable trace: {error}")) from None
    if record.get("type") != "header" or "profile" not in record:
        raise DataError(Problem(str(path), 1, 1, "", "not a solbot trace (no header)"))
    return record


def _market(path: Path, header: dict[str, Any]) -> MarketSpec:
    spec = header.get("market_spec")
    if not isinstance(spec, dict):
        raise DataError(
            Problem(
                str(path),
                1,
                1,
                "market_spec",
                "this trace has no market_spec (written by an older solbot): cannot explain it",
            )
        )
    try:
        return MarketSpec(**spec)
    except TypeError as error:
        raise DataError(Problem(str(path), 1, 1, "market_spec", str(error))) from None


def _check_hashes(path: Path, point: TracePoint, resolved: ResolvedProfile, force: bool) -> None:
    if force:
        return
    for field, recorded, current in (
        ("profile_sha256", point.profile_sha256, resolved.profile_sha256),
        ("ruleset_sha256", point.ruleset_sha256, resolved.ruleset_sha256),
    ):
        if recorded != current:
            raise ConfigError(
                Problem(
                    str(path),
                    1,
                    1,
                    field,
                    f"profile {resolved.name!r} has changed since this run ({field} "
                    f"{current[:12]} now, {recorded[:12]} in the run): the explanation would not "
                    "be the run's; restore that profile or pass --force",
                )
            )


def _rule_states(policy: CompiledPolicy, inputs: DecisionInputs) -> dict[str, str]:
    """Rule id -> its timer state (IDLE, ARMING, ACTIVE, COOLDOWN) before the step."""
    return {
        rule.id: RuleState(state).name
        for rule, (state, _, _) in zip(policy.rules, inputs.rules, strict=True)
    }


def _rules(
    resolved: ResolvedProfile,
    policy: CompiledPolicy,
    inputs: DecisionInputs,
    states_before: dict[str, str],
    active: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Each rule: its timer state before the step, whether it is active after, and why."""
    expressions, specs = compiled_expressions(resolved)
    names = policy.catalog.names
    signals = {
        name: value if inputs.ready >> i & 1 else None
        for i, (name, value) in enumerate(zip(names, inputs.values, strict=True))
    }
    params = dict(zip(policy.param_names, policy.params_by_regime[inputs.regime], strict=True))
    out = []
    for rule in specs:
        when = evaluate_reference(expressions[rule.when_slot], signals, params)
        out.append(
            {
                "id": rule.id,
                "priority": rule.priority,
                "state_before": states_before.get(rule.id, "IDLE"),
                "active": rule.id in active,
                "fires": rule.id in active,
                "when": "MISSING" if when is MISSING else when,
                "on_error": rule.on_error,
                "why": [
                    [text, "MISSING" if value is MISSING else value]
                    for text, value in explain_expression(
                        expressions[rule.when_slot], signals, params
                    )
                ],
            }
        )
    return out


def render_at(report: dict[str, Any]) -> str:
    """The text form of an `explain --run --at` report."""
    lines = [
        f"profile {report['profile']}, regime {report['regime']}: decision step at "
        f"{_iso(report['step_ns'])} (asked {_iso(report['at_ns'])})",
        f"inventory {report['inventory']:g}, "
        f"book {report['book']['bid']} / {report['book']['ask']}",
        "",
    ]
    for rule in report["rules"]:
        mark = "ACTIVE" if rule["active"] else "   -  "
        lines.append(
            f"{mark} {rule['id']} (priority {rule['priority']}, was {rule['state_before']}): "
            f"when = {rule['when']}"
        )
        if rule["active"] or rule["when"] is True:
            for text, value in rule["why"]:
                lines.append(f"         {text} -> {value}")
    body = render(report)
    lines.append(body[body.index("decision:") :].rstrip("\n"))
    recorded = report["recorded"]
    if recorded is not None:
        lines.append(
            f"trace: last recorded decision at {_iso(recorded['t'])}: {recorded['state']}, "
            f"active: {', '.join(recorded['rules']) or 'none'}"
        )
    return "\n".join(lines) + "\n"


def _iso(ts_ns: int) -> str:
    moment = datetime.fromtimestamp(ts_ns // NS, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ts_ns % NS:09d}Z"
