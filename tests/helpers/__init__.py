"""Shared parts of the tests: real servers, sinks, worlds and scenarios (no tests here)."""
