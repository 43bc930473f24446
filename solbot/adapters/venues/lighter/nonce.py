"""Per-API-key nonce manager: fetch once, count locally, roll back rejected sends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

NonceFetcher = Callable[[int], Awaitable[int]]


class NonceManager:
    """One nonce sequence and one lock per API key, so txs reach the sequencer in order.

    Callers hold `lock(key)` from `reserve` through the send, then either keep the nonces
    (accepted, or engine-cancelled after acceptance) or `rollback` (rejected at the HTTP layer,
    which consumes nothing).
    """

    def __init__(self, fetch_next: NonceFetcher) -> None:
        self._fetch_next = fetch_next
        self._next: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._stale: set[int] = set()
        self.refreshes = 0

    def lock(self, api_key_index: int) -> asyncio.Lock:
        """The lock that serialises sends on one key."""
        if api_key_index not in self._locks:
            self._locks[api_key_index] = asyncio.Lock()
        return self._locks[api_key_index]

    async def reserve(self, api_key_index: int, count: int = 1) -> int:
        """Take `count` consecutive nonces; returns the first. Hold the key's lock."""
        if count < 1:
            raise ValueError("count must be at least 1")
        if api_key_index not in self._next or api_key_index in self._stale:
            await self.refresh(api_key_index)
        first = self._next[api_key_index]
        self._next[api_key_index] = first + count
        return first

    def rollback(self, api_key_index: int, first: int) -> None:
        """Give back nonces from `first` on: the send was rejected before the sequencer."""
        current = self._next.get(api_key_index)
        if current is not None and first < current:
            self._next[api_key_index] = first

    def mark_stale(self, api_key_index: int) -> None:
        """Whether the last send landed is unknown: refetch before the next use."""
        self._stale.add(api_key_index)

    async def refresh(self, api_key_index: int) -> int:
        """Hard refresh from the venue (start-up, 21104, unknown outcome)."""
        value = await self._fetch_next(api_key_index)
        self._next[api_key_index] = value
        self._stale.discard(api_key_index)
        self.refreshes += 1
        return value

    def peek(self, api_key_index: int) -> int | None:
        """The next nonce that would be used, if known."""
        return self._next.get(api_key_index)
