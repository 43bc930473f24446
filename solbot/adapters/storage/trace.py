"""The decision trace: JSON lines with a header, hashed as written so replays can be compared.

A path ending in `.gz` is written gzip-compressed as a stream (bounded memory, byte-identical
for identical content: no file name or time in the gzip header). `sha256` covers the
uncompressed lines, so it does not depend on the compression.

Besides decisions, commands, updates and fills, the trace holds one `step` record per decision
step: the inputs of that decision (signal values and readiness, book, inventory, regime, rule
timers, risk backoff) as changes since the previous step, with a full snapshot every
`SNAPSHOT_EVERY` steps. `StepDecoder` rebuilds the exact `DecisionInputs` at any step.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import json.encoder as json_encoder
from collections.abc import Callable, Iterator, Sequence
from itertools import compress, count
from operator import attrgetter, ne
from pathlib import Path
from typing import IO, Any

from solbot.core.engine import DecisionInputs

SNAPSHOT_EVERY = 500  # decision steps between full snapshots of the inputs
_FLUSH_BYTES = 1 << 16
# one encoder for every line (json.dumps would build one per call with these options)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _make_encode() -> Callable[[Any], str]:
    """`_ENCODER.encode` without its per-call cost: the C encoder that `encode` builds on every
    call, built once (no circular-reference check: trace records are trees). Same text."""
    make = getattr(json_encoder, "c_make_encoder", None)  # typeshed does not declare it
    if make is None:  # pragma: no cover - CPython has the C accelerator
        return _ENCODER.encode
    # markers, default, encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan
    chunks = make(
        None, str, json_encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
    join = "".join

    def encode(record: Any) -> str:
        return join(chunks(record, 0))

    return encode


_encode = _make_encode()


class TraceWriter:
    """Appends one JSON object per line; `sha256` covers every line written (header included)."""

    def __init__(
        self, path: Path | None, header: dict[str, Any], flush_bytes: int = _FLUSH_BYTES
    ) -> None:
        """`flush_bytes`: hand lines to the file once this many are buffered (0: every line)."""
        self.path = path
        self.flush_bytes = flush_bytes
        self._hash = hashlib.sha256()
        self._raw: IO[bytes] | None = None
        self._file: IO[bytes] | gzip.GzipFile | None = None
        self._buffer: list[str] = []  # lines not yet hashed nor written
        self._buffered = 0
        self.records = 0
        self.bytes = 0  # uncompressed
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = path.open("wb")
            if path.suffix == ".gz":
                self._file = gzip.GzipFile(
                    filename="", mode="wb", fileobj=self._raw, compresslevel=6, mtime=0
                )
            else:
                self._file = self._raw
        self._write({"type": "header", **header})

    def write(self, record: dict[str, Any]) -> None:
        self.records += 1
        # as `_write`, inlined: two to three records per decision come through here
        line = _encode(record) + "\n"
        size = len(line)
        self.bytes += size
        self._buffer.append(line)
        self._buffered += size
        if self._buffered >= self.flush_bytes:
            self._drain()
            if self.flush_bytes == 0 and self._file is not None:
                self._file.flush()

    def _write(self, record: dict[str, Any]) -> None:
        # ASCII only (the encoder escapes the rest): one character is one byte
        line = _encode(record) + "\n"
        self.bytes += len(line)
        self._buffer.append(line)
        self._buffered += len(line)
        if self._buffered >= self.flush_bytes:
            self._drain()
            if self.flush_bytes == 0 and self._file is not None:
                self._file.flush()

    def _drain(self) -> None:
        """Hash the buffered lines and hand them to the file in one piece (no gzip sync flush:
        that would cost compression)."""
        if self._buffer:
            data = "".join(self._buffer).encode()
            self._hash.update(data)
            if self._file is not None:
                self._file.write(data)
            self._buffer.clear()
            self._buffered = 0

    def flush(self) -> None:
        """Everything written so far reaches the OS, so a killed process leaves a usable trace
        (for a .gz trace, a sync point the reader can decompress up to)."""
        self._drain()
        if self._file is not None:
            self._file.flush()

    @property
    def sha256(self) -> str:
        """Of every line written so far (buffered lines are hashed, not yet written)."""
        if not self._buffer:
            return self._hash.hexdigest()
        digest = self._hash.copy()
        digest.update("".join(self._buffer).encode())
        return digest.hexdigest()

    def close(self) -> None:
        self._drain()
        if self._file is not None and self._file is not self._raw:
            self._file.close()
        if self._raw is not None:
            self._raw.close()
        self._file = self._raw = None


def open_trace(path: Path) -> IO[str]:
    """A trace file for reading as text, compressed (`.gz`) or not."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_trace(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a trace, header first, one at a time (bounded memory)."""
    with open_trace(path) as handle:
        for line in handle:
            yield json.loads(line)


# ----- decision steps ----------------------------------------------------------------------------

_SCALARS = (
    ("bid", "best_bid"),
    ("ask", "best_ask"),
    ("inv", "inventory_lots"),
    ("feed_age_ns", "feed_age_ns"),
    ("regime", "regime"),
    ("regime_since", "regime_since_ns"),
    ("hedge_at", "last_hedge_attempt_ns"),
    ("ready", "ready"),
    ("block_since", "block_since_ns"),
)
_LISTS = (("latched", "latched"), ("blocked_until", "blocked_until_ns"))
_FIELD_KEYS = tuple(key for key, _ in _SCALARS + _LISTS)
# the step record's scalar and list fields of a DecisionInputs, in one call
_fields_of = attrgetter(*(field for _, field in _SCALARS + _LISTS))


