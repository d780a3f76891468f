"""Pure ASGI middleware (no BaseHTTPMiddleware: each layer here costs a function call).

`middleware_stack()` in `agora.platform.http.stack` assembles them in order; each module is one
concern. `server.py` is the bounded HTTP protocol `agora serve` runs.
"""
