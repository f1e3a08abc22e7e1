"""Tiny example definitions used by the tests; each module's docstring says why it exists."""
