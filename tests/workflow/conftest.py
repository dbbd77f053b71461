"""Fixtures for referral workflow tests."""

from tests.helpers.referral_fixtures import world

__all__ = ["world"]
