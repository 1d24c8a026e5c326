"""Adapters: the only modules that import their third-party library (one library each)."""
