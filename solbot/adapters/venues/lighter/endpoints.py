"""Lighter's public endpoints and chain ids (no imports: the CLI reads them for its help)."""

MAINNET_REST_URL = "https://mainnet.zklighter.elliot.ai"
MAINNET_WS_URL = "wss://mainnet.zklighter.elliot.ai/stream"
MAINNET_CHAIN_ID = 304
TESTNET_CHAIN_ID = 300
