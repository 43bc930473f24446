"""Live Lighter venue adapter: market data, account state, REST, nonces, signing, tx budget.

Names are imported on first use (PEP 562) so that light modules of this package (endpoints)
do not pull websockets, httpx and the SDK into `solbot --help`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from solbot.adapters.venues.lighter.book import OrderBook
    from solbot.adapters.venues.lighter.budget import CommandQueue, Priority, RequestBudget
    from solbot.adapters.venues.lighter.errors import (
        LighterError,
        MarginError,
        NonceError,
        QuantizationError,
        RateLimited,
        SignatureError,
        TransportError,
        error_for,
    )
    from solbot.adapters.venues.lighter.events import (
        FeedStatus,
        LighterEvent,
        MarkPrice,
        PositionSnapshot,
        VenueOrder,
    )
    from solbot.adapters.venues.lighter.messages import FrameParser
    from solbot.adapters.venues.lighter.nonce import NonceManager
    from solbot.adapters.venues.lighter.rest import LighterRest
    from solbot.adapters.venues.lighter.settings import LighterSettings
    from solbot.adapters.venues.lighter.signer import (
        ClientOrderIds,
        LighterSdkSigner,
        Signer,
        UnsignedTestSigner,
    )
    from solbot.adapters.venues.lighter.venue import LighterVenue
    from solbot.adapters.venues.lighter.ws import Subscription, WsConnection, WsSettings

_MODULES = {
    "ClientOrderIds": "solbot.adapters.venues.lighter.signer",
    "CommandQueue": "solbot.adapters.venues.lighter.budget",
    "FeedStatus": "solbot.adapters.venues.lighter.events",
    "FrameParser": "solbot.adapters.venues.lighter.messages",
    "LighterError": "solbot.adapters.venues.lighter.errors",
    "LighterEvent": "solbot.adapters.venues.lighter.events",
    "LighterRest": "solbot.adapters.venues.lighter.rest",
    "LighterSdkSigner": "solbot.adapters.venues.lighter.signer",
    "LighterSettings": "solbot.adapters.venues.lighter.settings",
    "LighterVenue": "solbot.adapters.venues.lighter.venue",
    "MarginError": "solbot.adapters.venues.lighter.errors",
    "MarkPrice": "solbot.adapters.venues.lighter.events",
    "NonceError": "solbot.adapters.venues.lighter.errors",
    "NonceManager": "solbot.adapters.venues.lighter.nonce",
    "OrderBook": "solbot.adapters.venues.lighter.book",
    "PositionSnapshot": "solbot.adapters.venues.lighter.events",
    "Priority": "solbot.adapters.venues.lighter.budget",
    "QuantizationError": "solbot.adapters.venues.lighter.errors",
    "RateLimited": "solbot.adapters.venues.lighter.errors",
    "RequestBudget": "solbot.adapters.venues.lighter.budget",
    "SignatureError": "solbot.adapters.venues.lighter.errors",
    "Signer": "solbot.adapters.venues.lighter.signer",
    "Subscription": "solbot.adapters.venues.lighter.ws",
    "TransportError": "solbot.adapters.venues.lighter.errors",
    "UnsignedTestSigner": "solbot.adapters.venues.lighter.signer",
    "VenueOrder": "solbot.adapters.venues.lighter.events",
    "WsConnection": "solbot.adapters.venues.lighter.ws",
    "WsSettings": "solbot.adapters.venues.lighter.ws",
    "error_for": "solbot.adapters.venues.lighter.errors",
}

__all__ = [
    "ClientOrderIds",
    "CommandQueue",
    "FeedStatus",
    "FrameParser",
    "LighterError",
    "LighterEvent",
    "LighterRest",
    "LighterSdkSigner",
    "LighterSettings",
    "LighterVenue",
    "MarginError",
    "MarkPrice",
    "NonceError",
    "NonceManager",
    "OrderBook",
    "PositionSnapshot",
    "Priority",
    "QuantizationError",
    "RateLimited",
    "RequestBudget",
    "SignatureError",
    "Signer",
    "Subscription",
    "TransportError",
    "UnsignedTestSigner",
    "VenueOrder",
    "WsConnection",
    "WsSettings",
    "error_for",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
