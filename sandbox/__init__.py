"""sandbox adapter."""
