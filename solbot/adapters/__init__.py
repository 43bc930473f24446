"""solbot.adapters."""
