"""Security headers on every response (docs/api.md, "Headers"), as a policy the request-context
layer applies in its one pass over the response's headers (not one layer more).

A response that sets its own Content-Security-Policy keeps it (the docs pages need scripts);
everything else gets the strict default. HTTPS answers also get Strict-Transport-Security (the
scheme comes from trusted proxies only). Cache-Control is `agora.platform.http.caching`'s.
"""

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    def __init__(self, *, hsts_max_age: int, csp: str = API_CSP) -> None:
        self.csp = (b"content-security-policy", csp.encode())
        self.hsts = (
            (b"strict-transport-security", f"max-age={hsts_max_age}; includeSubDomains".encode())
            if hsts_max_age
            else None
        )

    def apply(
        self, headers: list[tuple[bytes, bytes]], present: dict[bytes, bytes], *, https: bool
    ) -> None:
        """Add the security headers to a response's headers, in place (`present`: as a dict)."""
        if b"content-security-policy" not in present:
            headers.append(self.csp)
        headers.extend(_ALWAYS)
        if https and self.hsts is not None:
            headers.append(self.hsts)
