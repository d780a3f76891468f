import time
import uuid

from agora.platform.security.revocation import RevocationList


def test_session_revocation_rejects_its_tokens_only() -> None:
    revocations = RevocationList(token_ttl=900)
    user, session, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    revocations.revoke_session(session)
    assert revocations.rejects(user, session, time.time())
    assert not revocations.rejects(user, other, time.time())
    assert not revocations.rejects(user, None, time.time())


def test_user_revocation_rejects_tokens_issued_before() -> None:
    revocations = RevocationList(token_ttl=900)
    user = uuid.uuid4()
    cutoff = time.time()
    revocations.revoke_user(user, cutoff)
    assert revocations.rejects(user, None, cutoff - 10)
    assert revocations.rejects(user, None, cutoff)
    assert not revocations.rejects(user, None, cutoff + 0.001)
    revocations.revoke_user(user, cutoff - 100)  # an older revocation never loosens a newer one
    assert revocations.rejects(user, None, cutoff - 10)


def test_entries_are_forgotten_when_no_token_can_outlive_them() -> None:
    revocations = RevocationList(token_ttl=0.01)
    user, session = uuid.uuid4(), uuid.uuid4()
    revocations.revoke_session(session)
    revocations.revoke_user(user, time.time())
    time.sleep(0.03)
    revocations.revoke_session(uuid.uuid4())  # pruning happens on writes
    assert not revocations.rejects(user, session, time.time() - 1)
