"""solbot.adapters.venues."""
