"""solbot.adapters.storage."""
