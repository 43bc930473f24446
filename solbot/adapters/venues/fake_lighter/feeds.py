"""Choose the fake venue's public feed: recorded files (rescaled onto SOL) or a seeded walk."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from solbot.adapters.data import open_events, sample_paths
from solbot.adapters.venues.fake_lighter.feed import MarketEvent, RecordedFeed, SyntheticFeed
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig


@dataclass(frozen=True)
class Feed:
    """The events and a one-line description for the start-up banner."""

    events: Iterable[MarketEvent]
    description: str


def build_feed(config: FakeVenueConfig) -> Feed:
    """--synthetic: the seeded walk; --data: those files; neither: the bundled sample capture.

    Files are read here, before the port opens, so a bad file fails start-up (exit 3) rather
    than the running venue. They are read in the fake market's units: captures with at most
    three price and size decimals lose nothing, and RecordedFeed only uses price ratios.
    """
    market = config.market
    start_ticks = market.price_to_ticks(config.start_price)
    start_text = f"{config.start_price:.{market.price_decimals}f}"
    if config.synthetic:
        spread = config.min_spread_ticks
        walk = SyntheticFeed(start_ticks, seed=config.seed, min_spread_ticks=spread)
        return Feed(walk, f"synthetic random walk from {start_text} (seed {config.seed})")
    paths = list(config.data_paths) or sample_paths()
    source = open_events(paths, market)
    recorded = RecordedFeed(
        source.chunks, start_ticks, min_spread_ticks=config.min_spread_ticks, loop=config.loop
    )
    names = ", ".join(path.name for path in paths)
    looping = ", looping" if config.loop else ""
    return Feed(
        recorded,
        f"recorded ({names}{looping}); prices rescaled to start at {start_text}, "
        f"relative moves kept",
    )
