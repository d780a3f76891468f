"""Pure ASGI middleware (no BaseHTTPMiddleware: each layer here costs a function call).

`stack()` in `agora.platform.http.stack` assembles them in order; each module is one concern.
"""
