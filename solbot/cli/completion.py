"""Shell completion of values: profile names from the config folder solbot would use."""

from __future__ import annotations


def complete_profile(incomplete: str) -> list[str]:
    """Profile names starting with `incomplete` (current directory's profiles/, else shipped)."""
    from solbot.config.loader import ConfigDir
    from solbot.errors import SolbotError

    try:
        names = ConfigDir.find().profile_names()
    except (SolbotError, OSError):  # completion must never print an error into the shell
        return []
    return [name for name in names if name.startswith(incomplete)]
