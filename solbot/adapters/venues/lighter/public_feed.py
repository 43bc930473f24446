"""Public market data only (no account, no signing): what a dry run / paper session needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from solbot.adapters.venues.lighter.budget import RequestBudget
from solbot.adapters.venues.lighter.events import FeedStatus, LighterEvent
from solbot.adapters.venues.lighter.messages import FrameParser
from solbot.adapters.venues.lighter.rest import LighterRest
from solbot.adapters.venues.lighter.ws import Subscription, WsConnection, WsSettings
from solbot.core.model import MarketSpec

log = logging.getLogger(__name__)
NO_ACCOUNT = -1


class PublicFeed:
    """Order book, trades and market stats of one market over the venue's public channels."""

    market: MarketSpec

    def __init__(
        self,
        rest_url: str,
        ws_url: str,
        market_id: int,
        *,
        ws_settings: WsSettings | None = None,
        requests_per_minute: int = 60,
    ) -> None:
        self.rest_url = rest_url
        self.ws_url = ws_url
        self.market_id = market_id
        self.ws_settings = ws_settings or WsSettings()
        self.rest = LighterRest(rest_url, RequestBudget(requests_per_minute))
        self.parser: FrameParser | None = None
        self.ws: WsConnection | None = None
        self._events: asyncio.Queue[LighterEvent | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.bad_frames = 0

    async def start(self) -> None:
        """Read the market's decimals and minimums, then subscribe."""
        self.market = await self.rest.market_spec(self.market_id)
        self.parser = FrameParser(self.market, NO_ACCOUNT)
        channels = [
            Subscription(f"order_book/{self.market_id}"),
            Subscription(f"trade/{self.market_id}"),
            Subscription(f"market_stats/{self.market_id}"),
        ]
        self.ws = WsConnection(
            self.ws_url,
            channels,
            self._on_frame,
            on_state=self._on_state,
            settings=self.ws_settings,
            rng=random.Random(self.market_id),
        )
        self._task = asyncio.create_task(self.ws.run(), name="lighter-public-ws")

    async def events(self) -> AsyncIterator[LighterEvent]:
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.rest.aclose()
        self._events.put_nowait(None)

    def health(self) -> dict[str, Any]:
        ws, parser = self.ws, self.parser
        last = ws.last_frame_ns if ws is not None else 0
        return {
            "connected": bool(ws and ws.connected),
            "book_valid": bool(parser and parser.book.valid),
            "feed_age_s": (time.time_ns() - last) / 1e9 if last else None,
            "book_age_s": (time.time_ns() - parser.last_book_ns) / 1e9
            if parser is not None and parser.last_book_ns
            else None,
            "reconnects": ws.reconnects if ws else 0,
            "resyncs": ws.resyncs if ws else 0,
            "bad_frames": self.bad_frames,
        }

    def _on_frame(self, frame: dict[str, Any], recv_ns: int) -> None:
        assert self.parser is not None and self.ws is not None
        try:
            result = self.parser.parse(frame, recv_ns)
        except (ValueError, KeyError, TypeError) as exc:
            self.bad_frames += 1
            log.error("lighter public feed: bad frame %r: %r", frame.get("type"), exc)
            return
        for event in result.events:
            self._events.put_nowait(event)
        for channel in result.resync_channels:
            self.ws.request_resync(channel)

    def _on_state(self, connected: bool, reason: str) -> None:
        if self.parser is None:
            return
        if not connected:
            self.parser.book.invalidate(f"disconnected: {reason}")
        self._events.put_nowait(
            FeedStatus(time.time_ns(), connected, self.parser.book.valid, reason)
        )
