"""Unique values for tests that share one database (cosmicpython's random_refs)."""

import secrets


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"
