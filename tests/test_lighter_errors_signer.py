"""Error mapping, client order ids, the unsigned test signer and (if installed) lighter-sdk."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest

from solbot.adapters.venues.lighter.errors import (
    LighterError,
    MarginError,
    NonceError,
    QuantizationError,
    RateLimited,
    SignatureError,
    error_for,
    error_from_body,
)
from solbot.adapters.venues.lighter.numbers import format_scaled, ms_or_s_to_ns, parse_scaled
from solbot.adapters.venues.lighter.signer import (
    MAX_CLIENT_ORDER_INDEX,
    TIF_IMMEDIATE_OR_CANCEL,
    TIF_POST_ONLY,
    ClientOrderIds,
    CreateOrderRequest,
    SigningError,
    UnsignedTestSigner,
    is_loopback_url,
)
from solbot.errors import VenueError


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (21104, 400, NonceError),
        (21701, 400, QuantizationError),
        (21702, 400, QuantizationError),
        (21706, 400, QuantizationError),
        (23000, 400, RateLimited),
        (None, 429, RateLimited),
        (21739, 400, MarginError),
        (21120, 400, SignatureError),
        (21733, 400, LighterError),
    ],
)
def test_error_codes_map_to_typed_errors(code: int | None, status: int, kind: type) -> None:
    error = error_for(code, "x", status)
    assert type(error) is kind and isinstance(error, VenueError)
    assert error.http_status == status


def test_error_from_body_success_and_failure() -> None:
    assert error_from_body({"code": 200, "tx_hash": "ab"}, 200) is None
    failure = error_from_body({"code": 21104, "message": "invalid nonce"}, 400)
    assert isinstance(failure, NonceError) and failure.code == 21104
    assert isinstance(error_from_body({"code": 21706, "message": "m"}, 200), QuantizationError)
    assert isinstance(error_from_body("busy", 503), LighterError)


def test_scaled_numbers_round_trip_exactly() -> None:
    assert parse_scaled("150.120", 3) == 150_120 and parse_scaled("0.05", 3) == 50
    assert parse_scaled("10.000000", 3) == 10_000  # extra zero places are fine
    assert format_scaled(150_120, 3) == "150.120" and format_scaled(5, 3) == "0.005"
    with pytest.raises(ValueError):
        parse_scaled("0.0501", 3)
    assert ms_or_s_to_ns(1_760_000_000) == ms_or_s_to_ns(1_760_000_000_000)


def test_client_order_ids_are_deterministic_increasing_and_in_range() -> None:
    now_ns = 1_760_000_000_123_456_789
    first, second = ClientOrderIds(), ClientOrderIds()
    ids = [first.next(now_ns) for _ in range(300)] + [first.next(now_ns + 1_000_000)]
    assert ids == [second.next(now_ns) for _ in range(300)] + [second.next(now_ns + 1_000_000)]
    assert all(b > a for a, b in itertools.pairwise(ids))
    assert all(1 <= i <= MAX_CLIENT_ORDER_INDEX for i in ids)
    assert ids[0] == (1_760_000_000_123 % 2**40) << 8


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:8080", True),
        ("ws://127.0.0.5:1/stream", True),
        ("http://localhost:1", True),
        ("http://[::1]:80", True),
        ("https://mainnet.zklighter.elliot.ai", False),
        ("http://10.0.0.1:80", False),
    ],
)
def test_unsigned_signer_only_for_loopback(url: str, ok: bool) -> None:
    assert is_loopback_url(url) is ok
    if ok:
        UnsignedTestSigner(url, 1, 4)
    else:
        with pytest.raises(ValueError):
            UnsignedTestSigner(url, 1, 4)


def test_unsigned_signer_writes_the_real_field_names() -> None:
    signer = UnsignedTestSigner("http://127.0.0.1:1", 411813, 4, now_ms=lambda: 1_000)
    order = CreateOrderRequest(2, 17, 70, 150_000, True, TIF_POST_ONLY)
    tx_type, info = signer.sign_create_order(order, nonce=9)
    body = json.loads(info)
    assert tx_type == 14
    assert list(body) == [
        "AccountIndex", "ApiKeyIndex", "MarketIndex", "ClientOrderIndex", "BaseAmount", "Price",
        "IsAsk", "Type", "TimeInForce", "ReduceOnly", "TriggerPrice", "OrderExpiry", "ExpiredAt",
        "Nonce", "Sig", "L2TxAttributes",
    ]  # fmt: skip
    assert body["OrderExpiry"] == 1_000 + 28 * 24 * 3600 * 1000 and body["Sig"] == "unsigned"
    assert json.loads(signer.sign_cancel(2, 17, 10).tx_info)["Index"] == 17
    cancel_all = json.loads(signer.sign_cancel_all(1, 5_000, 11).tx_info)
    assert (cancel_all["TimeInForce"], cancel_all["Time"]) == (1, 5_000)
    assert json.loads(signer.sign_modify(2, 17, 80, 150_100, 12).tx_info)["Price"] == 150_100
    assert signer.create_auth_token(600).startswith("601:411813:4:")


@pytest.mark.parametrize(
    "order",
    [
        CreateOrderRequest(2, 0, 70, 150_000, True, TIF_POST_ONLY),
        CreateOrderRequest(2, 1, 70, 0, True, TIF_POST_ONLY),
        CreateOrderRequest(2, 1, 70, 150_000, True, TIF_POST_ONLY, order_expiry=0),
        CreateOrderRequest(2, 1, 70, 150_000, True, TIF_IMMEDIATE_OR_CANCEL),
    ],
)
def test_invalid_orders_are_refused_before_signing(order: CreateOrderRequest) -> None:
    with pytest.raises(SigningError):
        UnsignedTestSigner("http://127.0.0.1:1", 1, 4).sign_create_order(order, 0)


async def test_lighter_sdk_signs_offline() -> None:
    lighter = pytest.importorskip("lighter")
    from solbot.adapters.venues.lighter.signer import LighterSdkSigner

    private, public, error = lighter.create_api_key()
    assert error is None and private.startswith("0x") and public.startswith("0x")
    # Must be built inside a running loop; nothing listens on port 9, and nothing is contacted.
    signer = LighterSdkSigner("http://127.0.0.1:9", 411813, 4, private, chain_id=304)
    try:
        order = CreateOrderRequest(2, 17, 70, 150_000, False, TIF_POST_ONLY)
        tx_type, info = signer.sign_create_order(order, nonce=5)
        body = json.loads(info)
        assert tx_type == 14 and body["Nonce"] == 5 and body["ClientOrderIndex"] == 17
        assert body["IsAsk"] == 0 and body["AccountIndex"] == 411813 and len(body["Sig"]) > 40
        unsigned = json.loads(
            UnsignedTestSigner("http://127.0.0.1:9", 411813, 4).sign_create_order(order, 5).tx_info
        )
        assert set(unsigned) == set(body)  # the test signer writes the same fields
        assert signer.sign_cancel(2, 17, 6).tx_type == 15
        assert signer.sign_cancel_all(0, 0, 7).tx_type == 16
        scoped = json.loads(signer.sign_cancel_all(0, 0, 7, 2).tx_info)  # SOL only
        test_scoped = UnsignedTestSigner("http://127.0.0.1:9", 411813, 4).sign_cancel_all(
            0, 0, 7, 2
        )
        assert scoped["L2TxAttributes"] == json.loads(test_scoped.tx_info)["L2TxAttributes"]
        with pytest.raises(SigningError):  # the venue schedules cancel-alls account-wide only
            signer.sign_cancel_all(1, int(time.time() * 1000) + 600_000, 7, 2)
        assert signer.sign_modify(2, 17, 80, 150_100, 8).tx_type == 17
        token = signer.create_auth_token(600)
        expiry, account, key, _signature = token.split(":")
        assert (account, key) == ("411813", "4") and int(expiry) > time.time()
        with pytest.raises(SigningError):  # the native signer validates too
            signer._unpack(
                signer._client.sign_create_order(
                    2, 1, 70, 150_000, False, 0, 2, False, 0, 0, nonce=1, api_key_index=4
                )
            )
        # check_client does blocking HTTP: it must run in a thread; here it fails fast.
        assert await asyncio.to_thread(signer.check_client) is not None
        with pytest.raises(SignatureError):
            await signer.verify()
    finally:
        await signer.close()


async def test_lighter_sdk_check_client_against_loopback_venue() -> None:
    lighter = pytest.importorskip("lighter")
    from lighter_mini_venue import MiniLighter

    from solbot.adapters.venues.lighter.signer import LighterSdkSigner

    private, public, _ = lighter.create_api_key()
    async with MiniLighter() as mini:
        signer = LighterSdkSigner(mini.url, 411813, 4, private, chain_id=304)
        try:
            mini.public_key = lighter.create_api_key()[1][2:]  # someone else's key
            with pytest.raises(SignatureError):
                await signer.verify()
            mini.public_key = public[2:]
            await signer.verify()  # in a thread: the fake on this loop keeps answering
        finally:
            await signer.close()
