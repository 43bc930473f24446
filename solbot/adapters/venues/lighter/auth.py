"""Auth tokens for private REST reads, re-made before they expire."""

from __future__ import annotations

import time
from collections.abc import Callable

from solbot.adapters.venues.lighter.signer import Signer


class AuthTokens:
    """Caches one token and renews it once a fifth of its lifetime is left."""

    def __init__(
        self,
        signer: Signer,
        lifetime_s: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._signer = signer
        self._lifetime_s = lifetime_s
        self._monotonic = monotonic
        self._token = ""
        self._renew_at = 0.0

    def current(self) -> str:
        """A token valid for at least a fifth of its lifetime."""
        now = self._monotonic()
        if not self._token or now >= self._renew_at:
            self._token = self._signer.create_auth_token(self._lifetime_s)
            self._renew_at = now + self._lifetime_s * 0.8
        return self._token

    def fresh(self) -> str:
        """A new token (WebSocket subscribes always take a fresh one)."""
        return self._signer.create_auth_token(self._lifetime_s)
