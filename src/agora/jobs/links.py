"""Signed, expiring links to a job's result file: whoever holds the link may download it until
it expires (like a presigned S3 URL), so a browser or `curl -O` needs no token."""

import base64
import hashlib
import hmac
import uuid


class ResultLinks:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"agora.job-results\x00" + secret).digest()
        self.ttl_seconds = ttl_seconds

    def _mac(self, job_id: uuid.UUID, expires: int) -> str:
        message = f"{job_id}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def query(self, job_id: uuid.UUID, now: float) -> str:
        expires = int(now) + self.ttl_seconds
        return f"expires={expires}&signature={self._mac(job_id, expires)}"

    def valid(self, job_id: uuid.UUID, expires: int, signature: str, now: float) -> bool:
        if expires < now:
            return False
        return hmac.compare_digest(self._mac(job_id, expires), signature)
