"""TraceWriter writes, hashes and counts exactly what the one-line-at-a-time writer did.

The writer now encodes with a C encoder built once and hashes its buffer in one piece when it
hands it to the file; `reference_lines` below is the previous writer's encoding, kept here so
the bytes (decompressed and compressed), `sha256` and `bytes` are pinned against it.
"""

from __future__ import annotations

import enum
import gzip
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from solbot.adapters.storage.trace import TraceWriter

_REFERENCE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


class _Level(enum.IntEnum):
    IDLE = 0
    ACTIVE = 2


class _Opaque:
    def __str__(self) -> str:
        return "opaque é"


def reference_lines(header: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    """The previous writer: `_ENCODER.encode(record) + "\\n"`, UTF-8, one line per record."""
    lines = [{"type": "header", **header}, *records]
    return b"".join((_REFERENCE.encode(record) + "\n").encode() for record in lines)


SAMPLE: list[dict[str, Any]] = [
    {"t": 1, "type": "step", "full": True, "signals": {"mid": 146.59, "b": -0.0, "a": 1e-300}},
    {"t": 2, "type": "step", "signals": {"x": math.nan, "y": math.inf, "z": -math.inf}},
    {"t": 3, "type": "step", "machines": {"r.b": [_Level.ACTIVE, 5, 0], "r.a": [_Level.IDLE]}},
    {"t": 4, "type": "decision", "reasons": ["vol: pause «both»", "ünïcode"], "quotes": None},
    {"t": 5, "type": "command", "op": "place", "post_only": False, "other": _Opaque()},
    {"t": 6, "type": "fill", "nested": {"z": {"b": 1, "a": [1.5, "x,y", None]}}},
]


def written(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def test_lines_bytes_and_hash_equal_the_reference_encoding(tmp_path: Path) -> None:
    expected = reference_lines({"profile": "p"}, SAMPLE)
    for name in ("trace.jsonl", "trace.jsonl.gz"):
        for flush_bytes in (0, 1, 100, 1 << 16):
            path = tmp_path / f"{flush_bytes}-{name}"
            writer = TraceWriter(path, {"profile": "p"}, flush_bytes=flush_bytes)
            for record in SAMPLE:
                writer.write(record)
            digest, size = writer.sha256, writer.bytes
            writer.close()
            assert written(path) == expected
            assert digest == hashlib.sha256(expected).hexdigest()
            assert size == len(expected)
            assert writer.records == len(SAMPLE)


def test_hash_covers_lines_still_in_the_buffer(tmp_path: Path) -> None:
    """`sha256` read mid-run (the summary reads it before close) covers every line so far."""
    writer = TraceWriter(tmp_path / "trace.jsonl.gz", {"profile": "p"})  # 64 KiB buffer
    seen: list[dict[str, Any]] = []
    for record in SAMPLE:
        writer.write(record)
        seen.append(record)
        assert writer.sha256 == hashlib.sha256(reference_lines({"profile": "p"}, seen)).hexdigest()
    writer.close()


def test_without_a_file_the_hash_still_covers_every_line() -> None:
    writer = TraceWriter(None, {"profile": "p"}, flush_bytes=10)
    for record in SAMPLE:
        writer.write(record)
    expected = reference_lines({"profile": "p"}, SAMPLE)
    assert writer.sha256 == hashlib.sha256(expected).hexdigest()
    assert writer.bytes == len(expected)


def test_compressed_bytes_equal_the_line_by_line_writer(tmp_path: Path) -> None:
    """Same chunks handed to gzip as before: the .gz file itself is byte-identical."""
    records = [{"t": i, "type": "step", "signals": {"mid": 100 + i / 7}} for i in range(20_000)]
    path = tmp_path / "new.jsonl.gz"
    writer = TraceWriter(path, {"profile": "p"})
    for record in records:
        writer.write(record)
    writer.close()
    reference = tmp_path / "old.jsonl.gz"
    with reference.open("wb") as raw:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
        pending: list[bytes] = []
        size = 0
        for record in [{"type": "header", "profile": "p"}, *records]:
            line = (_REFERENCE.encode(record) + "\n").encode()
            pending.append(line)
            size += len(line)
            if size >= 1 << 16:
                gz.write(b"".join(pending))
                pending, size = [], 0
        gz.write(b"".join(pending))
        gz.close()
    assert path.read_bytes() == reference.read_bytes()


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=6), _json_values, max_size=6), max_size=8))
def test_any_json_record_is_written_as_the_reference_writes_it(
    records: list[dict[str, Any]],
) -> None:
    writer = TraceWriter(None, {"profile": "p"}, flush_bytes=50)
    for record in records:
        writer.write(record)
    expected = reference_lines({"profile": "p"}, records)
    assert writer.sha256 == hashlib.sha256(expected).hexdigest()
    assert writer.bytes == len(expected)
