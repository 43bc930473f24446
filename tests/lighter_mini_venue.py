"""A minimal in-test Lighter (aiohttp, REST + WS on one loopback port) for adapter integration
tests. It speaks the §7 shapes but matches nothing: orders rest until cancelled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web
from lighter_support import (
    ACCOUNT,
    account_frame,
    book_snapshot,
    book_update,
    levels,
    order,
    order_book_details_row,
)

from solbot.adapters.venues.lighter.numbers import format_scaled


class MiniLighter:
    """Loopback fake; knobs are plain attributes set by the test."""

    def __init__(self) -> None:
        self.nonce = 0
        self.orders: dict[int, dict[str, Any]] = {}  # client id → wire order
        self.order_index = 281474976710656
        self.book_nonce = 1000
        self.sockets: list[web.WebSocketResponse] = []
        self.subscribes: list[dict[str, Any]] = []
        self.client_messages: list[dict[str, Any]] = []
        self.tx_log: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.connections = 0
        self.greet = True
        self.close_after_greeting = False
        self.refuse_txs: str | None = None  # a Retry-After in seconds: every tx answered 429
        self.refused = 0  # greet, then hang up (a flapping server)
        self.public_key = ""  # registered key of slot 4, as the venue returns it (no 0x)
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> MiniLighter:
        app = web.Application()
        app.router.add_get("/api/v1/orderBookDetails", self._details)
        app.router.add_get("/api/v1/nextNonce", self._next_nonce)
        app.router.add_get("/api/v1/account", self._account)
        app.router.add_get("/api/v1/accountActiveOrders", self._active)
        app.router.add_post("/api/v1/sendTx", self._send_tx)
        app.router.add_post("/api/v1/sendTxBatch", self._send_batch)
        app.router.add_get("/api/v1/apikeys", self._api_keys)
        app.router.add_get("/stream", self._stream)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in list(self.sockets):
            await socket.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- REST ------------------------------------------------------------------------------

    async def _details(self, request: web.Request) -> web.Response:
        body = {"code": 200, "order_book_details": [order_book_details_row()]}
        return web.json_response(body | {"spot_order_book_details": []})

    async def _api_keys(self, request: web.Request) -> web.Response:
        key = {"account_index": ACCOUNT, "api_key_index": 4, "nonce": self.nonce,
               "public_key": self.public_key, "transaction_time": 0}  # fmt: skip
        return web.json_response({"code": 200, "api_keys": [key]})

    async def _next_nonce(self, request: web.Request) -> web.Response:
        return web.json_response({"code": 200, "nonce": self.nonce})

    async def _account(self, request: web.Request) -> web.Response:
        account = {"index": ACCOUNT, "collateral": "100.000000", "positions": []}
        return web.json_response({"code": 200, "total": 1, "accounts": [account]})

    async def _active(self, request: web.Request) -> web.Response:
        self.auth_headers.append(request.headers.get("authorization", ""))
        if not request.headers.get("authorization"):
            return web.json_response({"code": 20001, "message": "auth required"}, status=400)
        return web.json_response({"code": 200, "orders": list(self.orders.values())})

    async def _send_tx(self, request: web.Request) -> web.Response:
        form = await request.post()
        return await self._apply([(int(str(form["tx_type"])), json.loads(str(form["tx_info"])))])

    async def _send_batch(self, request: web.Request) -> web.Response:
        form = await request.post()
        types = json.loads(str(form["tx_types"]))
        infos = [json.loads(i) for i in json.loads(str(form["tx_infos"]))]
        return await self._apply(list(zip(types, infos, strict=True)))

    async def _apply(self, txs: list[tuple[int, dict[str, Any]]]) -> web.Response:
        if self.refuse_txs is not None:
            self.refused += 1
            body = {"code": 23000, "message": "Too Many Requests!"}
            return web.json_response(body, status=429, headers={"Retry-After": self.refuse_txs})
        for offset, (_, info) in enumerate(txs):
            if info["Nonce"] != self.nonce + offset:
                body = {"code": 21104, "message": "invalid nonce"}
                return web.json_response(body, status=400)
        self.nonce += len(txs)
        changed: list[dict[str, Any]] = []
        for tx_type, info in txs:
            self.tx_log.append(info | {"tx_type": tx_type})
            changed.extend(self._execute(tx_type, info))
        if changed:
            await self.broadcast(account_frame(orders=changed))
        return web.json_response({"code": 200, "tx_hash": "ab" * 40})

    def _execute(self, tx_type: int, info: dict[str, Any]) -> list[dict[str, Any]]:
        if tx_type == 14:
            self.order_index += 1
            wire = order(
                info["ClientOrderIndex"],
                "open",
                order_index=self.order_index,
                is_ask=bool(info["IsAsk"]),
                price=format_scaled(info["Price"], 3),
                initial=format_scaled(info["BaseAmount"], 3),
                remaining=format_scaled(info["BaseAmount"], 3),
            )
            self.orders[info["ClientOrderIndex"]] = wire
            return [wire]
        if tx_type == 15:
            index = info["Index"]
            found = [c for c, o in self.orders.items() if index in (c, o["order_index"])]
            return [self.orders.pop(c) | {"status": "canceled"} for c in found]
        if tx_type == 16 and info["TimeInForce"] == 0:
            gone = [o | {"status": "canceled"} for o in self.orders.values()]
            self.orders.clear()
            return gone
        return []

    # --- WS --------------------------------------------------------------------------------

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        self.sockets.append(socket)
        if self.greet:
            await socket.send_json({"type": "connected", "session_id": f"s{self.connections}"})
        if self.close_after_greeting:
            await asyncio.sleep(0.05)  # the client subscribes, then the server hangs up
            await socket.close()
            self.sockets.remove(socket)
            return socket
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            await self._on_client(socket, json.loads(message.data))
        self.sockets.remove(socket)
        return socket

    async def _on_client(self, socket: web.WebSocketResponse, message: dict[str, Any]) -> None:
        self.client_messages.append(message)
        if message.get("type") == "ping":
            await socket.send_json({"type": "pong"})
        elif message.get("type") == "subscribe":
            self.subscribes.append(message)
            channel = message["channel"]
            if channel.startswith("order_book/"):
                await socket.send_json(self.snapshot())
            elif channel.startswith("account_all/"):
                await socket.send_json(account_frame(snapshot=True, positions={}, trades=[]))

    def snapshot(self) -> dict[str, Any]:
        self.book_nonce += 10
        bids = levels(("150.000", "1.000"), ("149.990", "2.000"))
        return book_snapshot(self.book_nonce, bids, levels(("150.010", "1.500")))

    async def book_diff(self, *, skip: bool = False) -> None:
        begin = self.book_nonce + (5 if skip else 0)
        self.book_nonce = begin + 3
        diff = book_update(begin, self.book_nonce, levels(("150.005", "0.300")), [])
        await self.broadcast(diff)

    async def broadcast(self, frame: dict[str, Any]) -> None:
        for socket in list(self.sockets):
            await socket.send_json(frame)

    async def drop_all(self) -> None:
        for socket in list(self.sockets):
            await socket.close()


async def wait_for(predicate: Any, timeout_s: float = 5.0) -> None:
    """Poll `predicate()` until true (bounded)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
