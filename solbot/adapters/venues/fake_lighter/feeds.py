"""Choose the fake venue's public feed: recorded files (rescaled onto SOL) or a seeded walk."""

from __future__ import annotations

from collections.abc import Iterable

from solbot.adapters.data import open_events
from solbot.adapters.venues.fake_lighter.feed import MarketEvent, RecordedFeed, SyntheticFeed
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig


def build_feed(config: FakeVenueConfig) -> Iterable[MarketEvent]:
    """Recorded data when files were given (and not --synthetic), else the seeded walk.

    Files are read here, before the port opens, so a bad file fails start-up (exit 3) rather
    than the running venue. They are read in the fake market's units: captures with at most
    three price and size decimals lose nothing, and RecordedFeed only uses price ratios.
    """
    start_ticks = config.market.price_to_ticks(config.start_price)
    if not config.uses_recorded_data:
        spread = config.min_spread_ticks
        return SyntheticFeed(start_ticks, seed=config.seed, min_spread_ticks=spread)
    source = open_events(list(config.data_paths), config.market)
    return RecordedFeed(
        source.chunks, start_ticks, min_spread_ticks=config.min_spread_ticks, loop=config.loop
    )
