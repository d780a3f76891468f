"""The event log: what happened, read from the outbox that every context writes to.

Contexts record events with `agora.platform.events.record` in their own transactions; this
context serves them at `GET /events`. Nothing here is imported by other contexts.
"""
