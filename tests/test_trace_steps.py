"""The trace file and its step records: compressed stream, hash of the content, exact decoding."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pytest

from solbot.adapters.storage.trace import StepDecoder, StepEncoder, TraceWriter, read_trace
from solbot.core.engine import DecisionInputs

NAMES = ("mid", "vol_ema_bps", "ret_5m_bps", "feed_age_s")
RULES = ("trend.down", "vol.warmup")


def random_inputs(rng: random.Random, previous: DecisionInputs | None) -> DecisionInputs:
    """Inputs where each field sometimes changes, as between two decision steps."""

    def maybe(old: object, new: object) -> object:
        return new if previous is None or rng.random() < 0.3 else old

    values = tuple(
        float(maybe(previous.values[i] if previous else 0.0, rng.uniform(-1e3, 1e3)))  # type: ignore[arg-type]
        for i in range(len(NAMES))
    )
    rules = tuple(
        maybe(previous.rules[i] if previous else None, (rng.randrange(4), rng.randrange(10**18), 0))
        for i in range(len(RULES))
    )
    return DecisionInputs(
        values=values,
        ready=int(maybe(previous.ready if previous else 0, rng.randrange(16))),  # type: ignore[call-overload]
        mid=values[0],
        best_bid=rng.randrange(100_000, 200_000),
        best_ask=rng.randrange(200_000, 300_000),
        inventory_lots=rng.randrange(-500, 500),
        feed_age_ns=rng.randrange(10**9),
        regime=str(
            maybe(previous.regime if previous else "", rng.choice(["defensive", "aggressive"]))
        ),
        regime_since_ns=rng.randrange(10**18),
        last_hedge_attempt_ns=0,
        rules=rules,  # type: ignore[arg-type]
        latched=tuple(maybe(previous.latched if previous else (), rng.choice([(), ("x",)]))),  # type: ignore[arg-type]
        blocked_until_ns=(rng.randrange(10), 0),
        block_since_ns=0,
    )


@pytest.mark.parametrize("seed", range(5))
def test_steps_decode_to_the_exact_inputs_across_full_snapshots(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    encoder = StepEncoder(NAMES, RULES, snapshot_every=4)
    path = tmp_path / "trace.jsonl.gz"
    writer = TraceWriter(path, {"profile": "p"})
    written: list[DecisionInputs] = []
    previous = None
    for step in range(30):
        previous = random_inputs(rng, previous)
        written.append(previous)
        writer.write(encoder.encode(step, previous))
    writer.close()
    decoder = StepDecoder(NAMES, RULES)
    steps = [record for record in read_trace(path) if record["type"] == "step"]
    assert sum(1 for record in steps if record.get("full")) == 8  # steps 0, 4, ..., 28
    for record, expected in zip(steps, written, strict=True):
        decoder.apply(record)
        assert decoder.inputs == expected


def test_a_delta_before_any_snapshot_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the first full snapshot"):
        StepDecoder(NAMES, RULES).apply({"t": 1, "type": "step", "signals": {"mid": 1.0}})


def test_compressed_trace_is_deterministic_and_hashes_its_content(tmp_path: Path) -> None:
    files = []
    for name in ("a", "b"):
        path = tmp_path / name / "trace.jsonl.gz"
        writer = TraceWriter(path, {"profile": "p"})
        for i in range(5_000):
            writer.write({"t": i, "type": "fill", "price": i / 7})
        writer.close()
        files.append((path, writer.sha256))
    (first, sha), (second, _) = files
    assert first.read_bytes() == second.read_bytes()  # no file name or time in the gzip header
    content = gzip.decompress(first.read_bytes())
    assert hashlib.sha256(content).hexdigest() == sha
    assert len(first.read_bytes()) < len(content) / 3
