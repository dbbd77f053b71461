"""Temporal workflows: deterministic orchestration of the domain rules."""
