"""Lighter credentials from the environment (never from profiles) and the signer they select."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from solbot.adapters.venues.lighter.settings import DEAD_MAN_SWITCHES
from solbot.adapters.venues.lighter.signer import LighterSdkSigner, Signer, UnsignedTestSigner
from solbot.errors import UsageError

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
    return LighterSdkSigner(
        rest_url,
        credentials.account_index,
        credentials.api_key_index,
        credentials.private_key,
        chain_id,
    )


def dead_man_switch_from_environment() -> str:
    """`SOLBOT_DEAD_MAN_SWITCH`: "schedule" (default, account-wide) or "order_expiry"."""
    value = os.environ.get(DEAD_MAN_SWITCH_VARIABLE) or "schedule"
    if value not in DEAD_MAN_SWITCHES:
        raise UsageError(
            f"{DEAD_MAN_SWITCH_VARIABLE}={value!r}: expected one of {', '.join(DEAD_MAN_SWITCHES)}"
        )
    return value
