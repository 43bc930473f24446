"""A loopback fake of the Lighter exchange (REST + WebSocket on one port) with fault knobs."""

from solbot.adapters.venues.fake_lighter.server import FakeLighterVenue, run_fake_venue, serve
from solbot.adapters.venues.fake_lighter.settings import (
    KNOBS,
    MARKETS,
    SOL_MARKET,
    FakeVenueConfig,
    FaultError,
    FaultSettings,
    ListedStats,
    apply_fault,
    faults_from_assignments,
)

__all__ = [
    "KNOBS",
    "MARKETS",
    "SOL_MARKET",
    "FakeLighterVenue",
    "FakeVenueConfig",
    "FaultError",
    "FaultSettings",
    "ListedStats",
    "apply_fault",
    "faults_from_assignments",
    "run_fake_venue",
    "serve",
]
