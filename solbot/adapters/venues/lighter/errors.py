"""Typed Lighter errors and the mapping from the venue's codes to them."""

from __future__ import annotations

from typing import Any

from solbot.errors import VenueError

NONCE_CODES = frozenset({21104})
QUANTIZATION_CODES = frozenset({21701, 21702, 21706})
RATE_LIMIT_CODES = frozenset({23000})
MARGIN_CODES = frozenset({21739})
SIGNATURE_CODES = frozenset({21120})
# The order was already gone (filled, cancelled or never existed): a cancel of it is moot.
ORDER_INACTIVE_CODES = frozenset({21600, 21709})
DUPLICATE_CLIENT_ORDER_CODES = frozenset({21728})


class LighterError(VenueError):
    """An error answered by Lighter; `http_status` is the HTTP status when there was one."""

    def __init__(self, message: str, code: int | None = None, http_status: int | None = None):
        self.http_status = http_status
        super().__init__(message, code)


class NonceError(LighterError):
    """21104: the key's nonce drifted; resync from nextNonce and retry once."""


class QuantizationError(LighterError):
    """Size or price off the grid or below the minimums; the order is dropped, never retried."""


class RateLimited(LighterError):
    """HTTP 429 or code 23000: back off for the firewall cooldown."""


class MarginError(LighterError):
    """21739: not enough margin for the order."""


class SignatureError(LighterError):
    """21120: wrong chain id or key slot; nothing signed by this key will pass."""


class TransportError(LighterError):
    """No answer (timeout, connection refused): whether a tx landed is unknown."""


def error_for(code: int | None, message: str, http_status: int | None = None) -> LighterError:
    """Map a Lighter error code (or HTTP status) to the matching typed error."""
    if code in NONCE_CODES:
        return NonceError(message, code, http_status)
    if code in QUANTIZATION_CODES:
        return QuantizationError(message, code, http_status)
    if http_status == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(message, code if code is not None else 429, http_status)
    if code in MARGIN_CODES:
        return MarginError(message, code, http_status)
    if code in SIGNATURE_CODES:
        return SignatureError(message, code, http_status)
    return LighterError(message, code, http_status)


def error_from_body(body: Any, http_status: int | None) -> LighterError | None:
    """The error an HTTP answer carries, or None when it is a success."""
    code: int | None = None
    message = ""
    if isinstance(body, dict):
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, int) else None
        message = str(body.get("message", ""))
    ok_status = http_status is None or 200 <= http_status < 300
    if ok_status and (code is None or code == 200):
        return None
    if not message:
        message = f"HTTP {http_status}" if http_status is not None else "error"
    return error_for(code, message, http_status)
