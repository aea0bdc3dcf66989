"""Pure domain rules: standard library and pytimeparse only (a test enforces it)."""