class StepEncoder:
    """Turns the inputs of each decision step into a compact `step` record (changes only).

    `names` are the catalog's signal names, `rules` the rule ids, both in the policy's order.
    """

    def __init__(
        self, names: Sequence[str], rules: Sequence[str], snapshot_every: int = SNAPSHOT_EVERY
    ) -> None:
        self.names = tuple(names)
        self.rules = tuple(rules)
        self._mid = self.names.index("mid")
        self.snapshot_every = snapshot_every
        self._previous: DecisionInputs | None = None
        self._previous_fields: tuple[Any, ...] = ()
        self._steps = 0

    def encode(self, ts_ns: int, inputs: DecisionInputs) -> dict[str, Any]:
        previous = None if self._steps % self.snapshot_every == 0 else self._previous
        self._steps += 1
        self._previous = inputs
        fields = _fields_of(inputs)
        previous_fields, self._previous_fields = self._previous_fields, fields
        record: dict[str, Any] = {"t": ts_ns, "type": "step"}
        values = inputs.values
        if previous is None:
            record["full"] = True
            record["signals"] = dict(zip(self.names, values, strict=True))
            if self.rules:
                record["machines"] = {
                    rule: list(state) for rule, state in zip(self.rules, inputs.rules, strict=True)
                }
            record.update(zip(_FIELD_KEYS, fields, strict=True))
        else:
            old = previous.values
            if values != old:
                names = self.names
                # `v == v or o == o`: two NaNs are the same value (they compare unequal)
                changed = {
                    names[i]: v
                    for i in compress(count(), map(ne, values, old))
                    if (v := values[i]) == v or old[i] == old[i]
                }
                if changed:
                    record["signals"] = changed
            rules = inputs.rules
            if rules != previous.rules:
                ids = self.rules
                record["machines"] = {
                    ids[i]: list(rules[i])
                    for i in compress(count(), map(ne, rules, previous.rules))
                }
            if fields != previous_fields:
                for key, value, was in zip(_FIELD_KEYS, fields, previous_fields, strict=True):
                    if value != was:
                        record[key] = value
        if inputs.mid != values[self._mid]:
            record["mid"] = inputs.mid  # only when it differs from the `mid` signal (never seen)
        return record


class StepDecoder:
    """Applies `step` records in trace order; `inputs` is then the state at the last one."""

    def __init__(self, names: Sequence[str], rules: Sequence[str]) -> None:
        self.names = tuple(names)
        self.rules = tuple(rules)
        self._index = {name: i for i, name in enumerate(self.names)}
        self._rule_index = {rule: i for i, rule in enumerate(self.rules)}
        self._values: list[float] = []
        self._machines: list[tuple[int, int, int]] = []
        self._mid = 0.0
        self._fields: dict[str, Any] = {}
        self.ts_ns = 0

    @property
    def started(self) -> bool:
        return bool(self._fields)

    def apply(self, record: dict[str, Any]) -> None:
        signals: dict[str, float] = record.get("signals", {})
        if record.get("full"):
            unknown = sorted(set(signals) ^ set(self.names))
            if unknown:
                raise ValueError(f"trace signals differ from the profile's: {', '.join(unknown)}")
            self._values = [float(signals[name]) for name in self.names]
            machines = record.get("machines", {})
            unknown = sorted(set(machines) ^ set(self.rules))
            if unknown:
                raise ValueError(f"trace rules differ from the profile's: {', '.join(unknown)}")
            self._machines = [(0, 0, 0)] * len(self.rules)
        elif not self._fields:
            raise ValueError("a step delta before the first full snapshot")
        else:
            for name, value in signals.items():
                self._values[self._index[name]] = float(value)
        for rule, (state, since, until) in record.get("machines", {}).items():
            self._machines[self._rule_index[rule]] = (int(state), int(since), int(until))
        self._mid = float(record.get("mid", self._values[self._index["mid"]]))
        for key, field in _SCALARS + _LISTS:
            if key in record:
                self._fields[field] = record[key]
        self.ts_ns = record["t"]

    @property
    def inputs(self) -> DecisionInputs:
        fields = self._fields
        return DecisionInputs(
            values=tuple(self._values),
            ready=int(fields["ready"]),
            mid=self._mid,
            best_bid=int(fields["best_bid"]),
            best_ask=int(fields["best_ask"]),
            inventory_lots=int(fields["inventory_lots"]),
            feed_age_ns=int(fields["feed_age_ns"]),
            regime=str(fields["regime"]),
            regime_since_ns=int(fields["regime_since_ns"]),
            last_hedge_attempt_ns=int(fields["last_hedge_attempt_ns"]),
            rules=tuple(self._machines),
            latched=tuple(str(rule) for rule in fields["latched"]),
            blocked_until_ns=(
                int(fields["blocked_until_ns"][0]),
                int(fields["blocked_until_ns"][1]),
            ),
            block_since_ns=int(fields["block_since_ns"]),
        )
