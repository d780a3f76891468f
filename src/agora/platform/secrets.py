"""Development secrets: generated once into the data directory, never committed.

Production passes its secrets through the environment (`AGORA_SECRET_KEY`, ...); the settings
refuse to start without them. In development the first process to start creates the file
atomically (written aside, then hard-linked into place), so workers starting at once agree.
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """The secret stored at `path` (hex text, mode 0600), created on first use."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as file:  # mkstemp creates the file with mode 0600
            file.write(secrets.token_bytes(nbytes).hex())
        with contextlib.suppress(FileExistsError):  # another process won: use its value
            os.link(scratch, path)
    finally:
        os.unlink(scratch)
    return bytes.fromhex(path.read_text().strip())
