"""Use-cases: each owns its transaction boundary and writes audit events."""
