"""Security headers on every response (docs/api.md, "Headers"), as a policy the request-context
layer applies while it adds the request id (one pass over the headers, not one layer more).

A response that sets its own Content-Security-Policy or Cache-Control keeps it (the docs pages
need scripts; public reads are cacheable); everything else gets the strict defaults. HTTPS
answers also get Strict-Transport-Security (the scheme comes from trusted proxies only).
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

    def apply(self, headers: list[tuple[bytes, bytes]], *, https: bool) -> None:
        """Add the security headers to a response's headers, in place."""
        has_csp = has_cache_control = False
        for name, _ in headers:
            if name == b"content-security-policy":
                has_csp = True
            elif name == b"cache-control":
                has_cache_control = True
        headers.extend(_ALWAYS)
        if not has_csp:
            headers.append(self.csp)
        if not has_cache_control:
            headers.append((b"cache-control", b"no-store"))
        if https and self.hsts is not None:
            headers.append(self.hsts)
