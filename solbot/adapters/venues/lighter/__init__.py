"""Live Lighter venue adapter: market data, account state, REST, nonces, signing, tx budget."""

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
