"""Connection and pacing settings of the live Lighter adapter (all injectable for tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from solbot.adapters.venues.lighter.backoff import BackoffPolicy
from solbot.adapters.venues.lighter.endpoints import (
    MAINNET_CHAIN_ID,
    MAINNET_REST_URL,
    MAINNET_WS_URL,
    TESTNET_CHAIN_ID,
)
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.errors import ConfigError

__all__ = [
    "AUTH_TOKEN_MAX_S",
    "DEAD_MAN_MAX_S",
    "DEAD_MAN_MIN_S",
    "MAINNET_CHAIN_ID",
    "MAINNET_REST_URL",
    "MAINNET_WS_URL",
    "TESTNET_CHAIN_ID",
    "LighterSettings",
]
DEAD_MAN_MIN_S = 5 * 60  # lighter-go: a scheduled cancel-all must be 5 min .. 15 days ahead
DEAD_MAN_MAX_S = 15 * 24 * 3600
AUTH_TOKEN_MAX_S = 8 * 3600
# How the venue learns that solbot is gone: a scheduled cancel-all refreshed while healthy (one tx
# a minute; account-wide at the venue, so it also cancels other strategies' orders of the account
# when it fires), or an expiry of `dead_man_delay_s` on every resting order (ours only; an
# expired order is placed again, about one tx per resting order per `dead_man_delay_s`).
DEAD_MAN_SWITCHES = ("schedule", "order_expiry")


@dataclass(frozen=True, slots=True)
class LighterSettings:
    """Where and how to talk to Lighter; defaults suit a Standard account on SOL-PERP."""

    account_index: int
    api_key_index: int
    rest_url: str = MAINNET_REST_URL
    ws_url: str = MAINNET_WS_URL
    chain_id: int = MAINNET_CHAIN_ID
    market_id: int = 2
    # The venue's limit (Standard 60 a minute; Premium's sendTx bucket 4000), less a safety
    # margin kept unused (jitter, the venue counting arrivals); `shutdown_reserve` requests of
    # what is left are kept for the shutdown cancel-all and the dead-man abort.
    requests_per_minute: int = 60
    rate_limit_margin: float = 0.10
    shutdown_reserve: int = 2
    quote_reserve: int = 10
    query_reserve: int = 4
    rate_limit_cooldown_s: float = 60.0
    # every retry path: exponential with jitter, capped, then give up
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    retry_max_attempts: int = 6
    quote_max_age_s: float = 2.0
    batch_max: int = 50
    http_timeout_s: float = 10.0
    auth_token_lifetime_s: int = 3600
    dead_man_refresh_s: float = 60.0
    dead_man_delay_s: float = 360.0
    dead_man_switch: str = "schedule"
    subscribe_trades: bool = True
    subscribe_market_stats: bool = True
    subscribe_ticker: bool = False
    subscribe_account_orders: bool = True
    account_stale_s: float = 5.0  # an unanswered account subscribe is a silent stream after this
    fill_reconcile_s: float = 5.0  # REST read-back of our trades while the account stream has a gap
    ws: WsSettings = field(default_factory=WsSettings)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.api_key_index <= 254:
            problems.append(f"api_key_index {self.api_key_index} outside 0..254")
        if not 1 <= self.batch_max <= 50:
            problems.append(f"batch_max {self.batch_max} outside 1..50")
        if not DEAD_MAN_MIN_S <= self.dead_man_delay_s <= DEAD_MAN_MAX_S:
            problems.append(f"dead_man_delay_s {self.dead_man_delay_s} outside 300..1296000")
        if self.dead_man_switch not in DEAD_MAN_SWITCHES:
            problems.append(
                f"dead_man_switch {self.dead_man_switch!r}: expected one of {DEAD_MAN_SWITCHES}"
            )
        if not 0 < self.dead_man_refresh_s < self.dead_man_delay_s:
            problems.append("dead_man_refresh_s must be positive and below dead_man_delay_s")
        if not 0 <= self.rate_limit_margin < 0.5:
            problems.append(f"rate_limit_margin {self.rate_limit_margin} outside 0..0.5")
        if not 0 < self.retry_initial_s <= self.retry_max_s or self.retry_max_attempts < 1:
            problems.append("retry: need 0 < retry_initial_s <= retry_max_s, attempts >= 1")
        if not 60 <= self.auth_token_lifetime_s <= AUTH_TOKEN_MAX_S:
            problems.append(f"auth_token_lifetime_s {self.auth_token_lifetime_s} outside 60..28800")
        if not (self.account_stale_s > 0 and self.fill_reconcile_s > 0):
            problems.append("account_stale_s and fill_reconcile_s must be positive")
        if problems:
            raise ConfigError("lighter settings: " + "; ".join(problems))

    @property
    def retry(self) -> BackoffPolicy:
        """The backoff every retry path of the adapter uses."""
        return BackoffPolicy(self.retry_initial_s, self.retry_max_s, self.retry_max_attempts)
