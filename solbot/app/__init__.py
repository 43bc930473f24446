"""solbot.app."""
