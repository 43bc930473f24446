"""Lighter credentials from the environment (never from profiles) and the signer they select."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from solbot.adapters.venues.lighter.settings import DEAD_MAN_SWITCHES
from solbot.adapters.venues.lighter.signer import LighterSdkSigner, Signer, UnsignedTestSigner
from solbot.errors import SolbotError, UsageError

CREDENTIAL_VARIABLES = ("LIGHTER_ACCOUNT_INDEX", "LIGHTER_API_KEY_INDEX", "LIGHTER_API_PRIVATE_KEY")
TEST_SIGNER_VARIABLE = "SOLBOT_TEST_SIGNER"  # "unsigned": loopback fake venues only
# A property of the account, like the credentials: "order_expiry" when other strategies share it
DEAD_MAN_SWITCH_VARIABLE = "SOLBOT_DEAD_MAN_SWITCH"


@dataclass
class Credentials:
    account_index: int
    api_key_index: int
    private_key: str = field(repr=False)

    @classmethod
    def from_environment(cls) -> Credentials:
        missing = [name for name in CREDENTIAL_VARIABLES if not os.environ.get(name)]
        if missing:
            raise UsageError(
                "--live needs credentials in the environment: missing "
                + ", ".join(missing)
                + " (never put them in profiles); without --live solbot runs a dry run"
            )
        try:
            account = int(os.environ["LIGHTER_ACCOUNT_INDEX"])
            key_index = int(os.environ["LIGHTER_API_KEY_INDEX"])
        except ValueError:
            raise UsageError(
                "LIGHTER_ACCOUNT_INDEX and LIGHTER_API_KEY_INDEX must be integers"
            ) from None
        return cls(account, key_index, os.environ["LIGHTER_API_PRIVATE_KEY"])


def chain_id_for(rest_url: str) -> int:
    """The chain id signatures use, from the URL as lighter-sdk does (mainnet 304, testnet 300)."""
    return 300 if "testnet.zklighter" in rest_url else 304


def signer_from_environment(rest_url: str, credentials: Credentials, chain_id: int) -> Signer:
    """lighter-sdk's signer; the unsigned test signer only when asked, and only on loopback."""
    if os.environ.get(TEST_SIGNER_VARIABLE) == "unsigned":
        try:
            return UnsignedTestSigner(
                rest_url, credentials.account_index, credentials.api_key_index
            )
        except ValueError as error:
            raise UsageError(f"{TEST_SIGNER_VARIABLE}=unsigned: {error}") from None
    check_private_key(credentials.private_key)
    try:
        return LighterSdkSigner(
            rest_url,
            credentials.account_index,
            credentials.api_key_index,
            credentials.private_key,
            chain_id,
        )
    except SolbotError:
        raise
    except Exception as error:  # the SDK raises bare Exceptions; its text never holds the key
        raise UsageError(f"lighter-sdk refused the credentials: {error}") from None


PRIVATE_KEY_HEX_DIGITS = 80  # lighter.create_api_key(): 0x + 80 hex digits (40 bytes)


def check_private_key(private_key: str) -> None:
    """Refuse a malformed LIGHTER_API_PRIVATE_KEY before the SDK sees it; never echo the key."""
    digits = private_key.strip().removeprefix("0x").removeprefix("0X")
    if len(digits) != PRIVATE_KEY_HEX_DIGITS or not _is_hex(digits):
        problem = "not hexadecimal" if not _is_hex(digits) else f"{len(digits)} hex digits"
        raise UsageError(
            f"LIGHTER_API_PRIVATE_KEY must be {PRIVATE_KEY_HEX_DIGITS} hexadecimal digits "
            f"(optionally 0x-prefixed), as lighter.create_api_key() makes; found {problem}"
        )


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdefABCDEF" for char in text)


def dead_man_switch_from_environment() -> str:
    """`SOLBOT_DEAD_MAN_SWITCH`: "schedule" (default, account-wide) or "order_expiry"."""
    value = os.environ.get(DEAD_MAN_SWITCH_VARIABLE) or "schedule"
    if value not in DEAD_MAN_SWITCHES:
        raise UsageError(
            f"{DEAD_MAN_SWITCH_VARIABLE}={value!r}: expected one of {', '.join(DEAD_MAN_SWITCHES)}"
        )
    return value
