"""solbot.adapters.data."""
