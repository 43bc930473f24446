"""The decision trace: JSONL with a header, hashed as written so replays can be compared."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any


class TraceWriter:
    """Appends one JSON object per line; `sha256` covers every byte written (header included)."""

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self._hash = hashlib.sha256()
        self._file: IO[str] | None = None
        self.records = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")
        self._write({"type": "header", **header})

    def write(self, record: dict[str, Any]) -> None:
        self.records += 1
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str) + "\n"
        self._hash.update(line.encode())
        if self._file is not None:
            self._file.write(line)

    def flush(self) -> None:
        """Push what is written to the OS, so a killed process leaves a usable trace."""
        if self._file is not None:
            self._file.flush()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
