"""Identifiers: UUIDv7, time-ordered so that new rows land at the end of every index."""

import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    """A new UUIDv7 as a standard-library `uuid.UUID`."""
    return compat.uuid7()
