"""Audit sinks: the adapters that ship the audit trail out of the database (stdout, webhook, S3)."""
