"""Webhooks: endpoints subscribers register, and the signed deliveries of Agora's events to
them. No other context uses it; it knows the others only by their events."""
