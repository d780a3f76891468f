"""Payments: charges and refunds through a `PaymentProvider`, never twice for one request.

The default provider is an in-repo sandbox that behaves like a card processor; calls go through
a timeout, safe retries (the provider de-duplicates by our key) and a circuit breaker.
"""
