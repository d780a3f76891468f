"""Access tokens that stop working before they expire: logged-out sessions, changed users.

Access tokens are verified without a database round trip, so revocations are kept in memory,
in every instance, for as long as a revoked token could still be unexpired (the access-token
lifetime). Identity feeds this list: at once in the instance that revokes, through broadcasts
and a periodic database read in the others.
"""

import time
from uuid import UUID


class RevocationList:
    def __init__(self, token_ttl: float) -> None:
        self._ttl = token_ttl
        self._sessions: dict[UUID, float] = {}
        self._users: dict[UUID, float] = {}

    def revoke_session(self, session_id: UUID) -> None:
        """Every access token of this session stops working."""
        self._sessions[session_id] = time.time() + self._ttl
        self._prune()

    def revoke_user(self, user_id: UUID, issued_before: float) -> None:
        """Every access token of this user issued at or before `issued_before` stops working."""
        self._users[user_id] = max(issued_before, self._users.get(user_id, 0.0))
        self._prune()

    def rejects(self, user_id: UUID, session_id: UUID | None, issued_at: float) -> bool:
        if session_id is not None and session_id in self._sessions:
            return True
        cutoff = self._users.get(user_id)
        return cutoff is not None and issued_at <= cutoff

    def _prune(self) -> None:
        now = time.time()
        for session_id in [key for key, until in self._sessions.items() if until < now]:
            del self._sessions[session_id]
        oldest = now - self._ttl
        for user_id in [key for key, cutoff in self._users.items() if cutoff < oldest]:
            del self._users[user_id]
