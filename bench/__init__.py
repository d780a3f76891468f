"""`make bench`: Agora's speed measured against its own stack's limit (see run.py)."""
