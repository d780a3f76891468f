"""Password hashing with argon2id (pwdlib), off the event loop.

A hash costs tens of milliseconds of CPU by design; running it in a worker thread keeps the
event loop serving other requests meanwhile (argon2 releases the GIL).
"""

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class PasswordHasher:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),)
        )
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one used weaker parameters)."""
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)

    async def verify_nothing(self, password: str) -> None:
        """Spend the time a real verification takes, for a login with an unknown email."""
        if self._dummy is None:
            self._dummy = await self.hash("agora: no such user")
        await self.verify(password, self._dummy)
