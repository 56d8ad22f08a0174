"""Micro-benchmarks: one piece of the bot timed alone, in process (matching, loading the FAQ,
start-up, the interaction log, masking)."""
