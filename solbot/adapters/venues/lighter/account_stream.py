"""The account stream's state: our fills, orders and position arrive only on it.

A refused subscription (no or a bad auth token), a subscription the venue never answers and a
dropped connection all leave the bot blind to its own fills, so each makes quoting unsafe. The
time the stream was last known good is kept until fills have been read back from REST.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AccountState(StrEnum):
    PENDING = "pending"  # subscribed, no snapshot yet
    LIVE = "live"  # the snapshot arrived on this connection
    REFUSED = "refused"  # the venue answered the subscribe with an error
    SILENT = "silent"  # no answer within the stale limit
    DOWN = "down"  # the connection is gone


@dataclass
class AccountStream:
    """Transitions of one account subscription; each method returns True when the state changed."""

    known_good_ns: int  # when the stream was last known to carry everything (start: the cutoff)
    state: AccountState = AccountState.DOWN
    since_ns: int = 0  # when the current state began
    reason: str = ""
    gap_since_ns: int | None = None  # fills after this may be missing: read them back via REST

    @property
    def live(self) -> bool:
        return self.state is AccountState.LIVE

    def _move(self, state: AccountState, now_ns: int, reason: str) -> bool:
        was_live, previous = self.live, self.state
        if was_live and state is not AccountState.LIVE:
            self.known_good_ns = now_ns
        bad = state not in (AccountState.LIVE, AccountState.PENDING)
        if bad and self.gap_since_ns is None and (was_live or state is not AccountState.DOWN):
            self.gap_since_ns = self.known_good_ns
        self.state, self.since_ns, self.reason = state, now_ns, reason
        return previous is not state

    def subscribed(self, now_ns: int) -> bool:
        """The subscribe went out on a fresh connection."""
        return self._move(AccountState.PENDING, now_ns, "subscribed, waiting for the snapshot")

    def confirmed(self, now_ns: int) -> bool:
        """A frame of the account channel arrived (its snapshot, or an update)."""
        if self.live:
            return False
        return self._move(AccountState.LIVE, now_ns, "")

    def refused(self, now_ns: int, reason: str) -> bool:
        return self._move(AccountState.REFUSED, now_ns, reason)

    def disconnected(self, now_ns: int, reason: str) -> bool:
        return self._move(AccountState.DOWN, now_ns, reason)

    def check_silence(self, now_ns: int, stale_ns: int) -> bool:
        """A pending subscribe unanswered for longer than `stale_ns` is a silent stream."""
        if self.state is AccountState.PENDING and now_ns - self.since_ns > stale_ns:
            return self._move(
                AccountState.SILENT, now_ns, f"no answer to the subscribe in {stale_ns / 1e9:g} s"
            )
        return False

    def reconciled(self, since_ns: int) -> None:
        """Fills after `since_ns` were read back; the gap is closed once the stream is live."""
        if self.live and self.gap_since_ns == since_ns:
            self.gap_since_ns = None
