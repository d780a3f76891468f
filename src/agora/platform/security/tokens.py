"""Access tokens: ES256 JWTs signed with a configured key, published as a JWKS.

Verification accepts only ES256 and only keys we publish (by `kid`), and requires issuer,
audience, expiry, subject and id; `alg: none` and HS256-signed-with-the-public-key tokens fail
by construction. A verified token is cached until it expires, so each distinct token costs one
signature check; revocation is checked on every use.
"""

import base64
import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agora.platform.errors import Unauthorized
from agora.platform.ids import new_id
from agora.platform.security.revocation import RevocationList
from agora.settings import Settings

ALGORITHM = "ES256"
MAX_TOKEN_LENGTH = 4096
_CACHE_SIZE = 50_000


class InvalidToken(Unauthorized):
    code = "invalid_token"
    default_message = "The access token is invalid or has expired."
    default_headers: ClassVar[Mapping[str, str]] = {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint: the key id."""
    canonical = orjson.dumps(
        {key: jwk[key] for key in ("crv", "kty", "x", "y")}, option=orjson.OPT_SORT_KEYS
    )
    return _b64(hashlib.sha256(canonical).digest())


class SigningKeys:
    """The current signing key and every public key that verifies tokens, by key id."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        previous: list[ec.EllipticCurvePublicKey] = [],  # noqa: B006 - never mutated
    ) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the JWT signing key must be an EC P-256 key (ES256)")
        self.private_key = private_key
        current = _public_jwk(private_key.public_key())
        self.kid = thumbprint(current)
        self._public: dict[str, ec.EllipticCurvePublicKey] = {self.kid: private_key.public_key()}
        self._jwks = [{**current, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]
        for key in previous:
            jwk = _public_jwk(key)
            kid = thumbprint(jwk)
            if kid not in self._public:
                self._public[kid] = key
                self._jwks.append({**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM})

    @classmethod
    def from_settings(cls, settings: Settings) -> "SigningKeys":
        if settings.jwt_private_key is not None:
            pem = settings.jwt_private_key.get_secret_value().encode()
        else:
            pem = _development_key(settings.data_dir / "jwt-es256.pem")
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise ValueError("AGORA_JWT_PRIVATE_KEY must be an EC P-256 private key (PEM)")
        previous = []
        for text in settings.jwt_previous_public_keys:
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("AGORA_JWT_PREVIOUS_PUBLIC_KEYS must hold EC public keys")
            previous.append(key)
        return cls(private_key, previous)

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        return self._public.get(kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": list(self._jwks)}


def _development_key(path: Path) -> bytes:
    """A signing key generated once into the data directory (development and tests only)."""
    from agora.platform.secrets import load_or_create_secret

    secret = load_or_create_secret(path.with_suffix(".seed"), nbytes=32)
    # Derive the key from a stored random seed so that every worker process agrees on it.
    value = int.from_bytes(hashlib.sha256(b"agora.jwt\x00" + secret).digest(), "big")
    order = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
    key = ec.derive_private_key(value % (order - 1) + 1, ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: UUID
    roles: frozenset[str]
    session_id: UUID | None
    issued_at: float
    expires_at: float
    token_id: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    claims: AccessClaims


class AccessTokens:
    def __init__(
        self,
        keys: SigningKeys,
        revocations: RevocationList,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl_seconds
        self._cache: OrderedDict[str, AccessClaims] = OrderedDict()

    def issue(self, subject: UUID, roles: frozenset[str], session_id: UUID | None) -> IssuedToken:
        # Full precision: a token issued after a revocation must compare as later than it.
        now = time.time()
        claims = AccessClaims(
            subject=subject,
            roles=roles,
            session_id=session_id,
            issued_at=now,
            expires_at=int(now) + self.ttl,
            token_id=new_id().hex,
        )
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(subject),
            "roles": sorted(roles),
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.token_id,
        }
        if session_id is not None:
            payload["sid"] = str(session_id)
        token = jwt.encode(
            payload, self.keys.private_key, algorithm=ALGORITHM, headers={"kid": self.keys.kid}
        )
        return IssuedToken(token=token, expires_in=self.ttl, claims=claims)

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired, unrevoked token; `InvalidToken` otherwise."""
        claims = self._cache.get(token)
        if claims is None:
            claims = self._decode(token)
            self._cache[token] = claims
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        elif claims.expires_at <= time.time():
            self._cache.pop(token, None)
            raise InvalidToken("The access token has expired.")
        if self.revocations.rejects(claims.subject, claims.session_id, claims.issued_at):
            raise InvalidToken("The access token has been revoked.")
        return claims

    def _decode(self, token: str) -> AccessClaims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("The access token is too long.")
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            key = self.keys.public_key(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidToken("The access token was not signed by a key Agora publishes.")
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
            sid = payload.get("sid")
            roles = payload.get("roles", [])
            if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
                raise InvalidToken()
            return AccessClaims(
                subject=UUID(payload["sub"]),
                roles=frozenset(roles),
                session_id=UUID(sid) if sid is not None else None,
                issued_at=float(payload["iat"]),
                expires_at=float(payload["exp"]),
                token_id=str(payload["jti"]),
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The access token has expired.") from None
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError):
            raise InvalidToken() from None
