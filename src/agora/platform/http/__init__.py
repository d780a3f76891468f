"""Pure ASGI middleware (no BaseHTTPMiddleware: each layer here costs a function call).

`middleware_stack()` in `agora.platform.http.stack` assembles them in order; each module is one
concern. They share one reading of the request's headers and one writer of the response's
(`headers.py`); Cache-Control and 304s are `caching.py`'s. `server.py` is the bounded HTTP
protocol `agora serve` runs.
"""
