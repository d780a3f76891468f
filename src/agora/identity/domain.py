"""Identity rules that need no I/O: email normalization, password policy."""

import gzip
from functools import cache
from pathlib import Path

from agora.identity.errors import WeakPassword

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128  # argon2 hashes any length; a bound keeps the cost of a request bounded


def normalize_email(email: str) -> str:
    return email.strip().lower()


@cache
def common_passwords() -> frozenset[str]:
    """20,000 common passwords (Royce Williams' list, as shipped by Django), lower-cased."""
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_password(password: str, *, email: str, name: str = "") -> None:
    """Raise `WeakPassword` for a password that is common or made of the user's own details."""
    lowered = password.lower()
    if lowered in common_passwords():
        raise WeakPassword(
            "This password is too common; choose one that is not on lists of leaked passwords.",
            code="password_too_common",
        )
    local_part = email.split("@", 1)[0].lower()
    if lowered in {email.lower(), local_part, name.lower()} or (
        len(local_part) >= 4 and local_part in lowered and len(lowered) - len(local_part) < 4
    ):
        raise WeakPassword(
            "The password must not be based on your email or name.", code="password_like_email"
        )
