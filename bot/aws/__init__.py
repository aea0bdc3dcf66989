"""aws adapter."""
